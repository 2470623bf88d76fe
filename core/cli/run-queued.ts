import { probeBackends, type BackendChoice } from '../engine/backends.js';
import { detectGpus } from '../engine/system.js';
import { ClusterHosts } from '../jobs/clusters.js';
import { forkJobHost } from '../jobs/hosts/fork.js';
import { defaultConcurrency, Scheduler } from '../jobs/scheduler.js';
import { hostLease } from '../store/leases.js';
import { getRun, type RunStatus } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { note } from './output.js';

/**
 * Runs queued runs to their end in this process, as the app would: through a scheduler, as
 * many at once as the machine takes, in worker processes. Ctrl-C stops them (a sweep's trials
 * are interrupted, to resume later); resolves when none is queued or running.
 */
export async function runQueued(
  wb: Workbench,
  runs: readonly { id: number; resume?: boolean }[],
  options: { backend: BackendChoice; concurrency?: number; quiet?: boolean },
): Promise<void> {
  const gpus = (await detectGpus()).gpus?.length ?? 0;
  const concurrency =
    options.concurrency ??
    (await defaultConcurrency(
      async () => Array.from({ length: gpus }),
      async () => (await probeBackends(options.backend)).backend,
    ));
  const onStatus = (runId: number, status: RunStatus) => {
    if (options.quiet || status === 'queued') return;
    const run = getRun(wb.db, runId);
    const why = run?.error && status !== 'running' ? `: ${run.error}` : '';
    note(`run ${runId} ${run?.sweepTrial ? `(${run.sweepTrial}) ` : ''}${status}${why}`);
  };
  // Runs for a cluster go to its Slurm host; the others run here.
  const clusters = new ClusterHosts(wb.db);
  const scheduler = new Scheduler(wb, forkJobHost, {
    concurrency,
    gpus,
    backend: options.backend,
    onStatus,
    hostFor: (name) => clusters.hostFor(name),
    remoteHosts: () => clusters.all(),
  });
  const stop = () => {
    note('stopping: the running runs are interrupted and resume later');
    scheduler.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // Queued together, so that auto threads share the cores among them (a sweep's trials).
    scheduler.enqueueAll(runs);
    await scheduler.idle();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    clusters.close();
    hostLease(wb.db).release();
  }
}
