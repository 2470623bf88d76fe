import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { UserError } from '../util/errors.js';

export type Db = Database.Database;

/** migrations/ at the package root (two levels above dist/core/store or core/store). */
export const MIGRATIONS_DIR = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!readdirSafe(dir).includes('migrations') || !readdirSafe(dir).includes('package.json')) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the migrations folder');
    dir = parent;
  }
  return path.join(dir, 'migrations');
})();

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The migrations in `dir`, named NNNN_name.sql, in ascending order. Numbers are handed out per
 * change before the changes land, so a number may be missing until the change holding it
 * merges; each number is used once.
 */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file,
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
  migrations.forEach((m, i) => {
    if (m.version < 1 || (i > 0 && m.version === migrations[i - 1]!.version))
      throw new Error(`migration ${m.name} reuses number ${m.version}`);
  });
  return migrations;
}

/**
 * Brings the database up to date: every migration not yet applied runs, in order, in its own
 * transaction with its record, so a failure leaves the database at the last good one. Applied
 * migrations are recorded by number (a number that lands after a higher one still runs), and
 * user_version holds the highest. A database newer than the code is refused rather than guessed at.
 */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = Math.max(0, ...migrations.map((m) => m.version));
  if (current > latest) {
    throw new UserError(
      `the workbench database is at schema version ${current}, newer than this version of the workbench understands (${latest})`,
      'upgrade SuperVision Workbench, or point SVW_HOME at another folder',
    );
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)',
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  // A database from before the record had every migration up to its user_version applied.
  if (applied.size === 0 && current > 0) {
    db.transaction(() => {
      for (const m of migrations.filter((m) => m.version <= current)) {
        record.run(m.version, m.name);
        applied.add(m.version);
      }
    })();
  }
  for (const m of migrations.filter((m) => !applied.has(m.version))) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name);
      const now = db.pragma('user_version', { simple: true }) as number;
      db.pragma(`user_version = ${Math.max(now, m.version)}`);
    })();
  }
  return latest;
}

/**
 * In Electron during development, the copy of better-sqlite3 built for Electron's ABI that
 * `npm start` names (bin/electron-native.js); Node, and the packaged app (rebuilt when
 * packaging), load the default build.
 */
function sqliteOptions(env = process.env): Database.Options {
  const binding = env.SVW_SQLITE_BINDING;
  return process.versions.electron && binding ? { nativeBinding: binding } : {};
}

/** Opens (creating if needed) a workbench database in WAL mode and migrates it. */
export function openDatabase(file: string, migrations?: Migration[]): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, sqliteOptions());
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // Two hosts (the app and the CLI) may share a home; wait for the other writer instead of failing.
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  migrate(db, migrations);
  return db;
}

/** Runs fn in a transaction (BEGIN IMMEDIATE, so concurrent writers queue rather than deadlock). */
export function transaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
