import { endClusterJob, type ClusterJobRow } from '../../store/cluster-jobs.js';
import { transaction, type Db } from '../../store/db.js';
import { addLog, finishRun } from '../../store/runs.js';

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
