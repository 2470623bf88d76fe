import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import seedrandom from 'seedrandom';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  candidatePairs,
  exactPairs,
  pixelSimilarity,
  THUMB,
} from '../../core/analysis/duplicates.js';
import { neighbourGraph, normalizeRows, sharedRows } from '../../core/analysis/knn-graph.js';
import { scoreLabelErrors, softmaxRows } from '../../core/analysis/label-errors.js';
import { pca } from '../../core/analysis/pca.js';
import { umapLayout } from '../../core/analysis/umap.js';
import { selectBackend } from '../../core/engine/backends.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** A seeded matrix of post-ReLU-like rows in a few clusters. */
function clustered(rows: number, dims: number, seed: string) {
  const rng = seedrandom.alea(seed);
  const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: dims }, () => rng()));
  const m = sharedRows(rows, dims);
  for (let r = 0; r < rows; r++)
    for (let d = 0; d < dims; d++)
      m.data[r * dims + d] = Math.max(0, centres[r % 4]![d]! + (rng() - 0.5) * 0.8);
  return m;
}

/** Brute-force neighbours of row q among `gallery` rows by cosine, best first. */
function bruteForce(m: ReturnType<typeof sharedRows>, q: number, gallery: number[], k: number) {
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let d = 0; d < m.dims; d++) s += m.data[a * m.dims + d]! * m.data[b * m.dims + d]!;
    return s;
  };
  return gallery
    .map((g, pos) => ({ pos, row: g, sim: dot(q, g) }))
    .filter((c) => c.row !== q)
    .sort((a, b) => b.sim - a.sim || a.pos - b.pos)
    .slice(0, k);
}

describe('the exact neighbour graph', () => {
  it('finds every row’s k most similar rows, with several threads and tiles, symmetric or not', async () => {
    const m = clustered(300, 48, 'graph');
    normalizeRows(m);
    const all = Array.from({ length: 300 }, (_, i) => i);
    const symmetric = await neighbourGraph(m, { k: 7, threads: 3, block: 64 });
    const gallery = all.filter((i) => i % 3 !== 0);
    const queries = all.filter((i) => i % 5 === 0);
    const asymmetric = await neighbourGraph(m, {
      k: 5,
      threads: 2,
      block: 50,
      queries: Int32Array.from(queries),
      gallery: Int32Array.from(gallery),
    });
    for (let q = 0; q < 300; q += 13) {
      const want = bruteForce(m, q, all, 7);
      expect(Array.from(symmetric.idx.subarray(q * 7, q * 7 + 7))).toEqual(want.map((w) => w.pos));
      want.forEach((w, j) => expect(symmetric.sims[q * 7 + j]).toBeCloseTo(w.sim, 5));
    }
    queries.forEach((q, qi) => {
      const want = bruteForce(m, q, gallery, 5).map((w) => w.pos);
      expect(Array.from(asymmetric.idx.subarray(qi * 5, qi * 5 + 5))).toEqual(want);
    });
  });

  it('never lists a row as its own neighbour, and stops at the rows there are', async () => {
    const m = clustered(4, 8, 'tiny');
    normalizeRows(m);
    const graph = await neighbourGraph(m, { k: 10 });
    expect(graph.k).toBe(3);
    for (let r = 0; r < 4; r++)
      expect(Array.from(graph.idx.subarray(r * 3, r * 3 + 3))).not.toContain(r);
  });
});

describe('PCA', () => {
  it('matches the eigenvectors of the covariance computed directly (ml-matrix), up to sign', () => {
    const rng = seedrandom.alea('pca');
    const n = 200;
    const d = 30;
    const x = new Float32Array(n * d);
    // Three strong directions and noise: a spectrum with clear gaps, as fc7 features have.
    for (let r = 0; r < n; r++)
      for (let i = 0; i < d; i++)
        x[r * d + i] = (i < 3 ? (4 - i) * Math.sin(r * (i + 1) * 0.7) : 0) + rng() * 0.3;
    const ours = pca(x, n, d, { blockRows: 37 });
    const X = new Matrix(n, d);
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) X.set(r, i, x[r * d + i]!);
    const mean = X.mean('column');
    const Xc = X.clone();
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) Xc.set(r, i, X.get(r, i) - mean[i]!);
    const evd = new EigenvalueDecomposition(
      Xc.transpose()
        .mmul(Xc)
        .div(n - 1),
      { assumeSymmetric: true },
    );
    const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    const total = evd.realEigenvalues.reduce((a, b) => a + b, 0);
    for (let j = 0; j < 2; j++) {
      const [value, col] = order[j]!;
      expect(ours.variance[j]).toBeCloseTo(value, 4);
      expect(ours.explained[j]).toBeCloseTo(value / total, 5);
      const vector = evd.eigenvectorMatrix.getColumn(col);
      const projected = Array.from({ length: n }, (_, r) =>
        Xc.getRow(r).reduce((s, v, i) => s + v * vector[i]!, 0),
      );
      const sign = Math.sign(projected.reduce((s, v, r) => s + v * ours.coords[r * 2 + j]!, 0));
      projected.forEach((v, r) => expect(ours.coords[r * 2 + j]!).toBeCloseTo(sign * v, 3));
    }
  });
});

