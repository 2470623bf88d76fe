import type { SweepKind } from '../schema/sweep.js';
import type { Db } from './db.js';
import { ensureExperiment } from './runs.js';

/** Sweeps and ASHA's rung records (migration 0008). */

export interface SweepRow {
  id: number;
  name: string;
  kind: SweepKind;
  experiment: string;
  datasetId: number | null;
  dataset: string | null;
  preset: string;
  /** The request as JSON (a SweepSpec, or an ablation's spec). */
  spec: string;
  createdAt: string;
  cancelledAt: string | null;
}

export interface RungRow {
  rung: number;
  epoch: number;
  runId: number;
  value: number;
  cutoff: number;
  pruned: boolean;
  decidedAt: number;
}

const SELECT = `SELECT s.id, s.name, s.kind, e.name AS experiment, s.dataset_id AS datasetId,
  d.name AS dataset, s.preset, s.spec, s.created_at AS createdAt, s.cancelled_at AS cancelledAt
  FROM sweeps s JOIN experiments e ON e.id = s.experiment_id LEFT JOIN datasets d ON d.id = s.dataset_id`;

export function insertSweep(
  db: Db,
  sweep: {
    name: string;
    kind: SweepKind;
    experiment: string;
    datasetId: number;
    preset: string;
    spec: unknown;
  },
): number {
  const experimentId = ensureExperiment(db, sweep.experiment);
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO sweeps (name, kind, experiment_id, dataset_id, preset, spec, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      sweep.name,
      sweep.kind,
      experimentId,
      sweep.datasetId,
      sweep.preset,
      JSON.stringify(sweep.spec),
      new Date().toISOString(),
    );
  const id = Number(lastInsertRowid);
  if (!sweep.name) db.prepare('UPDATE sweeps SET name = ? WHERE id = ?').run(`sweep-${id}`, id);
  return id;
}

export function getSweep(db: Db, id: number): SweepRow | undefined {
  return db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as SweepRow | undefined;
}

/** Every sweep, newest first, with how many of its runs are in each status. */
export function listSweeps(
  db: Db,
  kind?: SweepKind,
): (SweepRow & { counts: Record<string, number> })[] {
  const rows = db
    .prepare(`${SELECT}${kind ? ' WHERE s.kind = ?' : ''} ORDER BY s.id DESC`)
    .all(...(kind ? [kind] : [])) as SweepRow[];
  const counts = db
    .prepare(
      'SELECT sweep_id AS id, status, COUNT(*) AS n FROM runs WHERE sweep_id IS NOT NULL GROUP BY sweep_id, status',
    )
    .all() as { id: number; status: string; n: number }[];
  return rows.map((s) => ({
    ...s,
    counts: Object.fromEntries(counts.filter((c) => c.id === s.id).map((c) => [c.status, c.n])),
  }));
}

/** The ids of a sweep's runs, in the order they were created. */
export function sweepRunIds(db: Db, sweepId: number): number[] {
  return db
    .prepare('SELECT id FROM runs WHERE sweep_id = ? ORDER BY id')
    .pluck()
    .all(sweepId) as number[];
}

export function markSweepCancelled(db: Db, sweepId: number): void {
  db.prepare('UPDATE sweeps SET cancelled_at = COALESCE(cancelled_at, ?) WHERE id = ?').run(
    new Date().toISOString(),
    sweepId,
  );
}

/** Every value recorded at a sweep's rungs, rung by rung, in the order they arrived. */
export function sweepRungs(db: Db, sweepId: number): RungRow[] {
  const rows = db
    .prepare(
      `SELECT rung, epoch, run_id AS runId, value, cutoff, pruned, decided_at AS decidedAt
       FROM sweep_rungs WHERE sweep_id = ? ORDER BY rung, decided_at, run_id`,
    )
    .all(sweepId) as (Omit<RungRow, 'pruned'> & { pruned: number })[];
  return rows.map((r) => ({ ...r, pruned: r.pruned === 1 }));
}

/** Records (or, for a run that redid the epoch after a resume, replaces) a rung decision. */
export function recordRung(db: Db, sweepId: number, row: Omit<RungRow, 'decidedAt'>): void {
  db.prepare(
    `INSERT INTO sweep_rungs (sweep_id, rung, epoch, run_id, value, cutoff, pruned, decided_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (sweep_id, rung, run_id) DO UPDATE SET epoch = excluded.epoch, value = excluded.value,
       cutoff = excluded.cutoff, pruned = excluded.pruned, decided_at = excluded.decided_at`,
  ).run(
    sweepId,
    row.rung,
    row.epoch,
    row.runId,
    row.value,
    row.cutoff,
    row.pruned ? 1 : 0,
    Date.now() / 1000,
  );
}
