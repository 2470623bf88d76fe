/**
 * The k most similar neighbours of many rows at once, in flat arrays: row r owns slots
 * [r·k, r·k + k) of `sims` and `idx`, kept as a min-heap on similarity (the weakest neighbour at
 * the root), so a worse candidate is turned away with one comparison.
 */
export class TopKRows {
  readonly sims: Float32Array;
  readonly idx: Int32Array;
  readonly counts: Int32Array;

  constructor(
    readonly rows: number,
    readonly k: number,
  ) {
    this.sims = new Float32Array(rows * k);
    this.idx = new Int32Array(rows * k);
    this.counts = new Int32Array(rows);
  }

  /** Is (sa, ia) a weaker neighbour than (sb, ib)? Equal similarities rank the lower index first. */
  private static weaker(sa: number, ia: number, sb: number, ib: number): boolean {
    return sa < sb || (sa === sb && ia > ib);
  }

  /** Offers neighbour `index` with similarity `sim` to row `row`; NaN is never kept. */
  offer(row: number, sim: number, index: number): void {
    if (!(sim === sim)) return;
    const { k, sims, idx } = this;
    const base = row * k;
    const n = this.counts[row]!;
    let i: number;
    if (n < k) {
      i = n;
      this.counts[row] = n + 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopKRows.weaker(sim, index, sims[base + p]!, idx[base + p]!)) break;
        sims[base + i] = sims[base + p]!;
        idx[base + i] = idx[base + p]!;
        i = p;
      }
    } else {
      if (!TopKRows.weaker(sims[base]!, idx[base]!, sim, index)) return;
      i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= k) break;
        if (
          c + 1 < k &&
          TopKRows.weaker(sims[base + c + 1]!, idx[base + c + 1]!, sims[base + c]!, idx[base + c]!)
        )
          c++;
        if (!TopKRows.weaker(sims[base + c]!, idx[base + c]!, sim, index)) break;
        sims[base + i] = sims[base + c]!;
        idx[base + i] = idx[base + c]!;
        i = c;
      }
    }
    sims[base + i] = sim;
    idx[base + i] = index;
  }

  /** Folds another set of heaps over the same rows into this one. */
  merge(other: { sims: Float32Array; idx: Int32Array; counts: Int32Array }): void {
    for (let r = 0; r < this.rows; r++) {
      const base = r * this.k;
      for (let j = 0; j < other.counts[r]!; j++)
        this.offer(r, other.sims[base + j]!, other.idx[base + j]!);
    }
  }

  /** Row r's neighbours, most similar first (ties by index). */
  sorted(r: number): { index: number; sim: number }[] {
    const base = r * this.k;
    const out = [];
    for (let j = 0; j < this.counts[r]!; j++)
      out.push({ index: this.idx[base + j]!, sim: this.sims[base + j]! });
    return out.sort((a, b) => b.sim - a.sim || a.index - b.index);
  }
}
