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

/**
 * Runs a job of a run in the background: it waits for a slot of the scheduler (with the memory
 * the run's model needs), is killed if the host closes, and the host waits for it on close. The
 * promise never rejects: a job that could not start ends 'failed' with the reason.
 */
export function runInBackground(
  ctx: ServiceContext,
  run: RunRow,
  start: (slot: Slot, onMessage: (m: WorkerMessage) => void) => RunningJob,
  onMessage?: (m: WorkerMessage) => void,
): Promise<BackgroundOutcome> {
  let failure: string | null = null;
  let kill = () => {};
  const untrack = ctx.onClose(() => kill());
  const listen = (m: WorkerMessage) => {
    if (m.type === 'error') failure = m.error.message;
    onMessage?.(m);
  };
  const started = ctx.scheduler.run(jobMemoryBytes(JSON.parse(run.config) as RunConfig), (slot) =>
    start(slot, listen),
  );
  return ctx.track(
    started
      .then((job) => {
        kill = () => job.kill();
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
