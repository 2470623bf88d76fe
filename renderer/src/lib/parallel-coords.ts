import type { RunColumn } from '../../../core/store/run-values';

/**
 * The parallel-coordinates model: each axis places every run at a height 0…1 (numeric axes
 * linearly or logarithmically, categories evenly), brushes select ranges of that height, and a
 * selection becomes the filter that picks the same runs. Typed arrays throughout, so a brush over
 * 10,000 runs is a few tight loops.
 */

export type AxisScale = 'linear' | 'log' | 'category';

export interface Axis {
  field: string;
  label: string;
  scale: AxisScale;
  /** Height of each run on the axis, 0 (bottom) … 1 (top); MISSING where it has no value. */
  pos: Float32Array;
  /** Numeric axes: the value of each run (NaN where missing). */
  values: Float64Array | null;
  /** Category axes: the categories bottom to top, and each run's index (−1 where missing). */
  categories: string[];
  codes: Int32Array | null;
  ticks: { pos: number; label: string }[];
  /** Whether a log scale is possible (every value above zero). */
  canLog: boolean;
}

/** Where runs without a value sit: just below the axis, so their lines still show. */
export const MISSING = -0.06;

/** A brushed stretch of an axis, in heights 0…1. */
export interface Brush {
  lo: number;
  hi: number;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** An axis over one column; `scale` may ask for log, which a column with values ≤ 0 refuses. */
export function buildAxis(column: RunColumn, scale: AxisScale, label = column.field): Axis {
  const n = column.values.length;
  const pos = new Float32Array(n).fill(MISSING);
  if (column.kind === 'category' || scale === 'category') {
    const categories = [...new Set(column.values.filter((v) => v !== null).map(String))].sort(
      (a, b) => a.localeCompare(b, 'en', { numeric: true }),
    );
    const index = new Map(categories.map((c, i) => [c, i]));
    const codes = new Int32Array(n).fill(-1);
    column.values.forEach((v, i) => {
      if (v === null) return;
      codes[i] = index.get(String(v))!;
      pos[i] = (codes[i]! + 0.5) / categories.length;
    });
    const ticks = categories.map((c, i) => ({ pos: (i + 0.5) / categories.length, label: c }));
    return {
      field: column.field,
      label,
      scale: 'category',
      pos,
      values: null,
      categories,
      codes,
      ticks,
      canLog: false,
    };
  }
  const values = new Float64Array(n).fill(NaN);
  let min = Infinity;
  let max = -Infinity;
  column.values.forEach((v, i) => {
    if (typeof v !== 'number') return;
    values[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  });
  const canLog = min > 0 && Number.isFinite(min);
  const log = scale === 'log' && canLog;
  const t = log ? Math.log10 : (v: number) => v;
  const [lo, hi] = Number.isFinite(min) ? [t(min), t(max)] : [0, 1];
  const span = hi - lo || 1;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) pos[i] = hi === lo ? 0.5 : (t(v) - lo) / span;
  }
  const ticks: Axis['ticks'] = [];
  if (Number.isFinite(min)) {
    const steps = hi === lo ? 0 : 4;
    for (let k = 0; k <= steps; k++) {
      const at = steps === 0 ? 0.5 : k / steps;
      const raw = lo + at * span;
      ticks.push({ pos: at, label: formatTick(log ? 10 ** raw : raw) });
    }
  }
  return {
    field: column.field,
    label,
    scale: log ? 'log' : 'linear',
    pos,
    values,
    categories: [],
    codes: null,
    ticks,
    canLog,
  };
}

/**
 * Which runs every brush keeps (1) or not (0). Runs without a value on a brushed axis are out,
 * as a filter comparison on a missing param is false.
 */
export function brushMask(
  axes: readonly Axis[],
  brushes: ReadonlyMap<string, Brush>,
  n: number,
): Uint8Array {
  const mask = new Uint8Array(n).fill(1);
  for (const axis of axes) {
    const brush = brushes.get(axis.field);
    if (!brush) continue;
    const { pos } = axis;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) continue;
      const p = pos[i]!;
      if (p < brush.lo || p > brush.hi || p === MISSING) mask[i] = 0;
    }
  }
  return mask;
}

export type AxisSelection =
  { field: string; min: number; max: number } | { field: string; values: (string | number)[] };

/**
 * The filter terms equal to the brushes: a numeric brush becomes the range from the lowest to
 * the highest value inside it (taken from the data, so no run between is left out or let in),
 * a category brush the categories inside it. A brush that holds no value selects nothing.
 */
export function brushSelections(
  axes: readonly Axis[],
  brushes: ReadonlyMap<string, Brush>,
): AxisSelection[] | null {
  const out: AxisSelection[] = [];
  for (const axis of axes) {
    const brush = brushes.get(axis.field);
    if (!brush) continue;
    if (axis.scale === 'category') {
      const values = axis.ticks
        .filter((t) => t.pos >= brush.lo && t.pos <= brush.hi)
        .map((t) => t.label);
      if (values.length === 0) return null;
      out.push({ field: axis.field, values });
      continue;
    }
    let min = Infinity;
    let max = -Infinity;
    axis.pos.forEach((p, i) => {
      if (p === MISSING || p < brush.lo || p > brush.hi) return;
      const v = axis.values![i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    });
    if (!Number.isFinite(min)) return null;
    out.push({ field: axis.field, min, max });
  }
  return out;
}

/** Viridis, sampled: dark purple for the low end, yellow for the high end. */
const PALETTE = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];
export const NO_COLOR = '#9aa3b5';

/**
 * Each run's colour bucket (an index into {@link colorBuckets}) by a numeric column; better
 * values are drawn yellow (`lowerIsBetter` flips the scale). −1: no value.
 */
export function colorIndex(
  values: readonly (number | string | null)[],
  lowerIsBetter: boolean,
): Int16Array {
  const nums = values.map((v) => (typeof v === 'number' ? v : NaN));
  const finite = nums.filter((v) => !Number.isNaN(v));
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const out = new Int16Array(nums.length).fill(-1);
  nums.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    let t = max === min ? 1 : (v - min) / (max - min);
    if (lowerIsBetter) t = 1 - t;
    out[i] = Math.min(PALETTE.length - 1, Math.floor(t * PALETTE.length));
  });
  return out;
}

export const colorBuckets = (): readonly string[] => PALETTE;
