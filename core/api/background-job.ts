import type { JobHost } from '../jobs/host.js';
import { jobMemoryBytes } from '../jobs/memory.js';
import type { RunningJob } from '../jobs/run-job.js';
import type { Slot } from '../jobs/scheduler.js';
import type { RunConfig } from '../schema/run-config.js';
import type { WorkerMessage } from '../schema/messages.js';
import type { RunRow } from '../store/runs.js';
import { errorMessage } from '../util/errors.js';
import type { ServiceContext } from './context.js';

/** How a background job ended: completed, or failed with the reason. */
export interface BackgroundOutcome {
  status: 'completed' | 'failed' | 'cancelled' | string;
  failure: string | null;
}

/** Where a background job runs, and what it needs there. */
export interface BackgroundOptions {
  /** Its messages, as they arrive. */
  onMessage?: (m: WorkerMessage) => void;
  /** The job host to run it on (a cluster's, say); the host service's own when omitted. */
  host?: JobHost;
  /** The memory it needs on this machine; the run's training estimate when omitted. */
  memoryBytes?: number;
}

/**
 * Runs a job of a run in the background: it waits for a slot of the scheduler (with the memory
 * it needs), or goes to a remote host's queue at once; it is killed if the host closes (a
 * remote job goes on, and the next host follows it), and the host waits for it on close. The
 * promise never rejects: a job that could not start ends 'failed' with the reason.
 */
export function runInBackground(
  ctx: ServiceContext,
  run: RunRow,
  start: (slot: Slot, onMessage: (m: WorkerMessage) => void, host: JobHost) => RunningJob,
  options: BackgroundOptions = {},
): Promise<BackgroundOutcome> {
  let failure: string | null = null;
  let kill = () => {};
  const untrack = ctx.onClose(() => kill());
  const listen = (m: WorkerMessage) => {
    if (m.type === 'error') failure = m.error.message;
    options.onMessage?.(m);
  };
  const host = options.host ?? ctx.options.jobHost;
  const bytes = options.memoryBytes ?? jobMemoryBytes(JSON.parse(run.config) as RunConfig);
  const started = ctx.scheduler.runOn(host, bytes, (slot) => start(slot, listen, host));
  return ctx.track(
    started
      .then((job) => {
        kill = () => (job.remote ? job.detach() : job.kill());
        return job.done as Promise<string>;
      })
      .catch((err: unknown) => {
        failure = errorMessage(err);
        return 'failed';
      })
      .then((status) => {
        untrack();
        return { status, failure };
      }),
  );
}
