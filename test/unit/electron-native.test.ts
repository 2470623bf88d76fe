import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ELECTRON_SQLITE_BINDING,
  NODE_SQLITE_BINDING,
  electronRuntime,
  installPlan,
  moduleAbi,
  sqliteForElectron,
} from '../../bin/electron-native.js';

const electron = { version: '40.8.5', abi: 143 };
const symbol = (abi: number) => new TextEncoder().encode(`\0\0node_register_module_v${abi}\0`);

describe('the ABI of a native module', () => {
  it("reads Node's build of better-sqlite3 here as this Node's ABI", () => {
    expect(moduleAbi(readFileSync(NODE_SQLITE_BINDING))).toBe(Number(process.versions.modules));
  });

  it('is null for a Node-API module or no file', () => {
    expect(moduleAbi(new TextEncoder().encode('napi_register_module_v1'))).toBeNull();
    expect(moduleAbi(null)).toBeNull();
    expect(moduleAbi(symbol(143))).toBe(143);
  });

  it("reads Electron's version and ABI from its package, null without one", () => {
    const files: Record<string, string> = {
      'node_modules/electron/package.json': '{"version":"40.8.5"}',
      'node_modules/electron/abi_version': '143\n',
    };
    const read = (p: string) => Object.entries(files).find(([k]) => p.endsWith(k))?.[1] ?? null;
    expect(electronRuntime(read)).toEqual(electron);
    expect(electronRuntime(() => null)).toBeNull();
  });
});

describe('npm start with Electron installed', () => {
  it("stops with one line naming the fix when only Node's build exists", () => {
    const choice = sqliteForElectron({
      electron,
      electronBuild: null,
      electronBuildExists: false,
      nodeBuild: 115,
    });
    expect(choice.ok).toBe(false);
    const { message } = choice as { message: string };
    expect(message).toBe(
      'better-sqlite3 cannot load in Electron 40.8.5 (ABI 143): it is built only for Node (ABI 115); run `npm run rebuild:electron` once, then `npm start` again.',
    );
    expect(message).not.toContain('\n');
  });

  it('names a stale Electron copy (Electron was upgraded)', () => {
    const choice = sqliteForElectron({
      electron,
      electronBuild: 140,
      electronBuildExists: true,
      nodeBuild: 115,
    });
    expect(choice).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Electron copy is built for ABI 140/),
    });
  });

  it('loads the Electron copy when it matches, or the default build when that one does', () => {
    expect(
      sqliteForElectron({
        electron,
        electronBuild: 143,
        electronBuildExists: true,
        nodeBuild: 115,
      }),
    ).toEqual({ ok: true, binding: ELECTRON_SQLITE_BINDING });
    expect(
      sqliteForElectron({
        electron,
        electronBuild: null,
        electronBuildExists: false,
        nodeBuild: 143,
      }),
    ).toEqual({ ok: true, binding: null });
  });
});

describe('the install step', () => {
  const found = { binary: '/x/electron', electron, electronBuild: null, force: false };

  it('does nothing where the Electron binary is missing', () => {
    expect(installPlan({ ...found, binary: null })).toMatchObject({ action: 'skip' });
    expect(installPlan({ ...found, electron: null })).toMatchObject({ action: 'skip' });
  });

  it('builds for Electron where it is installed, unless the copy is current (or forced)', () => {
    expect(installPlan(found)).toEqual({ action: 'build', version: '40.8.5' });
    expect(installPlan({ ...found, electronBuild: 140 })).toEqual({
      action: 'build',
      version: '40.8.5',
    });
    expect(installPlan({ ...found, electronBuild: 143 })).toMatchObject({ action: 'skip' });
    expect(installPlan({ ...found, electronBuild: 143, force: true })).toMatchObject({
      action: 'build',
    });
  });
});