describe('UMAP on the exact graph', () => {
  it('keeps the clusters apart: neighbours in the graph stay neighbours on the map', async () => {
    const m = clustered(240, 16, 'umap');
    const start = pca(m.data, 240, 16).coords;
    normalizeRows(m);
    const graph = await neighbourGraph(m, { k: 10 });
    const layout = umapLayout(graph, 240, { init: start, epochs: 60 });
    expect(layout.every(Number.isFinite)).toBe(true);
    // Each point's nearest point on the map is of its own cluster (r mod 4), almost always.
    let same = 0;
    for (let r = 0; r < 240; r++) {
      let best = -1;
      let bestD = Infinity;
      for (let o = 0; o < 240; o++) {
        if (o === r) continue;
        const dist =
          (layout[2 * r]! - layout[2 * o]!) ** 2 + (layout[2 * r + 1]! - layout[2 * o + 1]!) ** 2;
        if (dist < bestD) [best, bestD] = [o, dist];
      }
      if (best % 4 === r % 4) same++;
    }
    expect(same / 240).toBeGreaterThan(0.9);
  });
});

describe('label-error scores', () => {
  it('combine neighbours with another label and the softmax of another class', () => {
    // Row 0 is labelled 0 but its neighbours are 1s and the network says 1; row 1 agrees with all.
    const graph = { k: 2, idx: Int32Array.from([1, 2, 2, 0, 1, 0]), sims: new Float32Array(6) };
    const probs = softmaxRows(Float32Array.from([0, 3, 3, 0, 0, 3]), 2);
    const ranked = scoreLabelErrors({
      graph,
      labels: Int32Array.from([0, 1, 1]),
      galleryLabels: Int32Array.from([0, 1, 1]),
      probs,
      classes: 2,
    });
    expect(ranked[0]).toMatchObject({
      row: 0,
      label: 0,
      suggested: 1,
      neighbourDisagreement: 1,
      neighbours: [1, 2],
    });
    expect(ranked[0]!.score).toBeCloseTo((1 + probs[1]!) / 2, 6);
    const row2 = ranked.find((c) => c.row === 2)!;
    expect(row2.neighbourDisagreement).toBe(0.5);
    expect(row2.score).toBeLessThan(ranked[0]!.score);
  });
});

describe('duplicate helpers', () => {
  it('pair images with equal hashes to the first of their group', () => {
    expect(exactPairs([10, 11, 12, 13], ['a', 'b', 'a', 'a'])).toEqual([
      [10, 12],
      [10, 13],
    ]);
  });

  it('find a mirrored thumbnail as similar as an identical one', () => {
    const rng = seedrandom.alea('thumb');
    const unit = (v: Float32Array) => {
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const norm = Math.hypot(...v.map((x) => x - mean));
      return v.map((x) => (x - mean) / norm);
    };
    const a = unit(Float32Array.from({ length: THUMB * THUMB }, () => rng()));
    const mirrored = a.map((_, i) => a[Math.floor(i / THUMB) * THUMB + THUMB - 1 - (i % THUMB)]!);
    const other = unit(Float32Array.from({ length: a.length }, () => rng()));
    expect(pixelSimilarity(a, a)).toBeCloseTo(1, 5);
    expect(pixelSimilarity(a, mirrored)).toBeCloseTo(1, 5);
    expect(pixelSimilarity(a, other)).toBeLessThan(0.2);
  });

  it('propose each pair above the threshold once, most similar first', () => {
    const graph = {
      k: 2,
      idx: Int32Array.from([1, 2, 0, 2, 0, 1]),
      sims: Float32Array.from([0.99, 0.5, 0.99, 0.95, 0.5, 0.95]),
    };
    expect(candidatePairs(graph, 3, 0.9)).toEqual([
      { a: 0, b: 1, similarity: expect.closeTo(0.99, 6) },
      { a: 1, b: 2, similarity: expect.closeTo(0.95, 6) },
    ]);
  });
});
