import { mkdirSync } from 'node:fs';
import { openDatabase, type Db } from './db.js';
import { homePaths, svwHome, type HomePaths } from './paths.js';

export interface Workbench {
  db: Db;
  paths: HomePaths;
  close(): void;
}

/** Opens the workbench home ($SVW_HOME or ~/.supervision): its database, migrated, and folders. */
export function openWorkbench(home = svwHome()): Workbench {
  const paths = homePaths(home);
  mkdirSync(paths.datasets, { recursive: true });
  mkdirSync(paths.runs, { recursive: true });
  const db = openDatabase(paths.database);
  return { db, paths, close: () => db.close() };
}
