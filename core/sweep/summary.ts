import { formatField } from '../filter/format.js';
import { sweepSpecSchema, type SweepKind } from '../schema/sweep.js';
import type { Db } from '../store/db.js';
import { bestField, metricGoal } from '../store/run-compare.js';
import { runColumns } from '../store/run-values.js';
import { getSweep, listSweeps, sweepRungs, sweepRunIds, type RungRow } from '../store/sweeps.js';
import { NotFoundError } from '../util/errors.js';
import { quantile, rungEpochs } from './asha.js';
import { paramKey } from './space.js';

/** A sweep as its page shows it: its runs, ASHA's rungs, and the best run so far. */

export interface SweepRunEntry {
  id: number;
  name: string;
  trial: string | null;
  status: string;
  /** Why it failed or was pruned. */
  error: string | null;
  epochsDone: number;
  epochsTotal: number;
  /** The swept settings' values, by the key the sweep names them with. */
  values: Record<string, string | number | null>;
  /** The run's best value of the sweep's metric so far. */
  metric: number | null;
}

export interface SweepRung {
  rung: number;
  epoch: number;
  /** Every value recorded here, in the order the runs arrived. */
  entries: Omit<RungRow, 'rung' | 'epoch'>[];
  /** What the next run to arrive must beat (the 1/η quantile of the values so far). */
  cutoff: number | null;
}

export interface SweepSummary {
  id: number;
  name: string;
  kind: SweepKind;
  experiment: string;
  dataset: string | null;
  preset: string;
  createdAt: string;
  cancelled: boolean;
  /** Runs by status. */
  counts: Record<string, number>;
  /** queued or running runs left: the sweep is still going. */
  active: boolean;
}

export interface SweepDetail extends SweepSummary {
  spec: unknown;
  metric: string;
  mode: 'min' | 'max';
  runs: SweepRunEntry[];
  rungs: SweepRung[];
  best: { runId: number; value: number } | null;
}

const summarize = (row: ReturnType<typeof listSweeps>[number]): SweepSummary => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  experiment: row.experiment,
  dataset: row.dataset,
  preset: row.preset,
  createdAt: row.createdAt,
  cancelled: row.cancelledAt !== null,
  counts: row.counts,
  active: (row.counts.queued ?? 0) + (row.counts.running ?? 0) > 0,
});

export function sweepSummaries(db: Db): SweepSummary[] {
  return listSweeps(db).map(summarize);
}

export function sweepDetail(db: Db, id: number): SweepDetail {
  const row = listSweeps(db).find((s) => s.id === id) ?? null;
  const sweep = getSweep(db, id);
  if (!row || !sweep) throw new NotFoundError(`no sweep ${id}`, 'svw sweep list shows the sweeps');
  const spec = JSON.parse(sweep.spec) as unknown;
  const parsed = sweepSpecSchema.safeParse(spec);
  const asha = parsed.success ? parsed.data.asha : null;
  const metric = asha?.metric ?? 'val_top1_error';
  const mode = asha?.mode ?? (metricGoal(metric) === 'max' ? 'max' : 'min');
  const swept = parsed.success ? Object.keys(parsed.data.space) : [];
  const ids = sweepRunIds(db, id);
  const runs = db
    .prepare(
      `SELECT id, name, sweep_trial AS trial, status, error, epochs_done AS epochsDone,
       epochs_total AS epochsTotal FROM runs WHERE sweep_id = ? ORDER BY id`,
    )
    .all(id) as Omit<SweepRunEntry, 'values' | 'metric'>[];
  const columns = runColumns(db, ids, [
    bestField(metric),
    ...swept.map((key) => formatField({ scope: 'params', name: paramKey(key) })),
  ]);
  const entries: SweepRunEntry[] = runs.map((r, i) => ({
    ...r,
    metric: columns[0]!.values[i] as number | null,
    values: Object.fromEntries(swept.map((key, k) => [key, columns[k + 1]!.values[i] ?? null])),
  }));
  const better = (a: number, b: number) => (mode === 'min' ? a < b : a > b);
  let best: SweepDetail['best'] = null;
  for (const e of entries)
    if (e.metric !== null && (!best || better(e.metric, best.value)))
      best = { runId: e.id, value: e.metric };
  const recorded = sweepRungs(db, id);
  const rungs: SweepRung[] = asha
    ? rungEpochs(asha).map((epoch, rung) => {
        const here = recorded.filter((r) => r.rung === rung);
        const values = here.map((r) => r.value);
        const keep = 1 / asha.eta;
        return {
          rung,
          epoch,
          entries: here.map(({ runId, value, cutoff, pruned, decidedAt }) => ({
            runId,
            value,
            cutoff,
            pruned,
            decidedAt,
          })),
          cutoff: values.length ? quantile(values, mode === 'min' ? keep : 1 - keep) : null,
        };
      })
    : [];
  return { ...summarize(row), spec, metric, mode, runs: entries, rungs, best };
}
