import { compiledModulePath } from '../util/module-path.js';
import type { HostMessage, JobSpec } from '../schema/messages.js';

/**
 * Called in the transaction that stores the message it came with: a cluster job's position in
 * its event file, so that each message is stored exactly once, across host restarts too.
 */
export type Receipt = () => void;

/** How a job ended as its host saw it (a cluster's own state for it), when that says more. */
export interface JobOutcome {
  status: 'failed' | 'cancelled' | 'interrupted';
  message: string;
  /** An interrupted run may be resubmitted to resume from its last checkpoint. */
  resubmit?: boolean;
}

/** Where a remote job stands in its cluster's queue, e.g. queued, `PENDING (Resources)`. */
export interface QueueState {
  status: 'queued' | 'running';
  detail: string;
  node: string | null;
}

/** A running job worker, however it was started. */
export interface JobProcess {
  readonly pid: number | undefined;
  send(message: HostMessage): void;
  kill(): void;
  onMessage(handler: (message: unknown, receipt?: Receipt) => void): void;
  /**
   * Called once when the process has exited; `reason` describes a signal or exit code. A remote
   * job adds its outcome, and a receipt to write with its end.
   */
  onExit(
    handler: (code: number | null, reason: string, outcome?: JobOutcome, receipt?: Receipt) => void,
  ): void;
  /** Remote jobs: the job moved in its cluster's queue. */
  onQueueState?(handler: (state: QueueState) => void): void;
  /**
   * Remote jobs: stop following it (the host is closing); it goes on in its cluster, and the
   * next host that opens the workbench follows it from where this one stopped.
   */
  detach?(): void;
}

/** What the scheduler tells a host about one job; every field is optional. */
export interface JobStartOptions {
  /** Variables added to the worker's environment (`CUDA_VISIBLE_DEVICES` for its GPU, say). */
  env?: Record<string, string>;
  /** The run is being resubmitted after an interruption (a cluster counts these). */
  resubmission?: boolean;
}

/** A job a remote host can follow again after the host that followed it stopped. */
export interface OrphanedJob {
  runId: number;
  job: JobSpec;
  /** Claims the job for this host; null when another live host took it first. */
  attach(): JobProcess | null;
}

/**
 * Starts job workers. The hosts, and how to add one, are listed in `hosts/index.ts`
 * (`child_process.fork` for the CLI and `svw serve`, Electron's `utilityProcess.fork` in the app,
 * Slurm batch jobs on a cluster).
 */
export interface JobHost {
  start(options?: JobStartOptions): JobProcess;
  /**
   * Its jobs run elsewhere and queue there (a cluster): they take none of this machine's slots,
   * GPUs or memory, and they outlive the host.
   */
  readonly remote?: boolean;
  /** Remote hosts: jobs that a host which has stopped left running, to follow again. */
  orphans?(): OrphanedJob[];
}

/** The compiled worker entry point, shared by every host. */
export const workerEntry = () => compiledModulePath(import.meta.url, './worker.js');

// Kept for imports written before the hosts had a folder of their own.
export { forkJobHost } from './hosts/fork.js';
