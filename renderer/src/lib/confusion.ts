/** A dense confusion matrix built from the sparse (true, predicted, count) triples. */
export interface ConfusionMatrix {
  n: number;
  /** counts[t·n + p]: images of class t predicted as p. */
  counts: Float64Array;
  /** Images of each true class (the row sums). */
  rowTotals: Float64Array;
}

export interface Confusion {
  trueIdx: number;
  predIdx: number;
  count: number;
  /** count / images of the true class. */
  share: number;
}

/**
 * Expands the triples into an n×n matrix (8 MB for 1,000 classes, built once per evaluation).
 * Triples naming a class outside 0..n−1 are dropped rather than written past the end.
 */
export function buildConfusion(triples: readonly number[], n: number): ConfusionMatrix {
  const counts = new Float64Array(n * n);
  const rowTotals = new Float64Array(n);
  for (let i = 0; i + 2 < triples.length; i += 3) {
    const t = triples[i]!;
    const p = triples[i + 1]!;
    const c = triples[i + 2]!;
    if (t < 0 || t >= n || p < 0 || p >= n) continue;
    counts[t * n + p] = counts[t * n + p]! + c;
    rowTotals[t] = rowTotals[t]! + c;
  }
  return { n, counts, rowTotals };
}

/** Share of class t's images predicted as p; 0 for a class with no images. */
export function rowShare(m: ConfusionMatrix, t: number, p: number): number {
  const total = m.rowTotals[t]!;
  return total > 0 ? m.counts[t * m.n + p]! / total : 0;
}

/** Every row divided by its total, as a new n×n array (rows without images stay 0). */
export function rowNormalise(m: ConfusionMatrix): Float64Array {
  const out = new Float64Array(m.n * m.n);
  for (let t = 0; t < m.n; t++) {
    const total = m.rowTotals[t]!;
    if (total <= 0) continue;
    for (let p = 0; p < m.n; p++) out[t * m.n + p] = m.counts[t * m.n + p]! / total;
  }
  return out;
}

/**
 * The largest off-diagonal cells, most images first (then the larger share of their class). Reads
 * the dense matrix, so duplicate triples are already summed; a million cells scan in milliseconds.
 */
export function topConfusions(m: ConfusionMatrix, limit: number): Confusion[] {
  const found: Confusion[] = [];
  for (let t = 0; t < m.n; t++) {
    const total = m.rowTotals[t]!;
    if (total <= 0) continue;
    const row = t * m.n;
    for (let p = 0; p < m.n; p++) {
      const count = m.counts[row + p]!;
      if (p === t || count <= 0) continue;
      found.push({ trueIdx: t, predIdx: p, count, share: count / total });
    }
  }
  found.sort((a, b) => b.count - a.count || b.share - a.share || a.trueIdx - b.trueIdx);
  return found.slice(0, limit);
}
