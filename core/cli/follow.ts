import type { BackendChoice } from '../engine/backends.js';
import { ClusterHosts } from '../jobs/clusters.js';
import type { JobHost } from '../jobs/host.js';
import { forkJobHost } from '../jobs/hosts/fork.js';
import { Scheduler } from '../jobs/scheduler.js';
import type { WorkerMessage } from '../schema/messages.js';
import type { Workbench } from '../store/workbench.js';
import { note } from './output.js';

export interface FollowOptions {
  backend: BackendChoice;
  /** Quiet: no queue-state lines (JSON output). */
  quiet?: boolean;
  report?: (runId: number, message: WorkerMessage) => void;
  /** What Ctrl-C does: cancel the jobs (scancel), or leave them running and stop following. */
  onSignal: 'cancel' | 'detach';
}

/**
 * Follows cluster jobs from the command line until every one has ended, with a scheduler of
 * this process: `begin` hands it its work (a run to submit, or the jobs a stopped host left).
 * Interrupted runs are resubmitted as in the app. Resolves with the runs it followed.
 */
export async function followClusterJobs(
  wb: Workbench,
  options: FollowOptions,
  begin: (scheduler: Scheduler) => number[],
): Promise<number[]> {
  const clusters = new ClusterHosts(wb.db);
  const followed = new Set<number>();
  const scheduler = new Scheduler(wb, forkJobHost, {
    concurrency: 1,
    backend: options.backend,
    hostFor: (name) => clusters.hostFor(name),
    remoteHosts: () => clusters.all(),
    onMessage: (runId, m) => options.report?.(runId, m),
    onQueueState: (runId, state) => {
      if (!options.quiet)
        note(`run ${runId}: ${state.detail}${state.node ? ` on node ${state.node}` : ''}`);
    },
    onStatus: (runId) => followed.add(runId),
  });
  let signals = 0;
  const onSignal = () => {
    if (signals++ > 0) process.exit(130);
    if (options.onSignal === 'detach') {
      note('\nleaving the jobs running on the cluster; svw cluster attach follows them again');
      scheduler.shutdown();
      return;
    }
    note('\ncancelling (scancel)…');
    for (const id of scheduler.runningIds) scheduler.cancel(id);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const id of begin(scheduler)) followed.add(id);
    await scheduler.idle();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clusters.close();
  }
  return [...followed];
}

/**
 * Runs `fn` with the host of a job the command starts: this machine's worker processes, or with
 * `--on NAME` that cluster's (whose jobs it follows until `fn` is done).
 */
export async function withJobHost<T>(
  wb: Workbench,
  on: string | undefined,
  fn: (host: JobHost) => Promise<T>,
): Promise<T> {
  if (!on || on === 'local') return fn(forkJobHost);
  const clusters = new ClusterHosts(wb.db);
  try {
    return await fn(clusters.hostFor(on));
  } finally {
    clusters.close();
  }
}
