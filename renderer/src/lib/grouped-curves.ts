import type { XY } from './lttb';

/**
 * Runs grouped by some of their params (everything but the seed, say), each group drawn as its
 * mean curve with a band: ± one standard deviation, or the min–max envelope. Curves are put on
 * one grid of x values (their own x values when there are few, as with per-epoch metrics;
 * evenly spaced ones otherwise) and each is interpolated there, never extrapolated past its
 * own ends.
 */

export type Band = 'std' | 'minmax';

export interface GroupMember {
  id: number;
  /** The run's value of every param, as the comparison lists them. */
  params: Readonly<Record<string, string | null>>;
}

export interface RunGroup {
  /** `lr=0.01 batch=64`, or `all runs` when grouping by nothing that differs. */
  label: string;
  ids: number[];
}

/** Groups runs by the values of `keys`, in the order the groups first appear. */
export function groupRuns(runs: readonly GroupMember[], keys: readonly string[]): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const run of runs) {
    const label = keys
      .map((k) => `${k.replace(/^(model|optim|data)\./, '')}=${run.params[k] ?? '—'}`)
      .join(' ');
    const group = groups.get(label);
    if (group) group.ids.push(run.id);
    else groups.set(label, { label: label || 'all runs', ids: [run.id] });
  }
  return [...groups.values()];
}

/** y of a sorted curve at x by linear interpolation; NaN outside the curve. */
function at(curve: readonly XY[], x: number, hint: { i: number }): number {
  if (curve.length === 0 || x < curve[0]!.x || x > curve[curve.length - 1]!.x) return NaN;
  let i = hint.i;
  while (i + 1 < curve.length && curve[i + 1]!.x < x) i++;
  hint.i = i;
  const a = curve[i]!;
  const b = curve[Math.min(i + 1, curve.length - 1)]!;
  if (b.x === a.x || x <= a.x) return a.y;
  return a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
}

function grid(curves: readonly (readonly XY[])[], maxPoints: number): number[] {
  const xs = [...new Set(curves.flatMap((c) => c.map((p) => p.x)))].sort((a, b) => a - b);
  if (xs.length <= maxPoints) return xs;
  const [lo, hi] = [xs[0]!, xs[xs.length - 1]!];
  return Array.from({ length: maxPoints }, (_, i) => lo + ((hi - lo) * i) / (maxPoints - 1));
}

export interface GroupSeries {
  mean: XY[];
  lower: XY[];
  upper: XY[];
}

/** A group's mean and band over the grid (sample standard deviation; 0 where one run covers x). */
export function bandOf(
  curves: readonly (readonly XY[])[],
  band: Band,
  maxPoints: number,
): GroupSeries {
  const out: GroupSeries = { mean: [], lower: [], upper: [] };
  const sorted = curves.filter((c) => c.length > 0).map((c) => [...c].sort((a, b) => a.x - b.x));
  const hints = sorted.map(() => ({ i: 0 }));
  for (const x of grid(sorted, maxPoints)) {
    const ys = sorted.map((c, k) => at(c, x, hints[k]!)).filter((y) => !Number.isNaN(y));
    if (ys.length === 0) continue;
    const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
    let lo: number;
    let hi: number;
    if (band === 'minmax') {
      lo = Math.min(...ys);
      hi = Math.max(...ys);
    } else {
      const sd =
        ys.length > 1
          ? Math.sqrt(ys.reduce((s, y) => s + (y - mean) ** 2, 0) / (ys.length - 1))
          : 0;
      lo = mean - sd;
      hi = mean + sd;
    }
    out.mean.push({ x, y: mean });
    out.lower.push({ x, y: lo });
    out.upper.push({ x, y: hi });
  }
  return out;
}
