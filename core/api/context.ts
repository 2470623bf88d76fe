import type { BackendChoice } from '../engine/backends.js';
import type { JobHost } from '../jobs/host.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { Workbench } from '../store/workbench.js';
import type { ProgressEvent, PushEvent } from './contract.js';
import type { Throttled } from './events.js';
import type { HostServiceOptions } from './host-service.js';

/** What every area of the host service shares. */
export interface ServiceContext {
  wb: Workbench;
  options: HostServiceOptions;
  backend: BackendChoice;
  scheduler: Scheduler;
  concurrency: number;
  emit(event: PushEvent): void;
  /** The latest progress of each running training run, sent at most 4 times a second. */
  progress: Throttled<number, ProgressEvent>;
  /** Work started by a call that close() waits for (demo set-up, index builds, file searches). */
  track<T>(work: Promise<T>): Promise<T>;
  /** Kills a worker job at close; returns the function that stops tracking it. */
  onClose(kill: () => void): () => void;
  /** Where a job goes: this machine's host, or a cluster profile's (a clear error if unknown). */
  jobHostFor(cluster: string | null | undefined): JobHost;
}
