import type { RunConfig } from '../schema/run-config.js';

const MiB = 2 ** 20;

/** What a worker holds before any model: the engine, its runtime and the batch worker. */
const BASE_BYTES = 300 * MiB;

/** What each further training thread holds before any model: its own engine and runtime. */
const THREAD_BYTES = 100 * MiB;

/** A network's float32 parameter count and its activations per image, in values. */
function footprint(config: RunConfig): { params: number; activations: number } {
  const m = config.model;
  let size = m.inputSize;
  let channels = 3;
  let params = 0;
  let activations = 3 * size * size;
  for (const layer of m.conv) {
    const groups = layer.grouped ? m.groups : 1;
    params += layer.kernel * layer.kernel * (channels / groups) * layer.filters + layer.filters;
    size = Math.floor((size + 2 * layer.pad - layer.kernel) / layer.stride) + 1;
    // conv output and its ReLU, and LRN's
    activations += size * size * layer.filters * (layer.lrn ? 3 : 2);
    if (layer.pool) {
      size = Math.floor((size - m.pool.size) / m.pool.stride) + 1;
      activations += size * size * layer.filters;
    }
    channels = layer.filters;
  }
  let width = size * size * channels;
  for (const units of [...m.fc, m.classes]) {
    params += width * units + units;
    activations += 2 * units;
    width = units;
  }
  return { params, activations };
}

/**
 * The estimated peak memory of training on a run's config, in bytes: float32 weights with their
 * momentum (×2), and per image of a batch the activations of every layer, kept for the backward
 * pass beside their gradients (×2), over a fixed base. For `alexnet-paper` at batch 128 this
 * gives about 2.7 GiB, a little above the 2.5 GB peak measured, on the safe side.
 *
 * On `threads` threads (data-parallel shards) every extra thread holds the weights, their
 * gradients and XNNPACK's packed copy of them (the dense layers', most of them), and its share of
 * the activations; shared memory holds the weights once more and a gradient vector per extra
 * thread. Measured for `alexnet-paper` at batch 32: peak RSS 1799 MB on one thread, 3032 MB on
 * two (2301 and 3652 MB before the filter-gradient kernel and the one-pass update); the extra
 * thread's 1.23 GB is within the 1.32 GB this gives it, and the whole stays on the safe side.
 */
export function jobMemoryBytes(config: RunConfig, threads = 1): number {
  const { params, activations } = footprint(config);
  const shards = Math.max(1, threads);
  // Weights and momentum; per extra thread its weights, gradients, packed weights and shared
  // gradients; and the shared weights.
  const weights = 2 * params + (shards > 1 ? params + 4 * params * (shards - 1) : 0);
  return (
    BASE_BYTES + (shards - 1) * THREAD_BYTES + 4 * (weights + 2 * config.batchSize * activations)
  );
}

/**
 * The estimated peak memory of inference (an evaluation, an index build, a query's embedding)
 * on `batch` images at a time: the weights alone, and the activations of one forward pass.
 */
export function inferenceMemoryBytes(config: RunConfig, batch: number): number {
  const { params, activations } = footprint(config);
  return BASE_BYTES + 4 * (params + batch * activations);
}
