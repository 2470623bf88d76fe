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

/** The migrations in `dir`, named NNNN_name.sql, in order; numbering must run 1, 2, 3… */
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
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name} is out of sequence (expected ${i + 1})`);
  });
  return migrations;
}

/**
 * Brings the database up to the newest migration. Each migration runs in its own transaction
 * with its user_version bump, so a failure leaves the database at the last good version. A
 * database newer than the code is refused rather than guessed at.
 */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length;
  if (current > latest) {
    throw new UserError(
      `the workbench database is at schema version ${current}, newer than this version of the workbench understands (${latest})`,
      'upgrade SuperVision Workbench, or point SVW_HOME at another folder',
    );
  }
  // Foreign keys are off while migrating (SQLite ignores the pragma inside a transaction), so
  // that a migration may rebuild a table as SQLite's ALTER TABLE guide says: with them on,
  // dropping the old table would cascade-delete every row that points at it. Each migration
  // must still leave every reference valid, checked before it commits.
  const enforced = db.pragma('foreign_keys', { simple: true }) === 1;
  if (enforced) db.pragma('foreign_keys = OFF');
  try {
    for (const m of migrations.slice(current)) {
      db.transaction(() => {
        db.exec(m.sql);
        const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (broken.length > 0)
          throw new Error(
            `migration ${m.name} leaves ${broken.length} broken references (${broken[0]!.table} → ${broken[0]!.parent})`,
          );
        db.pragma(`user_version = ${m.version}`);
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
