// Native modules for Electron in development (`npm start`). better-sqlite3 is the one native
// module built against a runtime's own ABI (sharp, tfjs-node and webgpu use Node-API, which
// every runtime shares), so Node's build in node_modules cannot load in Electron. The install
// step builds a second copy for Electron beside it, leaving Node's (the CLI's, the tests') alone,
// and the app loads that copy. Plain JavaScript: it runs at install time, before any build.
import { Buffer } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the install step puts better-sqlite3 built for Electron. */
export const ELECTRON_SQLITE_BINDING = path.join(
  ROOT,
  'node_modules/.svw-electron/better_sqlite3.node',
);
/** Node's own build, which the CLI and the tests load. */
export const NODE_SQLITE_BINDING = path.join(
  ROOT,
  'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
);

/** The command that builds the Electron copy again, for messages. */
export const REBUILD_COMMAND = 'npm run rebuild:electron';

/**
 * The ABI (NODE_MODULE_VERSION) a native module was built for, read from the registration
 * symbol it exports (`node_register_module_v143`); null for a Node-API module or no file.
 * @param {Uint8Array | null} binary
 * @returns {number | null}
 */
export function moduleAbi(binary) {
  if (!binary) return null;
  const m = /node_register_module_v(\d+)/.exec(Buffer.from(binary).toString('latin1'));
  return m ? Number(m[1]) : null;
}

/**
 * Electron's version and ABI, from the installed electron package; null when it is missing.
 * @param {(p: string) => string | null} read a file's text, or null when it is absent
 */
export function electronRuntime(read = readText) {
  const pkg = read(path.join(ROOT, 'node_modules/electron/package.json'));
  const abi = read(path.join(ROOT, 'node_modules/electron/abi_version'));
  if (!pkg) return null;
  return {
    version: /** @type {{ version: string }} */ (JSON.parse(pkg)).version,
    abi: abi && /^\d+$/.test(abi.trim()) ? Number(abi.trim()) : null,
  };
}

/**
 * Whether Electron can open the database, and with which build of better-sqlite3.
 * @param {{ electron: { version: string, abi: number | null }, electronBuild: number | null,
 *   electronBuildExists: boolean, nodeBuild: number | null }} found the ABIs of the builds
 *   (null: Node-API or unreadable)
 * @returns {{ ok: true, binding: string | null } | { ok: false, message: string }}
 */
export function sqliteForElectron(found) {
  const { electron, electronBuild, electronBuildExists, nodeBuild } = found;
  // Without abi_version (older electron packages) nothing can be compared: try the default build.
  if (electron.abi === null) return { ok: true, binding: null };
  if (electronBuildExists && electronBuild === electron.abi)
    return { ok: true, binding: ELECTRON_SQLITE_BINDING };
  if (nodeBuild === null || nodeBuild === electron.abi) return { ok: true, binding: null };
  const built = electronBuildExists
    ? `its Electron copy is built for ABI ${electronBuild ?? '?'}`
    : `it is built only for Node (ABI ${nodeBuild})`;
  return {
    ok: false,
    message: `better-sqlite3 cannot load in Electron ${electron.version} (ABI ${electron.abi}): ${built}; run \`${REBUILD_COMMAND}\` once, then \`npm start\` again.`,
  };
}

/** @param {string} p */
function readText(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** @param {string} p */
function readBinary(p) {
  return existsSync(p) ? readFileSync(p) : null;
}

/** {@link sqliteForElectron} on the files of this checkout. */
export function checkSqliteForElectron() {
  const electron = electronRuntime();
  if (!electron) return { ok: true, binding: null };
  return sqliteForElectron({
    electron,
    electronBuild: moduleAbi(readBinary(ELECTRON_SQLITE_BINDING)),
    electronBuildExists: existsSync(ELECTRON_SQLITE_BINDING),
    nodeBuild: moduleAbi(readBinary(NODE_SQLITE_BINDING)),
  });
}

/**
 * What the install step does: nothing without the Electron binary (serve mode needs no
 * rebuild), nothing when the Electron copy is current, otherwise build it.
 * @param {{ binary: string | null, electron: { version: string, abi: number | null } | null,
 *   electronBuild: number | null, force: boolean }} found
 * @returns {{ action: 'skip', reason: string } | { action: 'build', version: string }}
 */
export function installPlan(found) {
  if (!found.binary || !found.electron)
    return { action: 'skip', reason: 'Electron is not installed; serve mode needs no rebuild' };
  if (!found.force && found.electron.abi !== null && found.electronBuild === found.electron.abi)
    return {
      action: 'skip',
      reason: `better-sqlite3 is already built for Electron ${found.electron.version}`,
    };
  return { action: 'build', version: found.electron.version };
}
