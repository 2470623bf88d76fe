import type { MetricSeries } from '../../../core/api/contract';
import { lttb, type XY } from './lttb';
import { debiasedEma } from './smoothing';

export type XAxis = 'epoch' | 'step' | 'time';
export type MetricPoint = MetricSeries['points'][number];

export const X_AXIS_LABELS: Record<XAxis, string> = {
  epoch: 'epoch',
  step: 'step',
  time: 'wall time (min)',
};

/**
 * Series written once per training step. Only these are smoothed: epoch-level validation
 * numbers are few and already averages, and smoothing `lr` would blur the schedule's drops.
 */
export const STEP_LEVEL_KEYS: ReadonlySet<string> = new Set(['train_loss', 'train_top1_error']);

/** The earliest wall time of any point, the zero of the time axis. */
export function startTime(series: Iterable<readonly MetricPoint[]>): number {
  let t0 = Infinity;
  for (const points of series) for (const p of points) if (p.time < t0) t0 = p.time;
  return Number.isFinite(t0) ? t0 : 0;
}

/** Chart points of a series against the chosen axis; time in minutes since t0. */
export function toXY(points: readonly MetricPoint[], axis: XAxis, t0: number): XY[] {
  const out = new Array<XY>(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const x = axis === 'epoch' ? p.epoch : axis === 'step' ? p.step : (p.time - t0) / 60;
    out[i] = { x, y: p.value };
  }
  // Live points can arrive slightly out of order across a resume; Chart.js `normalized` needs order.
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.x < out[i - 1]!.x) return out.sort((a, b) => a.x - b.x);
  }
  return out;
}

export interface CurveOptions {
  axis: XAxis;
  t0: number;
  /** EMA weight 0..0.99, applied only when `smooth` is true. */
  smoothing: number;
  smooth: boolean;
  /** Largest number of points worth drawing: the chart's width in pixels. */
  maxPoints: number;
}

/** The raw curve and, when smoothing applies, its smoothed twin, each reduced with LTTB. */
export function buildCurve(
  points: readonly MetricPoint[],
  o: CurveOptions,
): { raw: readonly XY[]; smoothed: readonly XY[] | null } {
  const xy = toXY(points, o.axis, o.t0);
  const raw = lttb(xy, o.maxPoints);
  if (!o.smooth || o.smoothing <= 0) return { raw, smoothed: null };
  const ys = debiasedEma(
    xy.map((p) => p.y),
    o.smoothing,
  );
  const smoothed = lttb(
    xy.map((p, i) => ({ x: p.x, y: ys[i]! })),
    o.maxPoints,
  );
  return { raw, smoothed };
}

/** A pushed point: a metric point with the key of its series. */
export type KeyedPoint = MetricPoint & { key: string };

/**
 * Appends pushed points to their series in place. With `onlyNewer`, points the series already
 * reaches (same or earlier step and epoch) are skipped: those that arrived while the series was
 * being fetched may be in the fetched answer too.
 */
export function appendPoints(
  series: Record<string, MetricPoint[]>,
  points: readonly KeyedPoint[],
  onlyNewer: boolean,
): void {
  for (const { key, ...p } of points) {
    const list = (series[key] ??= []);
    const last = list[list.length - 1];
    if (onlyNewer && last && p.step <= last.step && p.epoch <= last.epoch) continue;
    list.push(p);
  }
}
