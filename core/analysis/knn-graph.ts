/**
 * The exact k-nearest-neighbour graph of a gallery by cosine similarity: every pair of rows is
 * compared (no approximate index), in tiles of `block` × `block` rows, as matrix products of
 * unit rows on one worker thread per core. The matrix lives once in shared memory; each thread
 * keeps its own top-k heaps and the caller merges them. A graph of a set with itself is
 * symmetric, so only tiles on and above the diagonal are computed, each serving both ways.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerThreadPath } from '../util/module-path.js';
import { TopKRows } from './top-k.js';

export interface GraphThreadData {
  data: SharedArrayBuffer;
  dims: number;
  queries: SharedArrayBuffer;
  /** Gallery rows, or null for the queries' graph with themselves. */
  gallery: SharedArrayBuffer | null;
  k: number;
  block: number;
  /** Tiles as (query block, gallery block) pairs, and the shared counter threads take them by. */
  tiles: SharedArrayBuffer;
  next: SharedArrayBuffer;
}

export type GraphThreadReply =
  | { type: 'tile' }
  | { type: 'done'; sims: Float32Array; idx: Int32Array; counts: Int32Array }
  | { type: 'error'; message: string };

/** A matrix of unit rows [rows, dims] in shared memory, for the threads to read without copies. */
export interface SharedRows {
  data: Float32Array;
  rows: number;
  dims: number;
}

/** Allocates a shared [rows, dims] float32 matrix. */
export function sharedRows(rows: number, dims: number): SharedRows {
  return { data: new Float32Array(new SharedArrayBuffer(rows * dims * 4)), rows, dims };
}

/** Scales every row to length 1 (a zero row stays zero: it is similar to nothing, 0). */
export function normalizeRows(m: SharedRows): void {
  const { data, rows, dims } = m;
  for (let r = 0; r < rows; r++) {
    const o = r * dims;
    let sum = 0;
    for (let d = 0; d < dims; d++) sum += data[o + d]! * data[o + d]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let d = 0; d < dims; d++) data[o + d]! *= scale;
  }
}

export interface GraphOptions {
  /** Rows of the matrix to find neighbours for (all of them when omitted). */
  queries?: Int32Array;
  /** Rows to find them among; the queries themselves when omitted (a symmetric graph). */
  gallery?: Int32Array;
  k: number;
  /** Worker threads (default: one per core, at most one per tile). */
  threads?: number;
  /** Rows per tile side (default 1024: two 16 MB blocks at D = 4096). */
  block?: number;
  onProgress?: (tilesDone: number, tiles: number) => void;
}

/** Neighbours of each query row, most similar first: positions in the gallery list, and cosines. */
export interface NeighbourGraph {
  k: number;
  /** [queries, k] positions in the gallery list (-1 where fewer than k exist). */
  idx: Int32Array;
  /** [queries, k] cosine similarities, descending per row. */
  sims: Float32Array;
}

function shareInts(values: Int32Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(values.length * 4);
  new Int32Array(buffer).set(values);
  return buffer;
}

/** The graph of a matrix of unit rows (see {@link normalizeRows}); the row itself is never its own neighbour. */
export async function neighbourGraph(
  m: SharedRows,
  options: GraphOptions,
): Promise<NeighbourGraph> {
  if (!(m.data.buffer instanceof SharedArrayBuffer))
    throw new Error('the matrix must be in shared memory');
  const queries = options.queries ?? Int32Array.from({ length: m.rows }, (_, i) => i);
  const symmetric = options.gallery === undefined;
  const galleryCount = symmetric ? queries.length : options.gallery!.length;
  const k = Math.min(options.k, Math.max(0, galleryCount - (symmetric ? 1 : 0)));
  const block = options.block ?? 1024;
  const qBlocks = Math.ceil(queries.length / block);
  const gBlocks = Math.ceil(galleryCount / block);
  const pairs: number[] = [];
  for (let a = 0; a < qBlocks; a++)
    for (let b = symmetric ? a : 0; b < gBlocks; b++) pairs.push(a, b);
  const tiles = pairs.length / 2;
  const merged = new TopKRows(queries.length, Math.max(k, 1));
  if (k > 0 && tiles > 0) {
    const threadCount = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), tiles));
    const shared: GraphThreadData = {
      data: m.data.buffer,
      dims: m.dims,
      queries: shareInts(queries),
      gallery: symmetric ? null : shareInts(options.gallery!),
      k,
      block,
      tiles: shareInts(Int32Array.from(pairs)),
      next: new SharedArrayBuffer(4),
    };
    let done = 0;
    await Promise.all(
      Array.from({ length: threadCount }, () =>
        runThread(shared, (reply) => {
          if (reply.type === 'tile') options.onProgress?.(++done, tiles);
          else if (reply.type === 'done') merged.merge(reply);
        }),
      ),
    );
  }
  const idx = new Int32Array(queries.length * k).fill(-1);
  const sims = new Float32Array(queries.length * k);
  for (let r = 0; r < queries.length; r++) {
    merged.sorted(r).forEach((n, j) => {
      idx[r * k + j] = n.index;
      sims[r * k + j] = n.sim;
    });
  }
  return { k, idx, sims };
}

function runThread(
  data: GraphThreadData,
  onReply: (reply: GraphThreadReply) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerThreadPath(import.meta.url, './knn-thread.js'), {
      workerData: data,
    });
    let finished = false;
    let failed: Error | null = null;
    worker.on('message', (reply: GraphThreadReply) => {
      if (reply.type === 'error')
        failed = new Error(`neighbour graph thread failed: ${reply.message}`);
      else onReply(reply);
      if (reply.type === 'done') finished = true;
      if (reply.type !== 'tile') void worker.terminate();
    });
    worker.on('error', (err) => (failed = err));
    worker.on('exit', (code) => {
      if (finished && !failed) resolve();
      else reject(failed ?? new Error(`neighbour graph thread exited with code ${code}`));
    });
  });
}
