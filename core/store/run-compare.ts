import type { Db } from './db.js';

export type ParamValue = string | number | boolean | null;

/** A run's params with their types back: numbers as numbers, 'true'/'false' as booleans. */
export function typedParams(db: Db, runId: number): Record<string, ParamValue> {
  const rows = db
    .prepare('SELECT key, COALESCE(num, value) AS v FROM params WHERE run_id = ? ORDER BY key')
    .all(runId) as { key: string; v: ParamValue }[];
  // Booleans are stored as 'true'/'false' (no config string takes those values).
  const typed = (v: ParamValue) => (v === 'true' ? true : v === 'false' ? false : v);
  return Object.fromEntries(rows.map((r) => [r.key, typed(r.v)]));
}

export interface MetricRange {
  latest: number;
  min: number;
  max: number;
}

/** The newest, lowest and highest value of each metric of a run. */
export function metricRanges(db: Db, runId: number): Map<string, MetricRange> {
  const rows = db
    .prepare(
      'SELECT key, value AS latest, min_value AS min, max_value AS max FROM latest_metrics WHERE run_id = ?',
    )
    .all(runId) as ({ key: string } & MetricRange)[];
  return new Map(rows.map(({ key, ...range }) => [key, range]));
}

/** Which end of a metric is its best: lower errors and losses, higher throughput and precision. */
export function metricGoal(key: string): 'min' | 'max' | null {
  if (/error|loss/.test(key)) return 'min';
  if (/per_sec|accuracy|p_at_|precision/.test(key)) return 'max';
  return null;
}

/**
 * The best value of a metric: the lowest error or loss, the highest throughput, accuracy or
 * precision, and the newest value of anything else (a learning rate has no best).
 */
export function bestValue(key: string, range: MetricRange): number {
  const goal = metricGoal(key);
  return goal === 'min' ? range.min : goal === 'max' ? range.max : range.latest;
}

/** The filter field of a metric's best value: `metrics.val_top1_error.min`. */
export function bestField(key: string): string {
  const goal = metricGoal(key);
  return `metrics.${key}${goal ? `.${goal}` : ''}`;
}
