/**
 * UMAP layouts with umap-js, fed our exact neighbour graph (umap-js's own neighbour search is an
 * approximate NN-descent over JavaScript arrays, far too slow at 4096 dimensions) and started
 * from the PCA coordinates instead of uniform noise, which keeps the global arrangement stable
 * from one run to the next. Seeded, so the same graph gives the same map.
 */
import seedrandom from 'seedrandom';
import { UMAP } from 'umap-js';
import type { NeighbourGraph } from './knn-graph.js';

export interface UmapOptions {
  /** Starting coordinates [n, 2], e.g. PCA's. */
  init?: Float32Array;
  epochs?: number;
  minDist?: number;
  seed?: string;
  onEpoch?: (epoch: number, epochs: number) => void;
}

/**
 * A 2-D UMAP embedding [n, 2] of the n rows whose symmetric neighbour graph (cosine
 * similarities, rows' own positions as neighbours) is given.
 */
export function umapLayout(
  graph: NeighbourGraph,
  n: number,
  options: UmapOptions = {},
): Float32Array {
  const k = graph.k;
  if (n <= k + 1) throw new Error(`UMAP needs more than ${k + 1} points, got ${n}`);
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let r = 0; r < n; r++) {
    // umap-js expects each point first in its own list at distance 0, as its own search returns.
    const row = [r];
    const dist = [0];
    for (let j = 0; j < k; j++) {
      const at = graph.idx[r * k + j]!;
      if (at < 0) continue;
      row.push(at);
      dist.push(Math.max(0, 1 - graph.sims[r * k + j]!));
    }
    indices.push(row);
    distances.push(dist);
  }
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: k + 1,
    minDist: options.minDist ?? 0.1,
    nEpochs: options.epochs,
    random: seedrandom.alea(options.seed ?? 'svw-umap'),
  });
  umap.setPrecomputedKNN(indices, distances);
  // With the neighbours given, umap-js reads only the number of points from its input.
  const epochs = umap.initializeFit(Array.from({ length: n }, () => []));
  if (options.init) placeStart(umap.getEmbedding(), options.init);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    options.onEpoch?.(e + 1, epochs);
  }
  const out = new Float32Array(n * 2);
  umap.getEmbedding().forEach((p, i) => {
    out[2 * i] = p[0]!;
    out[2 * i + 1] = p[1]!;
  });
  return out;
}

/**
 * Writes the starting layout into umap-js's embedding (the arrays its optimiser moves), scaled
 * to the ±10 box its own random start uses.
 */
function placeStart(embedding: number[][], init: Float32Array): void {
  let max = 0;
  for (const v of init) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? 10 / max : 0;
  embedding.forEach((p, i) => {
    p[0] = init[2 * i]! * scale;
    p[1] = init[2 * i + 1]! * scale;
  });
}
