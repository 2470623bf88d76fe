import type { ModelConfig } from '../schema/model-config.js';

/**
 * Messages between a training job's main thread and its shard threads (./shards.ts,
 * ./shard-worker.ts). Gradients and weights do not travel in messages: they go through shared
 * memory laid out as one float32 vector of every trainable weight, in the model's order.
 */

/** What a shard thread starts with (its workerData). */
export interface ShardInit {
  /** The tfjs backend of the main thread ('wasm' or 'cpu'), which the shard loads too. */
  backend: string;
  model: ModelConfig;
  seed: number;
  /** The weights the main thread publishes before a step: float32 [params]. */
  weights: SharedArrayBuffer;
  /** This shard's gradients after a step: float32 [params], its own slice of one buffer. */
  grads: SharedArrayBuffer;
  gradsOffset: number;
}

/** Main → shard. */
export type ShardRequest =
  | {
      type: 'step';
      /** Reload the weights from shared memory first (they changed since the last step). */
      reload: boolean;
      /** float32 [labels.length, crop, crop, 3], transferred. */
      x: Float32Array;
      labels: number[];
      offset: number;
      total: number;
      step: number;
    }
  | { type: 'close' };

/** Shard → main. */
export type ShardReply =
  | { type: 'ready'; shapes: number[][] }
  | { type: 'done'; loss: number; wrong: number }
  | { type: 'error'; message: string; stack?: string };

/** The offset of each weight in the shared vector, and the vector's length. */
export function layout(shapes: readonly (readonly number[])[]): {
  offsets: number[];
  total: number;
} {
  const offsets: number[] = [];
  let total = 0;
  for (const shape of shapes) {
    offsets.push(total);
    total += shape.reduce((a, b) => a * b, 1);
  }
  return { offsets, total };
}

/**
 * Rows per thread for a batch of `n` on `threads` threads: as even as possible, the larger
 * shares first (the main thread's share is the first), no thread given an empty share.
 */
export function shareSizes(n: number, threads: number): number[] {
  const used = Math.max(1, Math.min(n, threads));
  const base = Math.floor(n / used);
  return Array.from({ length: used }, (_, i) => base + (i < n % used ? 1 : 0));
}
