import { parentPort } from 'node:worker_threads';
import { FeatureIndex, type Metric, type Neighbour } from './search.js';

/** A search for the thread: the gallery, the queries [q, dims] and what to find. */
export interface SearchRequest {
  id: number;
  path: string;
  queries: Float32Array;
  k: number;
  metric: Metric;
}

export type SearchReply = { id: number; hits: Neighbour[][] } | { id: number; error: string };

/**
 * Worker thread: exact k-NN searches off the host's main thread, so that the UI's calls and
 * events keep flowing while a large gallery is read (a 100,000 × 4096 gallery is 1.6 GB).
 */
parentPort!.on('message', (request: SearchRequest) => {
  let reply: SearchReply;
  try {
    const index = FeatureIndex.open(request.path);
    try {
      reply = { id: request.id, hits: index.search(request.queries, request.k, request.metric) };
    } finally {
      index.close();
    }
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
