/**
 * A worker thread of the neighbour graph (knn-graph.ts): takes tiles (a block of query rows ×
 * a block of gallery rows) from a shared counter until none are left, multiplies each on its own
 * wasm engine (XNNPACK, single-threaded, so one thread per core), and keeps the best k of every
 * query row it saw. Its heaps go back to the caller, which merges those of every thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../engine/wasm-kernels.js';
import { TopKRows } from './top-k.js';
import type { GraphThreadData, GraphThreadReply } from './knn-graph.js';

const job = workerData as GraphThreadData;
const data = new Float32Array(job.data);
const queries = new Int32Array(job.queries);
const gallery = job.gallery ? new Int32Array(job.gallery) : queries;
const tiles = new Int32Array(job.tiles);
const next = new Int32Array(job.next);
const D = job.dims;

/** Rows [start, end) of a row list, as one contiguous [n, D] block. */
function gather(rows: Int32Array, start: number, end: number): Float32Array {
  const first = rows[start]!;
  // A run of consecutive rows is a view of the shared matrix: no copy.
  if (rows[end - 1]! - first === end - 1 - start)
    return data.subarray(first * D, (rows[end - 1]! + 1) * D);
  const out = new Float32Array((end - start) * D);
  for (let i = start; i < end; i++)
    out.set(data.subarray(rows[i]! * D, rows[i]! * D + D), (i - start) * D);
  return out;
}

async function main(): Promise<void> {
  // The workbench's wasm kernels: with them a product with a transposed operand is as fast as one
  // without (XNNPACK's own is ten times slower).
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm engine did not start');
  const heaps = new TopKRows(queries.length, job.k);
  const tileCount = tiles.length / 2;
  let cachedBlock = -1;
  let cached: tf.Tensor2D | null = null;
  for (;;) {
    const t = Atomics.add(next, 0, 1);
    if (t >= tileCount) break;
    const a = tiles[2 * t]!;
    const b = tiles[2 * t + 1]!;
    const qa = a * job.block;
    const qb = Math.min(queries.length, qa + job.block);
    const ga = b * job.block;
    const gb = Math.min(gallery.length, ga + job.block);
    if (cachedBlock !== a) {
      cached?.dispose();
      cached = tf.tensor2d(gather(queries, qa, qb), [qb - qa, D]);
      cachedBlock = a;
    }
    const g = tf.tensor2d(gather(gallery, ga, gb), [gb - ga, D]);
    const product = tf.matMul(cached!, g, false, true);
    const sims = product.dataSync() as Float32Array;
    tf.dispose([g, product]);
    const nb = gb - ga;
    // Off the diagonal of a symmetric graph, a tile also stands for its mirror image.
    const mirror = job.gallery === null && a !== b;
    for (let i = qa; i < qb; i++) {
      const row = queries[i]!;
      const o = (i - qa) * nb;
      for (let j = ga; j < gb; j++) {
        if (gallery[j] === row) continue;
        const s = sims[o + j - ga]!;
        heaps.offer(i, s, j);
        if (mirror) heaps.offer(j, s, i);
      }
    }
    parentPort!.postMessage({ type: 'tile' } satisfies GraphThreadReply);
  }
  cached?.dispose();
  const reply: GraphThreadReply = {
    type: 'done',
    sims: heaps.sims,
    idx: heaps.idx,
    counts: heaps.counts,
  };
  parentPort!.postMessage(reply, [
    heaps.sims.buffer,
    heaps.idx.buffer,
    heaps.counts.buffer,
  ] as ArrayBuffer[]);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  parentPort!.postMessage({ type: 'error', message } satisfies GraphThreadReply);
});
