import { accessSync, constants, mkdirSync } from 'node:fs';
import { storageError } from '../util/system-errors.js';
import { openDatabase, type Db } from './db.js';
import { homePaths, svwHome, type HomePaths } from './paths.js';
import { recoverInterrupted } from './runs.js';

export interface Workbench {
  db: Db;
  paths: HomePaths;
  close(): void;
}

/**
 * Opens the workbench home ($SVW_HOME or ~/.supervision): its database, migrated, and folders;
 * runs whose host died while they ran are marked interrupted.
 */
export function openWorkbench(home = svwHome()): Workbench {
  const paths = homePaths(home);
  mkdirSync(paths.datasets, { recursive: true });
  mkdirSync(paths.runs, { recursive: true });
  // SQLite only says "unable to open database file" for a folder it cannot write to.
  try {
    accessSync(home, constants.W_OK);
  } catch (err) {
    throw storageError(err) ?? err;
  }
  const db = openDatabase(paths.database);
  // Runs left 'running' by a host that has since died are interrupted, not running.
  recoverInterrupted(db);
  return { db, paths, close: () => db.close() };
}

/** Runs `fn` with the workbench open, closing it afterwards whatever happens. */
export async function withWorkbench<T>(
  fn: (wb: Workbench) => T | Promise<T>,
  home = svwHome(),
): Promise<T> {
  const wb = openWorkbench(home);
  try {
    return await fn(wb);
  } finally {
    wb.close();
  }
}
