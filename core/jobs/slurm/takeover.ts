import path from 'node:path';
import { messagesBefore } from '../event-file.js';
import { endClusterJob, type ClusterJobRow } from '../../store/cluster-jobs.js';
import { transaction, type Db } from '../../store/db.js';
import { addLog, finishRun } from '../../store/runs.js';
import { jobsNamed } from './commands.js';

/*
 * Taking over a cluster job from a host that stopped: claiming it, learning what that host
 * had stored, and finding a job whose submission it did not see answered.
 */

/**
 * Takes over a cluster job for the host of lease `hostId`, in one conditional update on the host
 * it had, so that of two hosts opening the workbench after the first died, one follows it. Its
 * run (a training run) is held by the new host's lease from then on.
 */
export function claimClusterJob(db: Db, row: ClusterJobRow, hostId: string): boolean {
  return transaction(db, () => {
    const taken =
      db
        .prepare(
          'UPDATE cluster_jobs SET host_id = ? WHERE id = ? AND host_id IS ? AND ended_at IS NULL',
        )
        .run(hostId, row.id, row.hostId).changes > 0;
    if (taken && row.kind === 'train')
      db.prepare(
        `UPDATE runs SET host_id = ? WHERE id = ? AND status IN ('queued', 'running')`,
      ).run(hostId, row.runId);
    if (taken) row.hostId = hostId;
    return taken;
  });
}

/** Ends a cluster job nobody can follow any more (its spool files are gone), failing its run. */
export function abandonClusterJob(db: Db, row: ClusterJobRow, message: string): void {
  transaction(db, () => {
    endClusterJob(db, row.id);
    if (row.kind === 'train') finishRun(db, row.runId, 'failed', { message });
    else addLog(db, row.runId, 'error', `${row.kind} failed: ${message}`);
  });
}

/** What the host that stored a job's event file up to `offset` had read of its worker. */
export interface Recalled {
  started: boolean;
  /** Its `done`, to hand on again (it writes nothing), so the run ends as the worker said. */
  done: unknown;
  /** Its error, which is the run's. */
  error: string | null;
}

export function recallEvents(events: string, offset: number): Recalled {
  const recalled: Recalled = { started: false, done: null, error: null };
  for (const m of messagesBefore(events, offset) as { type?: string }[]) {
    if (m.type === 'started') recalled.started = true;
    if (m.type === 'done') recalled.done = m;
    if (m.type === 'error') recalled.error = (m as { error: { message: string } }).error.message;
  }
  return recalled;
}

/**
 * The Slurm id of a job recorded before sbatch answered (its host died meanwhile), found by its
 * name, the submission folder's; null when Slurm has no such job.
 */
export async function submittedId(row: ClusterJobRow): Promise<string | null> {
  const ids = await jobsNamed(path.basename(row.dir));
  const id = ids.some((i) => i.includes('_'))
    ? ids.find((i) => i.endsWith(`_${row.task}`))
    : ids[0];
  return id ?? null;
}
