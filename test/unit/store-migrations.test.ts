import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { latestVersion, loadMigrations, migrate, openDatabase } from '../../core/store/db.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const tables = (db: Database.Database) =>
  (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
      name: string;
    }[]
  ).map((t) => t.name);

describe('migrations', () => {
  const all = loadMigrations();
  const latest = latestVersion(all);

  it('creates a fresh database at the newest version, in WAL mode', () => {
    const file = path.join(tmp.dir, 'fresh.db');
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(tables(db)).toEqual(
      expect.arrayContaining(['datasets', 'runs', 'metrics', 'latest_metrics', 'evaluations']),
    );
    db.close();
  });

  it('upgrades an older database in place, keeping its rows', () => {
    const file = path.join(tmp.dir, 'old.db');
    const old = new Database(file);
    migrate(old, all.slice(0, 1));
    old
      .prepare(
        `INSERT INTO datasets (name, source_path, layout, image_size, class_count, train_count, val_count,
          skipped_count, seed, fingerprint, created_at) VALUES ('kept', '/x', 'imagefolder', 32, 2, 10, 2, 0, 0, 'f', 'now')`,
      )
      .run();
    expect(old.pragma('user_version', { simple: true })).toBe(1);
    expect(tables(old)).not.toContain('runs');
    old.close();
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(tables(db)).toContain('runs');
    expect(db.prepare('SELECT name FROM datasets').all()).toEqual([{ name: 'kept' }]);
    db.close();
  });

  it('refuses a database newer than the code, and leaves it untouched', () => {
    const file = path.join(tmp.dir, 'future.db');
    const future = new Database(file);
    future.pragma(`user_version = ${latest + 5}`);
    future.close();
    expect(() => openDatabase(file)).toThrow(
      /newer than this version of the workbench understands/,
    );
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(latest + 5);
    check.close();
  });

  it('rolls back a failing migration and stays at the last good version', () => {
    const file = path.join(tmp.dir, 'broken.db');
    const broken = [
      ...all,
      {
        version: latest + 1,
        name: 'broken.sql',
        sql: 'CREATE TABLE ok_then (x); SELECT * FROM missing_table;',
      },
    ];
    const db = new Database(file);
    expect(() => migrate(db, broken)).toThrow(/missing_table/);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(tables(db)).not.toContain('ok_then');
    db.close();
  });

  it('runs a migration numbered below one already applied, once, when it lands later', () => {
    const file = path.join(tmp.dir, 'gap.db');
    const table = (n: number) => ({ version: n, name: `${n}.sql`, sql: `CREATE TABLE t${n} (x);` });
    const early = new Database(file);
    migrate(early, [table(1), table(3)]);
    expect(early.pragma('user_version', { simple: true })).toBe(3);
    early.close();
    const db = new Database(file);
    migrate(db, [table(1), table(2), table(3)]);
    migrate(db, [table(1), table(2), table(3)]);
    expect(tables(db)).toEqual(expect.arrayContaining(['t1', 't2', 't3']));
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.close();
  });

  it('takes a database from before applied versions were recorded as having 1…user_version', () => {
    const file = path.join(tmp.dir, 'legacy.db');
    const legacy = new Database(file);
    legacy.exec('CREATE TABLE t1 (x); CREATE TABLE t2 (x);');
    legacy.pragma('user_version = 2');
    legacy.close();
    const db = new Database(file);
    const table = (n: number) => ({ version: n, name: `${n}.sql`, sql: `CREATE TABLE t${n} (x);` });
    migrate(db, [table(1), table(2), table(4)]);
    expect(tables(db)).toEqual(expect.arrayContaining(['t1', 't2', 't4']));
    expect(db.pragma('user_version', { simple: true })).toBe(4);
    db.close();
  });

  it('rebuilds the runs table for the pruned status and sweeps, keeping every run and what points at it', () => {
    const file = path.join(tmp.dir, 'before-sweeps.db');
    const old = new Database(file);
    old.pragma('foreign_keys = ON');
    migrate(
      old,
      all.slice(
        0,
        all.findIndex((m) => m.name.endsWith('_sweeps.sql')),
      ),
    );
    old.exec(`INSERT INTO experiments (name, created_at) VALUES ('e', 'now');
      INSERT INTO runs (experiment_id, name, preset, status, created_at, seed, config_hash, config,
        epochs_total, epochs_done, host_id, gpu, node, error)
      VALUES (1, 'kept', 'alexnet-cifar', 'interrupted', 'now', 3, 'h', '{}', 9, 4, 'lease', 1, 'n1', 'host died');
      INSERT INTO params (run_id, key, value, num) VALUES (1, 'optim.lr', '0.01', 0.01);
      INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES (1, 'train_loss', 1, 0.5, 2.3, 1);
      INSERT INTO tags (run_id, key, value) VALUES (1, 'k', 'v');`);
    expect(() => old.prepare(`UPDATE runs SET status = 'pruned' WHERE id = 1`).run()).toThrow(
      /CHECK constraint/,
    );
    old.close();

    const db = openDatabase(file);
    expect(
      db
        .prepare(
          'SELECT id, name, status, seed, epochs_done AS done, host_id AS host, gpu, node, error, sweep_id AS sweep FROM runs',
        )
        .all(),
    ).toEqual([
      {
        id: 1,
        name: 'kept',
        status: 'interrupted',
        seed: 3,
        done: 4,
        host: 'lease',
        gpu: 1,
        node: 'n1',
        error: 'host died',
        sweep: null,
      },
    ]);
    db.prepare(`UPDATE runs SET status = 'pruned' WHERE id = 1`).run();
    expect(() => db.prepare(`UPDATE runs SET status = 'paused' WHERE id = 1`).run()).toThrow(
      /CHECK constraint/,
    );
    // The rows that point at the run survived the rebuild, and still cascade with it.
    expect(db.prepare('SELECT COUNT(*) FROM metrics').pluck().get()).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.prepare('DELETE FROM runs WHERE id = 1').run();
    for (const table of ['params', 'metrics', 'tags'])
      expect(db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get()).toBe(0);
    db.close();
  });
});
