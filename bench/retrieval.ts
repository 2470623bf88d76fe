import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normsPath } from '../core/retrieval/gallery-norms.js';
import { FeatureIndex, recallAtK, writeFloat16Copy } from '../core/retrieval/search.js';
import { searchInThread } from '../core/retrieval/threaded-search.js';
import { NpyWriter } from '../core/util/npy.js';
import type { BenchResult } from './result.js';

const DIMS = 4096; // fc7
const K = 10;
const BATCH = 16;

/** Fast deterministic uniform [0, 1) (xorshift32): seedrandom would dominate writing 1.6 GB. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Post-ReLU-like rows: ~40% zeros, the rest uniform in (0, 1.4). */
function fill(out: Float32Array, rng: () => number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, rng() * 2 - 0.6);
  return out;
}

/** Streams a synthetic [rows, DIMS] float32 gallery to disk 1024 rows at a time. */
function writeGallery(file: string, rows: number, seed: number): void {
  const rng = xorshift(seed);
  const chunk = new Float32Array(1024 * DIMS);
  const writer = new NpyWriter(file, rows, DIMS);
  for (let done = 0; done < rows; done += 1024) {
    const n = Math.min(1024, rows - done);
    writer.append(fill(chunk.subarray(0, n * DIMS), rng));
  }
  writer.close();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A result whose msPerBatch is the median ms per query and imagesPerSec queries per second. */
function result(name: string, gallery: number, msPerQuery: number, extra = {}): BenchResult {
  return {
    name,
    backend: 'js',
    batch: gallery,
    imagesPerSec: round(1000 / msPerQuery),
    msPerBatch: round(msPerQuery),
    ...extra,
  };
}

async function timeMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Exact k-NN (k = 10) over synthetic fc7 galleries of 10k, 50k and 100k × 4096 float32 (10k only
 * when `quick`): open time without stored norms (one pass over the rows, as for a gallery built
 * before they were stored) and with them (as every index build now stores them), single-query
 * latency of an open index (median of 10, after a warm-up) for both metrics, a query as the app
 * and `svw search` run it (open with stored norms and search, on the search thread), batched
 * throughput with 16 queries per call, and for 10k the float16 copy's latency and recall@10
 * against float32. Galleries are written to a temp dir (1.6 GB at 100k), read warm from the
 * page cache, and deleted as soon as they are measured.
 */
export async function benchRetrieval(quick: boolean): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-knn-'));
  const results: BenchResult[] = [];
  const queries = fill(new Float32Array(BATCH * DIMS), xorshift(12345));
  const single = (i: number) => queries.subarray((i % BATCH) * DIMS, ((i % BATCH) + 1) * DIMS);
  const reps = quick ? 3 : 10;
  try {
    for (const rows of quick ? [10_000] : [10_000, 50_000, 100_000]) {
      const label = `${rows / 1000}k`;
      const file = path.join(dir, `gallery-${label}.npy`);
      writeGallery(file, rows, rows);
      const passMs = timeMs(() => FeatureIndex.open(file).close()); // stores the norms
      let index: FeatureIndex | undefined;
      const openMs = timeMs(() => (index = FeatureIndex.open(file)));
      const idx = index!;
      try {
        if (idx.norms !== 'stored') throw new Error('the norms were not stored');
        results.push({ ...result(`knn open (norm pass) ${label}`, rows, passMs), imagesPerSec: 0 });
        results.push({
          ...result(`knn open (stored norms) ${label}`, rows, openMs),
          imagesPerSec: 0,
        });
        for (const metric of ['euclidean', 'cosine'] as const) {
          idx.search(single(0), K, metric); // warm-up: JIT and page cache
          const times = Array.from({ length: reps }, (_, i) =>
            timeMs(() => idx.search(single(i), K, metric)),
          );
          results.push(result(`knn k=${K} ${metric} 1 query ${label}`, rows, median(times)));
        }
        await searchInThread(file, single(0), K, 'euclidean'); // warm-up: the thread starts
        const threaded: number[] = [];
        for (let i = 0; i < reps; i++)
          threaded.push(await timeMsAsync(() => searchInThread(file, single(i), K, 'euclidean')));
        results.push(
          result(
            `knn k=${K} euclidean 1 query ${label}, open + search on the thread`,
            rows,
            median(threaded),
          ),
        );
        const batchTimes = Array.from({ length: quick ? 1 : 3 }, () =>
          timeMs(() => idx.search(queries, K, 'euclidean')),
        );
        const perQuery = median(batchTimes) / BATCH;
        results.push(result(`knn k=${K} euclidean ${BATCH} queries ${label}`, rows, perQuery));

        if (rows === 10_000) {
          const halfFile = path.join(dir, `gallery-${label}-f16.npy`);
          writeFloat16Copy(file, halfFile);
          const half = FeatureIndex.open(halfFile);
          try {
            half.search(single(0), K, 'euclidean');
            const times = Array.from({ length: reps }, (_, i) =>
              timeMs(() => half.search(single(i), K, 'euclidean')),
            );
            const ids = (index: FeatureIndex) =>
              index.search(queries, K, 'euclidean').map((hits) => hits.map((h) => h.index));
            const recall = round(recallAtK(ids(idx), ids(half), K), 4);
            results.push(
              result(
                `knn k=${K} euclidean 1 query ${label} float16 (recall@${K} ${recall})`,
                rows,
                median(times),
                { recall },
              ),
            );
          } finally {
            half.close();
            rmSync(halfFile, { force: true });
            rmSync(normsPath(halfFile), { force: true });
          }
        }
      } finally {
        idx.close();
        rmSync(file, { force: true });
        rmSync(normsPath(file), { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
