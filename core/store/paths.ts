import os from 'node:os';
import path from 'node:path';

/** The workbench's data folder: $SVW_HOME, or ~/.supervision. */
export function svwHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SVW_HOME ?? path.join(os.homedir(), '.supervision'));
}

export const homePaths = (home = svwHome()) => ({
  home,
  database: path.join(home, 'workbench.db'),
  datasets: path.join(home, 'datasets'),
  dataset: (id: number) => path.join(home, 'datasets', String(id)),
  runs: path.join(home, 'runs'),
  run: (id: number) => path.join(home, 'runs', String(id)),
});

export type HomePaths = ReturnType<typeof homePaths>;
