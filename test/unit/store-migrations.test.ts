import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { loadMigrations, migrate, openDatabase } from '../../core/store/db.js';
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
  const newest = all.at(-1)!.version;

  it('creates a fresh database at the newest version, in WAL mode', () => {
    const file = path.join(tmp.dir, 'fresh.db');
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(newest);
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
    expect(db.pragma('user_version', { simple: true })).toBe(newest);
    expect(tables(db)).toContain('runs');
    expect(db.prepare('SELECT name FROM datasets').all()).toEqual([{ name: 'kept' }]);
    db.close();
  });

  it('refuses a database newer than the code, and leaves it untouched', () => {
    const file = path.join(tmp.dir, 'future.db');
    const future = new Database(file);
    future.pragma(`user_version = ${newest + 5}`);
    future.close();
    expect(() => openDatabase(file)).toThrow(
      /newer than this version of the workbench understands/,
    );
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(newest + 5);
    check.close();
  });

  it('rolls back a failing migration and stays at the last good version', () => {
    const file = path.join(tmp.dir, 'broken.db');
    const broken = [
      ...all,
      {
        version: newest + 1,
        name: 'broken.sql',
        sql: 'CREATE TABLE ok_then (x); SELECT * FROM missing_table;',
      },
    ];
    const db = new Database(file);
    expect(() => migrate(db, broken)).toThrow(/missing_table/);
    expect(db.pragma('user_version', { simple: true })).toBe(newest);
    expect(tables(db)).not.toContain('ok_then');
    db.close();
  });

  it('applies a migration whose number lands after a higher one, once', () => {
    const file = path.join(tmp.dir, 'gap.db');
    const gap = [
      { version: 1, name: '0001_a.sql', sql: 'CREATE TABLE a (x);' },
      { version: 3, name: '0003_c.sql', sql: 'CREATE TABLE c (x);' },
    ];
    const db = new Database(file);
    expect(migrate(db, gap)).toBe(3);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    const filled = [
      gap[0]!,
      { version: 2, name: '0002_b.sql', sql: 'CREATE TABLE b (x);' },
      gap[1]!,
    ];
    migrate(db, filled);
    migrate(db, filled);
    expect(tables(db)).toEqual(expect.arrayContaining(['a', 'b', 'c']));
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.close();
  });

  it('takes a database from before the record as having every migration up to its version', () => {
    const file = path.join(tmp.dir, 'unrecorded.db');
    const db = new Database(file);
    migrate(db, all.slice(0, 2));
    db.exec('DROP TABLE schema_migrations');
    migrate(db, all);
    expect(db.pragma('user_version', { simple: true })).toBe(newest);
    expect(tables(db)).toContain('dataset_versions');
    db.close();
  });
});
