import { Worker } from 'node:worker_threads';
import { workerThreadPath } from '../util/module-path.js';
import type { SearchReply, SearchRequest } from './search-thread.js';
import type { Metric, Neighbour } from './search.js';

type Waiter = { resolve: (hits: Neighbour[][]) => void; reject: (err: Error) => void };

let thread: Worker | null = null;
const waiting = new Map<number, Waiter>();
let nextId = 0;

/** The search thread, started on first use and shared by every search of this process. */
function searchThread(): Worker {
  if (thread) return thread;
  const worker = new Worker(workerThreadPath(import.meta.url, './search-thread.js'));
  worker.on('message', (reply: SearchReply) => {
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if ('error' in reply) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.hits);
    // An idle thread must not keep a CLI process alive.
    if (waiting.size === 0) worker.unref();
  });
  const fail = (err: Error) => {
    if (thread === worker) thread = null;
    for (const waiter of waiting.values()) waiter.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the search thread exited with code ${code}`)));
  thread = worker;
  return worker;
}

/**
 * The k nearest rows of a gallery .npy for each query ([q, dims] row-major), found on a worker
 * thread: the caller's event loop (the app's IPC, the server's requests) stays free meanwhile.
 * Searches run one after another, in the order asked.
 */
export function searchInThread(
  path: string,
  queries: Float32Array,
  k: number,
  metric: Metric,
): Promise<Neighbour[][]> {
  const worker = searchThread();
  const id = nextId++;
  const done = new Promise<Neighbour[][]>((resolve, reject) =>
    waiting.set(id, { resolve, reject }),
  );
  worker.ref();
  worker.postMessage({ id, path, queries, k, metric } satisfies SearchRequest);
  return done;
}
