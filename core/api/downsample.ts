/**
 * Reduces a series to at most `maxPoints` points for a chart: the points are cut into
 * ⌊maxPoints / 2⌋ buckets of consecutive points, and each bucket keeps its lowest and its highest
 * point (in their original order), so a spike or a dip survives however long the run.
 * A series that already fits is returned whole.
 */
export function downsampleMinMax<P>(
  points: readonly P[],
  maxPoints: number,
  value: (point: P) => number,
): P[] {
  if (points.length <= maxPoints) return [...points];
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const out: P[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * points.length) / buckets);
    const end = Math.floor(((b + 1) * points.length) / buckets);
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      const v = value(points[i]!);
      // NaN compares false both ways, so a NaN point is never chosen over a number.
      if (v < value(points[lo]!)) lo = i;
      if (v > value(points[hi]!)) hi = i;
    }
    if (lo === hi) out.push(points[lo]!);
    else out.push(points[Math.min(lo, hi)]!, points[Math.max(lo, hi)]!);
  }
  return out;
}
