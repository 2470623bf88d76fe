import { requireRun } from '../jobs/launch.js';
import { submissionFiles } from '../jobs/slurm/script.js';
import { describeSighting } from '../jobs/slurm/states.js';
import { latestClusterJob } from '../store/cluster-jobs.js';
import { listClusters } from '../store/clusters.js';
import type { Db } from '../store/db.js';
import type { ServiceContext } from './context.js';
import type { ClusterJobInfo } from './contract.js';
import type { Handlers } from './dispatch.js';
import { readRange } from '../util/read-range.js';

const LOG_BYTES = 64 * 1024;

/** A run's newest job on a cluster, for Run detail; null when it never went to one. */
export function clusterJobInfo(db: Db, runId: number): ClusterJobInfo | null {
  const job = latestClusterJob(db, runId);
  if (!job) return null;
  return {
    cluster: job.cluster,
    slurmJobId: job.slurmJobId,
    state: describeSighting(job),
    node: job.node,
    attempt: job.attempt,
    open: job.endedAt === null,
    logPath: submissionFiles(job.dir, job.task).log,
  };
}

/** The cluster methods: the profiles, and a run's Slurm log. */
export function clustersApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const handlers: Pick<Handlers, 'listClusters' | 'runClusterLog'> = {
    listClusters: () => listClusters(db),
    runClusterLog: ({ id, maxBytes }) => {
      requireRun(ctx.wb, id);
      const info = clusterJobInfo(db, id);
      if (!info) return null;
      const max = maxBytes ?? LOG_BYTES;
      const tail = readRange(info.logPath, (size) => ({ start: size - max, length: max }));
      return {
        path: info.logPath,
        text: tail?.bytes.toString('utf8') ?? '',
        truncated: (tail?.size ?? 0) > max,
      };
    },
  };
  return handlers;
}
