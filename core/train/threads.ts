import os from 'node:os';
import type { RunConfig } from '../schema/run-config.js';
import { UserError } from '../util/errors.js';

/** ', 2 threads' after an engine's description, where the job trains on threads it was given. */
export function threadsNote(threads: number | undefined): string {
  return threads ? `, ${threads} thread${threads === 1 ? '' : 's'}` : '';
}

/** `engine.threads` 0 means auto: the cores divided among the jobs running. */
export const AUTO_THREADS = 0;

/** Refuses a config whose `engine.threads` is more than this machine's cores. */
export function checkThreads(config: RunConfig, cores = os.availableParallelism()): RunConfig {
  const threads = config.engine.threads;
  if (threads > cores)
    throw new UserError(
      `engine.threads is ${threads}, but this machine has ${cores} core${cores === 1 ? '' : 's'} (use 0 for auto, or at most ${cores})`,
    );
  return config;
}

/**
 * The threads of a job about to start: `engine.threads` when set, and for auto the cores
 * divided among the jobs that will run at once (this one included), at least one.
 */
export function resolveThreads(config: RunConfig, cores: number, jobs: number): number {
  const threads = config.engine.threads;
  if (threads !== AUTO_THREADS) return threads;
  return Math.max(1, Math.floor(cores / Math.max(1, jobs)));
}
