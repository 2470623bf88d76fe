import os from 'node:os';
import type { MetricPoint, WorkerMessage } from '../schema/messages.js';
import { configHash, flattenParams, type RunConfig } from '../schema/run-config.js';
import { transaction, type Db } from './db.js';
import { processAlive } from './leases.js';
import { cacheChartSeries } from './metric-series.js';
import { insertMistakes, pruneMistakes } from './mistakes.js';
import { FINAL_STATUSES, type RunStatus } from './run-status.js';

export { FINAL_STATUSES, type RunStatus } from './run-status.js';

export interface RunRow {
  id: number;
  experimentId: number;
  experiment: string;
  name: string;
  datasetId: number | null;
  dataset: string | null;
  /** The version of the dataset it trains on (1: as imported). */
  datasetVersion: number;
  preset: string;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** Why it failed, or why its sweep pruned it. */
  error: string | null;
  errorStack: string | null;
  backend: string | null;
  enginePackage: string | null;
  engineVersion: string | null;
  device: string | null;
  seed: number;
  configHash: string;
  config: string;
  hostPid: number | null;
  workerPid: number | null;
  /** The lease of the host running or queueing it (see leases.ts). */
  hostId: string | null;
  /** The GPU the scheduler gave it, as nvidia-smi numbers them. */
  gpu: number | null;
  /** The cluster profile it runs on (null: the workbench's own machine), and the node it ran on. */
  cluster: string | null;
  node: string | null;
  epochsDone: number;
  epochsTotal: number;
  /** The sweep it belongs to, and its trial number or ablation variant there. */
  sweepId: number | null;
  sweepTrial: string | null;
}

/** The SELECT behind every run query; filters use the aliases r (runs), e (experiments), d (datasets). */
export const RUN_SELECT = `SELECT r.id, r.experiment_id AS experimentId, e.name AS experiment, r.name,
  r.dataset_id AS datasetId, d.name AS dataset, r.dataset_version AS datasetVersion, r.preset, r.status, r.created_at AS createdAt,
  r.started_at AS startedAt, r.ended_at AS endedAt, r.error, r.error_stack AS errorStack, r.backend,
  r.engine_package AS enginePackage, r.engine_version AS engineVersion, r.device, r.seed,
  r.config_hash AS configHash, r.config, r.host_pid AS hostPid, r.worker_pid AS workerPid,
  r.host_id AS hostId, r.gpu, r.cluster, r.node, r.sweep_id AS sweepId, r.sweep_trial AS sweepTrial,
  r.epochs_done AS epochsDone, r.epochs_total AS epochsTotal
  FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id`;

const now = () => new Date().toISOString();

export function ensureExperiment(db: Db, name: string): number {
  db.prepare('INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)').run(name, now());
  return (db.prepare('SELECT id FROM experiments WHERE name = ?').get(name) as { id: number }).id;
}

