import type { Db } from './db.js';

/** Records a job a host has started; its dataset is the run's. Returns the record's id. */
export function startActiveJob(db: Db, hostId: string, kind: string, runId: number): number {
  return Number(
    db
      .prepare(
        `INSERT INTO active_jobs (host_id, kind, run_id, dataset_id, started_at)
         VALUES (?, ?, ?, (SELECT dataset_id FROM runs WHERE id = ?), ?)`,
      )
      .run(hostId, kind, runId, runId, Date.now() / 1000).lastInsertRowid,
  );
}

export function endActiveJob(db: Db, id: number): void {
  db.prepare('DELETE FROM active_jobs WHERE id = ?').run(id);
}

/** Jobs running now on `machine` (a host name), under live leases of any host. */
export function jobsOnMachine(db: Db, machine: string, at = Date.now() / 1000): number {
  return db
    .prepare(
      `SELECT COUNT(*) FROM active_jobs j
       JOIN host_leases l ON l.id = j.host_id AND l.renewed_at + l.ttl_s >= ? AND l.machine = ?`,
    )
    .pluck()
    .get(at, machine) as number;
}

/**
 * What uses a dataset now: jobs of live hosts (any kind) and training runs that are running or
 * queued, as "run N (kind)" phrases; empty when the dataset is free to remove.
 */
export function datasetUsers(db: Db, datasetId: number, at = Date.now() / 1000): string[] {
  const jobs = db
    .prepare(
      `SELECT j.run_id AS runId, j.kind FROM active_jobs j
       JOIN host_leases l ON l.id = j.host_id AND l.renewed_at + l.ttl_s >= ?
       WHERE j.dataset_id = ? ORDER BY j.id`,
    )
    .all(at, datasetId) as { runId: number; kind: string }[];
  const runs = db
    .prepare(
      `SELECT id, status FROM runs WHERE dataset_id = ? AND status IN ('running', 'queued')
       AND (status = 'running' OR host_id IS NOT NULL) ORDER BY id`,
    )
    .all(datasetId) as { id: number; status: string }[];
  // A cluster job reads the dataset whether or not a host follows it now.
  const cluster = db
    .prepare(
      `SELECT c.run_id AS runId, c.kind FROM cluster_jobs c JOIN runs r ON r.id = c.run_id
       WHERE r.dataset_id = ? AND c.ended_at IS NULL ORDER BY c.id`,
    )
    .all(datasetId) as { runId: number; kind: string }[];
  const phrases = new Map<string, string>();
  for (const j of [...jobs, ...cluster])
    phrases.set(
      `${j.runId}/${j.kind}`,
      `run ${j.runId} (${j.kind === 'train' ? 'training' : j.kind})`,
    );
  for (const r of runs)
    if (!phrases.has(`${r.id}/train`))
      phrases.set(
        `${r.id}/train`,
        `run ${r.id} (${r.status === 'queued' ? 'queued' : 'training'})`,
      );
  return [...phrases.values()];
}
