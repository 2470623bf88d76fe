import type { CompareResult } from '../../../core/api/contract';

type ParamRow = CompareResult['params'][number];

/** Whether a param's values differ between the runs (a missing value counts as a value). */
export function paramDiffers(values: readonly (string | null)[]): boolean {
  return new Set(values).size > 1;
}

/** The param rows to show: all, or only those whose value is not the same in every run. */
export function visibleParams(rows: readonly ParamRow[], diffOnly: boolean): ParamRow[] {
  return diffOnly ? rows.filter((r) => r.differs) : [...rows];
}

/**
 * The comparison restricted to some of its runs, in their original order, without asking the
 * host again: columns are dropped and `differs` recomputed over the runs that are left.
 */
export function keepRuns(result: CompareResult, ids: readonly number[]): CompareResult {
  const keep = new Set(ids);
  const cols = result.runs.flatMap((r, i) => (keep.has(r.id) ? [i] : []));
  const pick = <T>(values: readonly T[]) => cols.map((i) => values[i]!);
  return {
    runs: pick(result.runs),
    params: result.params
      .map((p) => {
        const values = pick(p.values);
        return { key: p.key, values, differs: paramDiffers(values) };
      })
      .filter((p) => p.values.some((v) => v !== null)),
    metrics: result.metrics
      .map((m) => ({ key: m.key, values: pick(m.values) }))
      .filter((m) => m.values.some((v) => v !== null)),
  };
}

/** Metrics where more is better; every other tracked metric is an error, a loss or a rate. */
export function higherIsBetter(key: string): boolean {
  return /precision|accuracy|per_sec|throughput/i.test(key);
}

/** Metrics where one value can be called the best: errors, losses, precision. Not `lr`. */
export function isRanked(key: string): boolean {
  return /error|loss|precision|accuracy/i.test(key);
}

/** Column index of the best value of a metric row, or −1 when no run has one. */
export function bestIndex(key: string, values: readonly (number | null)[]): number {
  const up = higherIsBetter(key);
  let best = -1;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    const b = best < 0 ? null : values[best]!;
    if (b === null || (up ? v > b : v < b)) best = i;
  });
  return best;
}

/** A row of a compare table: its name, one cell per run, and the classes that mark them. */
export interface CompareRow {
  key: string;
  cells: { text: string; class?: Record<string, boolean> }[];
  class?: Record<string, boolean>;
}
