import type { Db } from './db.js';

/** A job sent to a cluster (one submission of a run; a resubmission has a row of its own). */
export interface ClusterJobRow {
  id: number;
  runId: number;
  cluster: string;
  kind: 'train' | 'eval' | 'features';
  attempt: number;
  /** The submission's folder in the spool, and the job's index in its array. */
  dir: string;
  task: number;
  /** `1234`, or `1234_2` for an array task; null until sbatch has answered. */
  slurmJobId: string | null;
  state: string;
  reason: string | null;
  node: string | null;
  exitCode: string | null;
  /** Bytes and lines of the event file already in the database. */
  eventsOffset: number;
  eventsLine: number;
  cancelRequested: boolean;
  /** The lease of the host following it. */
  hostId: string | null;
  submittedAt: number;
  endedAt: number | null;
}

const SELECT = `SELECT id, run_id AS runId, cluster, kind, attempt, dir, task, slurm_job_id AS slurmJobId,
  state, reason, node, exit_code AS exitCode, events_offset AS eventsOffset, events_line AS eventsLine,
  cancel_requested AS cancelRequested, host_id AS hostId, submitted_at AS submittedAt, ended_at AS endedAt FROM cluster_jobs`;

const row = (r: (ClusterJobRow & { cancelRequested: unknown }) | undefined) =>
  r && { ...r, cancelRequested: Boolean(r.cancelRequested) };

export function getClusterJob(db: Db, id: number): ClusterJobRow | undefined {
  return row(db.prepare(`${SELECT} WHERE id = ?`).get(id) as ClusterJobRow | undefined);
}

/** The newest submission of a run, if it ever went to a cluster. */
export function latestClusterJob(db: Db, runId: number): ClusterJobRow | undefined {
  return row(
    db.prepare(`${SELECT} WHERE run_id = ? ORDER BY id DESC LIMIT 1`).get(runId) as
      ClusterJobRow | undefined,
  );
}

/** The run's job on a cluster that has not ended, if any. */
export function openClusterJobOf(db: Db, runId: number): ClusterJobRow | undefined {
  return row(
    db
      .prepare(`${SELECT} WHERE run_id = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1`)
      .get(runId) as ClusterJobRow | undefined,
  );
}

/** Jobs whose outcome has not been written yet, of one cluster or all, oldest first. */
export function openClusterJobs(db: Db, cluster?: string): ClusterJobRow[] {
  const rows = (
    cluster === undefined
      ? db.prepare(`${SELECT} WHERE ended_at IS NULL ORDER BY id`).all()
      : db.prepare(`${SELECT} WHERE ended_at IS NULL AND cluster = ? ORDER BY id`).all(cluster)
  ) as ClusterJobRow[];
  return rows.map((r) => row(r)!);
}

/**
 * Records a job about to be submitted; its attempt is 1, or one more than the run's previous
 * submission when this one resubmits it after an interruption.
 */
export function insertClusterJob(
  db: Db,
  job: Pick<ClusterJobRow, 'runId' | 'cluster' | 'kind' | 'dir' | 'task' | 'hostId'> & {
    resubmission: boolean;
  },
): ClusterJobRow {
  const previous = job.resubmission ? (latestClusterJob(db, job.runId)?.attempt ?? 0) : 0;
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO cluster_jobs (run_id, cluster, kind, attempt, dir, task, state, host_id, submitted_at)
       VALUES (?, ?, ?, ?, ?, ?, 'SUBMITTING', ?, ?)`,
    )
    .run(
      job.runId,
      job.cluster,
      job.kind,
      previous + 1,
      job.dir,
      job.task,
      job.hostId,
      Date.now() / 1000,
    );
  return getClusterJob(db, Number(lastInsertRowid))!;
}

export function setSlurmJobId(db: Db, id: number, slurmJobId: string): void {
  db.prepare(`UPDATE cluster_jobs SET slurm_job_id = ?, state = 'PENDING' WHERE id = ?`).run(
    slurmJobId,
    id,
  );
}

export interface SlurmSighting {
  state: string;
  reason: string | null;
  node: string | null;
  exitCode?: string | null;
}

/** Stores what Slurm last said of a job; true when any of it changed. */
export function recordSighting(db: Db, id: number, seen: SlurmSighting): boolean {
  return (
    db
      .prepare(
        `UPDATE cluster_jobs SET state = @state, reason = @reason, node = COALESCE(@node, node),
         exit_code = COALESCE(@exitCode, exit_code)
         WHERE id = @id AND (state IS NOT @state OR reason IS NOT @reason
           OR (@node IS NOT NULL AND node IS NOT @node) OR (@exitCode IS NOT NULL AND exit_code IS NOT @exitCode))`,
      )
      .run({ id, ...seen, exitCode: seen.exitCode ?? null }).changes > 0
  );
}

/** Moves a job's ingest position; call in the transaction that wrote the message before it. */
export function commitOffset(db: Db, id: number, offset: number, line: number): void {
  db.prepare('UPDATE cluster_jobs SET events_offset = ?, events_line = ? WHERE id = ?').run(
    offset,
    line,
    id,
  );
}

/** Forgets a job sbatch never accepted: nothing ran, so there is nothing to show of it. */
export function discardClusterJob(db: Db, id: number): void {
  db.prepare('DELETE FROM cluster_jobs WHERE id = ?').run(id);
}

export function endClusterJob(db: Db, id: number): void {
  db.prepare('UPDATE cluster_jobs SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(
    Date.now() / 1000,
    id,
  );
}

/** Notes that the user cancelled the job, so an end in CANCELLED reads as theirs. */
export function markCancelRequested(db: Db, id: number): void {
  db.prepare('UPDATE cluster_jobs SET cancel_requested = 1 WHERE id = ?').run(id);
}
