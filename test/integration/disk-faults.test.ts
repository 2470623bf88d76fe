import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, svw, svwJson } from '../helpers/cli.js';

/**
 * The workbench home on a small tmpfs: full while importing, full while training, and read-only.
 * Each gives one clear line, and the database stays intact. Mounting needs root (CI runs as
 * root); elsewhere these tests are skipped.
 */
const mountPoint = path.join(os.tmpdir(), `svw-disk-${process.pid}`);
const home = path.join(mountPoint, 'home');
const env = { SVW_HOME: home };
const demo = path.join(ROOT, 'demo/cifar10-demo');

function mount(sizeMb: number): boolean {
  mkdirSync(mountPoint, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mountPoint], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}
const canMount =
  process.getuid?.() === 0 && mount(1) && (execFileSync('umount', [mountPoint]), true);

function integrity(): string {
  const db = new Database(path.join(home, 'workbench.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

afterEach(() => {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  } catch {
    /* not mounted */
  }
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!canMount)('a full or read-only workbench home', () => {
  it('says the disk is full during an import and keeps nothing of it', () => {
    mount(3);
    const result = svw(['dataset', 'import', demo, '--name', 'demo'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^svw: error: the disk is full/m);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(svwJson<unknown[]>(['dataset', 'list', '--json'], env)).toEqual([]);
    expect(integrity()).toBe('ok');
  });

  it('fails a run that fills the disk with the reason, and the store stays usable', () => {
    // Room for the small dataset and the database, not for a checkpoint (~18 MB with momentum).
    mount(8);
    svwJson(['dataset', 'import', demo, '--name', 'demo', '--max-per-class', '20', '--json'], env);
    const train = svw(
      [
        'train',
        '--dataset',
        'demo',
        '--preset',
        'alexnet-cifar',
        '--epochs',
        '1',
        '--set',
        'batch=64',
        '--backend',
        'wasm',
        '--json',
      ],
      env,
    );
    expect(train.code).not.toBe(0);
    const [run] = svwJson<{ id: number; status: string }[]>(['runs', 'list', '--json'], env);
    expect(run?.status).toBe('failed');
    const shown = svwJson<{ error: string }>(['runs', 'show', String(run!.id), '--json'], env);
    expect(shown.error).toMatch(/disk is full/);
    expect(integrity()).toBe('ok');
    // Once the failed run's partial checkpoint is gone, the store takes writes again.
    expect(svw(['runs', 'tag', String(run!.id), 'disk=full'], env).code).toBe(0);
  });

  it('names a read-only home instead of failing to open the database', () => {
    mount(40);
    svwJson(['dataset', 'import', demo, '--name', 'demo', '--max-per-class', '5', '--json'], env);
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    const list = svw(['dataset', 'list'], env);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^svw: error: the workbench folder is read-only/m);
    expect(list.stderr).toMatch(/hint: point SVW_HOME at a writable folder/);
    execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
    expect(svwJson<{ name: string }[]>(['dataset', 'list', '--json'], env)).toMatchObject([
      { name: 'demo' },
    ]);
    expect(integrity()).toBe('ok');
  });
});
