import { compiledModulePath } from '../util/module-path.js';
import type { HostMessage } from '../schema/messages.js';

/** A running job worker, however it was started. */
export interface JobProcess {
  readonly pid: number | undefined;
  send(message: HostMessage): void;
  kill(): void;
  onMessage(handler: (message: unknown) => void): void;
  /** Called once when the process has exited; `reason` describes a signal or exit code. */
  onExit(handler: (code: number | null, reason: string) => void): void;
}

/** What the scheduler tells a host about one job; every field is optional. */
export interface JobStartOptions {
  /** Variables added to the worker's environment (`CUDA_VISIBLE_DEVICES` for its GPU, say). */
  env?: Record<string, string>;
}

/**
 * Starts job workers. The hosts, and how to add one, are listed in `hosts/index.ts`
 * (`child_process.fork` for the CLI and `svw serve`, Electron's `utilityProcess.fork` in the app).
 */
export interface JobHost {
  start(options?: JobStartOptions): JobProcess;
}

/** The compiled worker entry point, shared by every host. */
export const workerEntry = () => compiledModulePath(import.meta.url, './worker.js');

// Kept for imports written before the hosts had a folder of their own.
export { forkJobHost } from './hosts/fork.js';
