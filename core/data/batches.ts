import { Worker } from 'node:worker_threads';
import { workerThreadPath } from '../util/module-path.js';
import { seededShuffle } from './split.js';
import type { TransformSpec } from './transform.js';

export interface BatchRequest {
  id: number;
  indices: number[];
  seedKey: string;
}

export type BatchReply = { id: number; x: Float32Array } | { id: number; error: string };

export interface Batch {
  /** Position of the batch in the plan. */
  index: number;
  /** Dataset image indices, in batch order. */
  indices: number[];
  /** float32 [indices·crops, crop, crop, 3]. */
  x: Float32Array;
}

/**
 * The batches of one epoch: the image indices shuffled by (seed, epoch) when `shuffle` is on,
 * cut into batches of `batchSize` (the last may be smaller).
 */
export function epochPlan(
  indices: readonly number[],
  batchSize: number,
  options: { shuffle: boolean; seed: number; epoch: number },
): number[][] {
  const order = options.shuffle
    ? seededShuffle(indices, `${options.seed}:epoch:${options.epoch}`)
    : [...indices];
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * Prepares batches on a worker thread, keeping `prefetch` batches in flight ahead of the consumer:
 * while the engine trains on one batch, the next ones are being cropped, flipped and coloured.
 */
export class BatchLoader {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (x: Float32Array) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  constructor(
    dir: string,
    size: number,
    readonly spec: TransformSpec,
    private readonly prefetch = 2,
  ) {
    this.worker = new Worker(workerThreadPath(import.meta.url, './batch-worker.js'), {
      workerData: { dir, size, spec },
    });
    this.worker.on('message', (reply: BatchReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(`batch preparation failed: ${reply.error}`));
      else waiter?.resolve(reply.x);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.pending.size) return;
      this.fail(
        new Error(
          this.closing ? 'the batch loader was closed' : `batch worker exited with code ${code}`,
        ),
      );
    });
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }

  private request(indices: number[], seedKey: string): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<Float32Array>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    // A consumer that stops early (a cancel, a diverged loss, another batch's error) leaves its
    // prefetched batches behind, and close() rejects them. Unobserved, that rejection would kill
    // the worker process before it could say why; whoever awaits the batch still gets the error.
    promise.catch(() => {});
    this.worker.postMessage({ id, indices, seedKey } satisfies BatchRequest);
    return promise;
  }

  /** Yields the planned batches in order; batch b's randomness is seeded by `${seedKey}:${b}`. */
  async *batches(plan: number[][], seedKey: string): AsyncGenerator<Batch> {
    const inFlight: Promise<Float32Array>[] = [];
    let requested = 0;
    const fill = () => {
      while (requested < plan.length && inFlight.length < this.prefetch + 1) {
        inFlight.push(this.request(plan[requested]!, `${seedKey}:${requested}`));
        requested++;
      }
    };
    for (let b = 0; b < plan.length; b++) {
      fill();
      const x = await inFlight.shift()!;
      fill();
      yield { index: b, indices: plan[b]!, x };
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
