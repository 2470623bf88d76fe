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
 * The migrations in `dir`, named NNNN_name.sql, in order. Numbers are handed out to changes that
 * land in any order, so one may be missing for a while (0007 before 0006); two files may never
 * share one.
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
    if (m.version < 1) throw new Error(`migration ${m.name} has no version (they start at 0001)`);
    if (i > 0 && m.version === migrations[i - 1]!.version)
      throw new Error(`migration ${m.name} reuses version ${m.version}`);
  });
  return migrations;
}

/** The newest schema version the migrations make (0 for none). */
export const latestVersion = (migrations: Migration[]) => migrations.at(-1)?.version ?? 0;

/**
 * The versions applied to a database. Each is recorded in `schema_migrations`, so a number that
 * lands after a higher one still runs; a database from before that table has every version up
 * to its user_version, as migrations were then applied strictly in sequence.
 */
function appliedVersions(db: Db): Set<number> {
  const current = db.pragma('user_version', { simple: true }) as number;
  const known = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`)
    .get();
  if (known)
    return new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  return new Set(Array.from({ length: current }, (_, i) => i + 1));
}

/**
 * Brings the database up to the newest migration. Each migration runs in its own transaction
 * with its record and the user_version bump, so a failure leaves the database at the last good
 * version. A database newer than the code is refused rather than guessed at.
 */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new UserError(
      `the workbench database is at schema version ${current}, newer than this version of the workbench understands (${latest})`,
      'upgrade SuperVision Workbench, or point SVW_HOME at another folder',
    );
  }
  const applied = appliedVersions(db);
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
    const record = db.prepare('INSERT OR IGNORE INTO schema_migrations (version) VALUES (?)');
    for (const version of applied) record.run(version);
  })();
  // Foreign keys are off while migrating (SQLite ignores the pragma inside a transaction), so
  // that a migration may rebuild a table as SQLite's ALTER TABLE guide says: with them on,
  // dropping the old table would cascade-delete every row that points at it. Each migration
  // must still leave every reference valid, checked before it commits.
  const enforced = db.pragma('foreign_keys', { simple: true }) === 1;
  if (enforced) db.pragma('foreign_keys = OFF');
  try {
    for (const m of migrations.filter((m) => !applied.has(m.version))) {
      db.transaction(() => {
        db.exec(m.sql);
        const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (broken.length > 0)
          throw new Error(
            `migration ${m.name} leaves ${broken.length} broken references (${broken[0]!.table} → ${broken[0]!.parent})`,
          );
        db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(m.version);
        const now = db.pragma('user_version', { simple: true }) as number;
        db.pragma(`user_version = ${Math.max(now, m.version)}`);
      })();
    }
  } finally {
    if (enforced) db.pragma('foreign_keys = ON');
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
