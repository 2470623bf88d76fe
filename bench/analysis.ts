import os from 'node:os';
import { neighbourGraph, normalizeRows, sharedRows } from '../core/analysis/knn-graph.js';
import { umapLayout } from '../core/analysis/umap.js';
import { benchMapDrawing } from './map-drawing.js';
import type { BenchResult } from './result.js';

const DIMS = 4096; // fc7 of alexnet-paper
const NEIGHBOURS = 15; // UMAP's default

/** Deterministic uniform [0, 1) (xorshift32), fast enough to fill 800 MB. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * A gallery shaped like fc7 features: 10 classes of post-ReLU rows (about 40% zeros) around their
 * class centres, so neighbours mean something and UMAP has structure to find.
 */
function syntheticGallery(rows: number) {
  const rng = xorshift(17);
  const centres = Array.from({ length: 10 }, () =>
    Float32Array.from({ length: DIMS }, () => rng() * 2 - 0.6),
  );
  const m = sharedRows(rows, DIMS);
  for (let r = 0; r < rows; r++) {
    const c = centres[r % 10]!;
    const o = r * DIMS;
    for (let d = 0; d < DIMS; d++) m.data[o + d] = Math.max(0, c[d]! + rng() * 1.2 - 0.6);
  }
  return m;
}

/**
 * The analysis cases: the exact all-pairs top-k neighbour graph of a 50,000 × 4096 gallery on
 * every core, UMAP of its 50,000 points, and the map drawing 100,000 points in Chromium.
 */
export async function benchAnalysis(quick: boolean): Promise<BenchResult[]> {
  const rows = quick ? 10_000 : 50_000;
  const gallery = syntheticGallery(rows);
  normalizeRows(gallery);
  const threads = os.availableParallelism();
  process.stderr.write(`  neighbour graph of ${rows} × ${DIMS} on ${threads} threads…\n`);
  let started = performance.now();
  const graph = await neighbourGraph(gallery, { k: NEIGHBOURS, threads });
  const graphMs = performance.now() - started;
  // Tiles on and above the diagonal: half the N² products, each of D multiply-adds.
  const gmac = (rows * rows * DIMS) / 2 / 1e9;
  process.stderr.write(
    `  ${(gmac / (graphMs / 1000)).toFixed(1)} GMAC/s; UMAP of ${rows} points…\n`,
  );
  started = performance.now();
  umapLayout(graph, rows);
  const umapMs = performance.now() - started;
  const results: BenchResult[] = [
    {
      name: `exact top-${NEIGHBOURS} graph, ${rows} × ${DIMS}`,
      backend: 'wasm threads',
      batch: rows,
      imagesPerSec: Math.round(rows / (graphMs / 1000)),
      msPerBatch: Math.round(graphMs),
      threads,
      gmacPerSec: Math.round((gmac / (graphMs / 1000)) * 10) / 10,
    },
    {
      name: `UMAP (umap-js) of ${rows} points, given the graph`,
      backend: 'umap-js',
      batch: rows,
      imagesPerSec: Math.round(rows / (umapMs / 1000)),
      msPerBatch: Math.round(umapMs),
    },
  ];
  process.stderr.write('  drawing the map of 100,000 points in headless Chromium…\n');
  results.push(...(await benchMapDrawing(100_000, quick)));
  return results;
}