/** Records a new queued run with every hyperparameter in params. */
export function insertRun(
  db: Db,
  run: {
    experiment: string;
    name?: string;
    datasetId: number;
    /** Its dataset's version; version 1 when omitted. */
    datasetVersion?: number;
    config: RunConfig;
    sweep?: { id: number; trial: string };
  },
): number {
  return transaction(db, () => {
    const experimentId = ensureExperiment(db, run.experiment);
    const { lastInsertRowid } = db
      .prepare(
        `INSERT INTO runs (experiment_id, name, dataset_id, dataset_version, preset, status, created_at, seed, config_hash, config, epochs_total, sweep_id, sweep_trial)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        experimentId,
        run.name ?? '',
        run.datasetId,
        run.datasetVersion ?? 1,
        run.config.model.preset,
        now(),
        run.config.seed,
        configHash(run.config),
        JSON.stringify(run.config),
        run.config.epochs,
        run.sweep?.id ?? null,
        run.sweep?.trial ?? null,
      );
    const id = Number(lastInsertRowid);
    if (!run.name) db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(`run-${id}`, id);
    const add = db.prepare('INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)');
    for (const [key, value] of Object.entries(flattenParams(run.config))) {
      add.run(id, key, String(value), typeof value === 'number' ? value : null);
    }
    return id;
  });
}

/** Sets one param of a run (a value resolved when it started, such as engine.threads). */
export function setParam(db: Db, runId: number, key: string, value: string | number): void {
  db.prepare(
    'INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, num = excluded.num',
  ).run(runId, key, String(value), typeof value === 'number' ? value : null);
}

export function getRun(db: Db, id: number): RunRow | undefined {
  return db.prepare(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
}

/**
 * SQL that is true when a run is running or queued under the live lease of another host than
 * `@host` (at `@now`, seconds since the Unix epoch): that host owns it.
 */
export const HELD_ELSEWHERE = `(status IN ('queued', 'running') AND host_id IS NOT NULL AND host_id != @host
  AND EXISTS (SELECT 1 FROM host_leases l WHERE l.id = runs.host_id AND l.renewed_at + l.ttl_s >= @now))`;

/**
 * Claims a run for this host and marks it running, in one conditional UPDATE, so that of two
 * hosts starting the same run only one succeeds. False when it is running already, or queued or
 * running under another live host. A run sent to a cluster is claimed as queued (`queued`): it
 * waits in the cluster's queue, and starts (see {@link markStarted}) on a node.
 */
export function markRunning(
  db: Db,
  id: number,
  claim: {
    hostId: string;
    hostPid: number;
    workerPid: number | null;
    gpu?: number | null;
    queued?: boolean;
  },
): boolean {
  const started = claim.queued ? null : now();
  return (
    db
      .prepare(
        `UPDATE runs SET status = @status, started_at = COALESCE(started_at, @started), ended_at = NULL,
         error = NULL, error_stack = NULL, host_id = @host, host_pid = @pid, worker_pid = @worker,
         gpu = @gpu, node = @node WHERE id = @id AND status != 'running' AND NOT ${HELD_ELSEWHERE}`,
      )
      .run({
        id,
        status: claim.queued ? 'queued' : 'running',
        started,
        host: claim.hostId,
        pid: claim.hostPid,
        worker: claim.workerPid,
        gpu: claim.gpu ?? null,
        node: claim.queued ? null : os.hostname(),
        now: Date.now() / 1000,
      }).changes > 0
  );
}

/**
 * A run of a cluster's queue moved between waiting and running on a node; true when its status
 * changed. A run that has ended meanwhile is left alone.
 */
export function markStarted(
  db: Db,
  id: number,
  state: { status: 'queued' | 'running'; node: string | null },
): boolean {
  return (
    db
      .prepare(
        `UPDATE runs SET status = @status, node = COALESCE(@node, node),
         started_at = CASE WHEN @status = 'running' THEN COALESCE(started_at, @at) ELSE started_at END
         WHERE id = @id AND status IN ('queued', 'running') AND status != @status`,
      )
      .run({ id, ...state, at: now() }).changes > 0
  );
}

/** Where a run's jobs go from now on: a cluster profile's name, or null for this machine. */
export function setRunCluster(db: Db, id: number, cluster: string | null): void {
  db.prepare('UPDATE runs SET cluster = ? WHERE id = ?').run(cluster, id);
}

export function finishRun(
  db: Db,
  id: number,
  status: RunStatus,
  error?: { message: string; stack?: string },
): void {
  db.prepare(
    'UPDATE runs SET status = ?, ended_at = ?, error = ?, error_stack = ?, worker_pid = NULL WHERE id = ?',
  ).run(status, now(), error?.message ?? null, error?.stack ?? null, id);
  // Its long series are reduced for Compare now, once, rather than at every comparison.
  if (FINAL_STATUSES.includes(status)) cacheChartSeries(db, id);
}

/**
 * Appends metric points and keeps latest_metrics (newest value, min and max) in step; the run's
 * kept chart reductions go, as they no longer hold every point.
 */
export function insertMetrics(db: Db, runId: number, points: MetricPoint[]): void {
  db.prepare('DELETE FROM series_cache WHERE run_id = ?').run(runId);
  const add = db.prepare(
    'INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const latest = db.prepare(
    `INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, epoch = excluded.epoch,
       min_value = MIN(min_value, excluded.value), max_value = MAX(max_value, excluded.value)`,
  );
  for (const p of points) {
    add.run(runId, p.key, p.step, p.epoch, p.value, p.wallTime);
    latest.run(runId, p.key, p.value, p.step, p.epoch, p.value, p.value);
  }
}

/**
 * Forgets what a run reported after `epoch`: a resumed run restarts from its last checkpoint,
 * so the epochs its killed worker reported beyond that checkpoint are redone, and their old
 * metrics and evaluations would otherwise appear twice. Call inside a transaction.
 */
export function discardAfterEpoch(db: Db, runId: number, epoch: number): void {
  db.prepare('DELETE FROM metrics WHERE run_id = ? AND epoch > ?').run(runId, epoch);
  db.prepare('DELETE FROM evaluations WHERE run_id = ? AND epoch > ?').run(runId, epoch);
  db.prepare('DELETE FROM latest_metrics WHERE run_id = ?').run(runId);
  db.prepare('DELETE FROM series_cache WHERE run_id = ?').run(runId);
  // The newest row of each key by step (rowid breaks ties), with each key's min and max.
  db.prepare(
    `INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value)
     SELECT m.run_id, m.key, m.value, m.step, m.epoch, agg.lo, agg.hi
     FROM metrics m
     JOIN (SELECT key, MIN(value) AS lo, MAX(value) AS hi, MAX(step) AS last FROM metrics
           WHERE run_id = ? GROUP BY key) agg ON agg.key = m.key AND agg.last = m.step
     WHERE m.run_id = ?
       AND m.rowid = (SELECT MAX(rowid) FROM metrics x WHERE x.run_id = m.run_id AND x.key = m.key AND x.step = m.step)`,
  ).run(runId, runId);
  db.prepare('UPDATE runs SET epochs_done = MIN(epochs_done, ?) WHERE id = ?').run(epoch, runId);
}

const f32 = (values: (number | null)[]) =>
  Buffer.from(new Float32Array(values.map((v) => v ?? NaN)).buffer);
const i32 = (values: number[]) => Buffer.from(new Int32Array(values).buffer);

type EvaluationMessage = Extract<WorkerMessage, { type: 'evaluation' }>;

/**
 * Stores an evaluation. Confusion matrices and mistakes are kept only for the newest evaluation
 * and for the one that produced the best checkpoint, which keeps 1000-class runs small.
 */
export function insertEvaluation(
  db: Db,
  runId: number,
  e: Omit<EvaluationMessage, 'mistakes'> & Partial<Pick<EvaluationMessage, 'mistakes'>>,
): number {
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO evaluations (run_id, epoch, step, split, ten_crop, checkpoint, images, loss, top1_error, top5_error,
        per_class_error, per_class_count, confusion, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      runId,
      e.epoch,
      e.step,
      e.split,
      e.tenCrop ? 1 : 0,
      e.checkpoint,
      e.images,
      e.loss,
      e.top1Error,
      e.top5Error,
      f32(e.perClassError),
      i32(e.perClassCount),
      i32(e.confusion),
      now(),
    );
  const id = Number(lastInsertRowid);
  const bestId = (
    db
      .prepare(
        `SELECT id FROM evaluations WHERE run_id = ? AND checkpoint = 'best' ORDER BY id DESC LIMIT 1`,
      )
      .get(runId) as { id: number } | undefined
  )?.id;
  db.prepare('UPDATE evaluations SET confusion = NULL WHERE run_id = ? AND id NOT IN (?, ?)').run(
    runId,
    id,
    bestId ?? id,
  );
  insertMistakes(db, id, e.mistakes ?? []);
  pruneMistakes(db, runId, [id, bestId ?? id]);
  return id;
}

export function upsertCheckpoint(
  db: Db,
  runId: number,
  c: Extract<WorkerMessage, { type: 'checkpoint' }>,
): void {
  db.prepare(
    `INSERT INTO checkpoints (run_id, kind, epoch, step, path, val_top1_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, kind) DO UPDATE SET epoch = excluded.epoch, step = excluded.step, path = excluded.path,
       val_top1_error = excluded.val_top1_error, created_at = excluded.created_at`,
  ).run(runId, c.kind, c.epoch, c.step, c.path, c.valTop1Error, now());
}

export function addLog(db: Db, runId: number, level: string, message: string): void {
  db.prepare('INSERT INTO run_logs (run_id, time, level, message) VALUES (?, ?, ?, ?)').run(
    runId,
    Date.now() / 1000,
    level,
    message,
  );
}

/**
 * Marks runs `interrupted` that were running under a host whose lease has lapsed (it crashed,
 * was killed, or its machine went away), judged by the lease's heartbeat rather than a process
 * id, which may be reused or belong to another machine sharing the home. Runs of a live host
 * are left alone, except that a lease taken on this machine by a process that no longer exists
 * is dead at once. Runs from before leases (no host id) fall back to the process check.
 * Returns the ids marked.
 */
export function recoverInterrupted(
  db: Db,
  alive: (pid: number) => boolean = processAlive,
  at = Date.now() / 1000,
): number[] {
  const running = db
    .prepare(
      `SELECT r.id, r.host_id AS hostId, r.host_pid AS hostPid, l.machine, l.pid,
         l.renewed_at + l.ttl_s >= @at AS holds
       FROM runs r LEFT JOIN host_leases l ON l.id = r.host_id WHERE r.status = 'running'
       AND NOT EXISTS (SELECT 1 FROM cluster_jobs c WHERE c.run_id = r.id AND c.ended_at IS NULL)`,
    )
    .all({ at }) as {
    id: number;
    hostId: string | null;
    hostPid: number | null;
    machine: string | null;
    pid: number | null;
    holds: number | null;
  }[];
  // A lease of this machine whose process is gone is dead at once: a killed host has no
  // chance to release it, and waiting out its time to live would leave the run 'running'.
  const here = os.hostname();
  const goneHere = (pid: number | null) => pid !== null && pid !== process.pid && !alive(pid);
  const dead = running.filter((r) =>
    r.hostId !== null
      ? !r.holds || (r.machine === here && goneHere(r.pid))
      : r.hostPid === null || goneHere(r.hostPid),
  );
  transaction(db, () => {
    for (const r of dead) {
      const who =
        r.machine !== null
          ? `the workbench process on ${r.machine} (pid ${r.pid})`
          : `the workbench process (pid ${r.hostPid ?? '?'})`;
      finishRun(db, r.id, 'interrupted', {
        message: `${who} stopped while this run was running; resume it to continue from its last checkpoint`,
      });
    }
  });
  return dead.map((r) => r.id);
}

/** Newest value of each metric of a run. */
export function latestMetrics(db: Db, runId: number): Record<string, number> {
  const rows = db
    .prepare('SELECT key, value FROM latest_metrics WHERE run_id = ? ORDER BY key')
    .all(runId) as {
    key: string;
    value: number;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Best (lowest) value of each metric of a run, for errors and losses. */
export function bestMetrics(db: Db, runId: number): Record<string, number> {
  const rows = db
    .prepare('SELECT key, min_value AS value FROM latest_metrics WHERE run_id = ? ORDER BY key')
    .all(runId) as {
    key: string;
    value: number;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export function runParams(db: Db, runId: number): Record<string, string> {
  const rows = db
    .prepare('SELECT key, value FROM params WHERE run_id = ? ORDER BY key')
    .all(runId) as {
    key: string;
    value: string;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export interface EvaluationRow {
  id: number;
  epoch: number;
  step: number;
  split: 'train' | 'val';
  tenCrop: boolean;
  checkpoint: string | null;
  images: number;
  loss: number | null;
  top1Error: number;
  top5Error: number;
  perClassError: (number | null)[];
  perClassCount: number[];
  /** (true, predicted, count) triples, or null where only the best and last were kept. */
  confusion: number[] | null;
  createdAt: string;
}

const fromF32 = (b: Buffer) =>
  Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), (v) =>
    Number.isNaN(v) ? null : v,
  );
const fromI32 = (b: Buffer) =>
  Array.from(new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

export function runEvaluations(db: Db, runId: number): EvaluationRow[] {
  const rows = db
    .prepare(
      `SELECT id, epoch, step, split, ten_crop AS tenCrop, checkpoint, images, loss, top1_error AS top1Error,
       top5_error AS top5Error, per_class_error AS pce, per_class_count AS pcc, confusion, created_at AS createdAt
       FROM evaluations WHERE run_id = ? ORDER BY id`,
    )
    .all(runId) as (Omit<
    EvaluationRow,
    'perClassError' | 'perClassCount' | 'confusion' | 'tenCrop'
  > & {
    tenCrop: number;
    pce: Buffer;
    pcc: Buffer;
    confusion: Buffer | null;
  })[];
  return rows.map(({ pce, pcc, confusion, tenCrop, ...rest }) => ({
    ...rest,
    tenCrop: tenCrop === 1,
    perClassError: fromF32(pce),
    perClassCount: fromI32(pcc),
    confusion: confusion ? fromI32(confusion) : null,
  }));
}

export interface CheckpointRow {
  kind: 'last' | 'best';
  epoch: number;
  step: number;
  path: string;
  valTop1Error: number | null;
  createdAt: string;
}

export function runCheckpoints(db: Db, runId: number): CheckpointRow[] {
  return db
    .prepare(
      `SELECT kind, epoch, step, path, val_top1_error AS valTop1Error, created_at AS createdAt FROM checkpoints
       WHERE run_id = ? ORDER BY kind DESC`,
    )
    .all(runId) as CheckpointRow[];
}

export function runTags(db: Db, runId: number): Record<string, string> {
  const rows = db
    .prepare('SELECT key, value FROM tags WHERE run_id = ? ORDER BY key')
    .all(runId) as { key: string; value: string }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export function setTag(db: Db, runId: number, key: string, value: string | null): void {
  if (value === null) db.prepare('DELETE FROM tags WHERE run_id = ? AND key = ?').run(runId, key);
  else {
    db.prepare(
      'INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value',
    ).run(runId, key, value);
  }
}

export function addNote(db: Db, runId: number, text: string): void {
  db.prepare('INSERT INTO notes (run_id, text, created_at) VALUES (?, ?, ?)').run(
    runId,
    text,
    now(),
  );
}

export function runNotes(db: Db, runId: number): { text: string; createdAt: string }[] {
  return db
    .prepare('SELECT text, created_at AS createdAt FROM notes WHERE run_id = ? ORDER BY id')
    .all(runId) as {
    text: string;
    createdAt: string;
  }[];
}

export function runLogs(
  db: Db,
  runId: number,
  limit = 1000,
): { time: number; level: string; message: string }[] {
  return db
    .prepare(
      'SELECT time, level, message FROM run_logs WHERE run_id = ? ORDER BY rowid DESC LIMIT ?',
    )
    .all(runId, limit)
    .reverse() as { time: number; level: string; message: string }[];
}

export function deleteRun(db: Db, runId: number): boolean {
  return db.prepare('DELETE FROM runs WHERE id = ?').run(runId).changes > 0;
}
