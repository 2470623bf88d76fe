import { parentPort, workerData } from 'node:worker_threads';
import { DatasetCache } from './dataset.js';
import { prepareBatch, resolveMean, type TransformSpec } from './transform.js';
import type { BatchRequest, BatchReply } from './batches.js';

/** Worker thread: builds batches off the training thread, so the engine never waits for data. */
const { dir, size, spec } = workerData as { dir: string; size: number; spec: TransformSpec };
const cache = new DatasetCache(dir, size);
const stats = cache.stats();
const mean = resolveMean(spec, cache, stats);

parentPort!.on('message', (request: BatchRequest) => {
  let reply: BatchReply;
  try {
    const x = prepareBatch(cache, stats, mean, spec, request.indices, request.seedKey);
    reply = { id: request.id, x };
    parentPort!.postMessage(reply, [x.buffer as ArrayBuffer]);
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? err.message : String(err) };
    parentPort!.postMessage(reply);
  }
});
