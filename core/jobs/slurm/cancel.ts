import {
  markCancelRequested,
  openClusterJobOf,
  type ClusterJobRow,
} from '../../store/cluster-jobs.js';
import type { Db } from '../../store/db.js';
import { getLease, hostGone } from '../../store/leases.js';
import { scancel } from './commands.js';

/**
 * Cancels a run's job on a cluster from any workbench process: the request is recorded (so its
 * end reads as the user's) and the job scancelled; whoever follows the job records the end.
 * Resolves to the job, or null when the run has none on a cluster.
 */
export async function cancelClusterJob(db: Db, runId: number): Promise<ClusterJobRow | null> {
  const row = openClusterJobOf(db, runId);
  if (!row) return null;
  markCancelRequested(db, row.id);
  if (row.slurmJobId) await scancel(row.slurmJobId);
  return row;
}

/** Whether a live workbench process follows the job now. */
export const followed = (db: Db, row: ClusterJobRow) =>
  row.hostId !== null && !hostGone(getLease(db, row.hostId));
