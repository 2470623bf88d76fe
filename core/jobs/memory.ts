import type { RunConfig } from '../schema/run-config.js';

const MiB = 2 ** 20;

/** What a worker holds before any model: the engine, its runtime and the batch worker. */
const BASE_BYTES = 300 * MiB;

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
 */
export function jobMemoryBytes(config: RunConfig): number {
  const { params, activations } = footprint(config);
  return BASE_BYTES + 4 * (2 * params + 2 * config.batchSize * activations);
}

/**
 * The estimated peak memory of inference (an evaluation, an index build, a query's embedding)
 * on `batch` images at a time: the weights alone, and the activations of one forward pass.
 */
export function inferenceMemoryBytes(config: RunConfig, batch: number): number {
  const { params, activations } = footprint(config);
  return BASE_BYTES + 4 * (params + batch * activations);
}
