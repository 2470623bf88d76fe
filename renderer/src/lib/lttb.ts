/** A chart point as Chart.js takes it with `parsing: false`. */
export interface XY {
  x: number;
  y: number;
}

/**
 * Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013): keeps the first and last
 * points and, from each of `threshold − 2` equal buckets between them, the point that forms the
 * largest triangle with the point kept before it and the mean of the next bucket. Unlike taking
 * every k-th point it keeps spikes, which is what a loss curve's reader is looking for.
 *
 * Points must be sorted by x. Returns the input itself when it is already small enough.
 */
export function lttb(points: readonly XY[], threshold: number): readonly XY[] {
  const n = points.length;
  const target = Math.floor(threshold);
  if (target >= n || n <= 2) return points;
  if (target < 3) return [points[0]!, points[n - 1]!].slice(0, Math.max(target, 1));

  const out: XY[] = [points[0]!];
  const bucket = (n - 2) / (target - 2);
  let a = 0;
  for (let i = 0; i < target - 2; i++) {
    // The average of the next bucket is the triangle's third corner.
    const nextStart = Math.floor((i + 1) * bucket) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * bucket) + 1, n);
    let avgX = 0;
    let avgY = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += points[j]!.x;
      avgY += points[j]!.y;
    }
    const count = nextEnd - nextStart || 1;
    avgX /= count;
    avgY /= count;

    const start = Math.floor(i * bucket) + 1;
    const end = Math.floor((i + 1) * bucket) + 1;
    const pa = points[a]!;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const p = points[j]!;
      const area = Math.abs((pa.x - avgX) * (p.y - pa.y) - (pa.x - p.x) * (avgY - pa.y));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]!);
    a = best;
  }
  out.push(points[n - 1]!);
  return out;
}
