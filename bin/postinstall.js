#!/usr/bin/env node
// After `npm install` (and `npm run rebuild:electron`, with --force): where the Electron binary
// is installed, build better-sqlite3 for Electron into node_modules/.svw-electron/, fetching
// the prebuilt binary for Electron's ABI, so that `npm start` can open the database. Node's
// own build stays in place for the CLI. Never fails the install: it says what to do instead.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  ELECTRON_SQLITE_BINDING,
  REBUILD_COMMAND,
  ROOT,
  electronRuntime,
  installPlan,
  moduleAbi,
} from './electron-native.js';

function electronBinary() {
  try {
    const binary = createRequire(path.join(ROOT, 'package.json'))('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const electron = electronRuntime();
const plan = installPlan({
  binary: electronBinary(),
  electron,
  electronBuild: existsSync(ELECTRON_SQLITE_BINDING)
    ? moduleAbi(readFileSync(ELECTRON_SQLITE_BINDING))
    : null,
  force: process.argv.includes('--force'),
});
if (plan.action === 'skip') {
  if (process.argv.includes('--force')) console.log(`svw: ${plan.reason}`);
  process.exit(0);
}

// Built in a copy of the package, so Node's build in node_modules is never touched.
const work = mkdtempSync(path.join(os.tmpdir(), 'svw-electron-sqlite-'));
try {
  const pkg = path.join(work, 'better-sqlite3');
  cpSync(path.join(ROOT, 'node_modules/better-sqlite3'), pkg, {
    recursive: true,
    filter: (src) =>
      !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`),
  });
  const target = ['--runtime', 'electron', '--target', plan.version, '--arch', process.arch];
  const prebuilt = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/prebuild-install/bin.js'), ...target],
    { cwd: pkg, stdio: 'inherit' },
  );
  const built = path.join(pkg, 'build/Release/better_sqlite3.node');
  if (prebuilt.status !== 0 || !existsSync(built)) {
    // No prebuilt binary (offline, or a new Electron): compile against Electron's headers.
    const gyp = process.env.npm_config_node_gyp;
    if (gyp)
      spawnSync(
        process.execPath,
        [
          gyp,
          'rebuild',
          '--release',
          `--target=${plan.version}`,
          '--dist-url=https://electronjs.org/headers',
        ],
        { cwd: pkg, stdio: 'inherit' },
      );
  }
  if (!existsSync(built)) throw new Error('neither a prebuilt binary nor a compile gave one');
  mkdirSync(path.dirname(ELECTRON_SQLITE_BINDING), { recursive: true });
  copyFileSync(built, ELECTRON_SQLITE_BINDING);
  console.log(
    `svw: built better-sqlite3 for Electron ${plan.version} (ABI ${electron?.abi ?? '?'})`,
  );
} catch (err) {
  console.warn(
    `svw: could not build better-sqlite3 for Electron ${plan.version} (${err instanceof Error ? err.message : err}); the desktop app needs it: run \`${REBUILD_COMMAND}\` when online. The CLI and serve mode are unaffected.`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
