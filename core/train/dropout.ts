import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Dropout whose masks are a function of the run's seed, the step, the layer and the image's
 * position in the whole batch, instead of tfjs's, which draws one random stream for the batch
 * in hand. A batch split over several training threads then drops exactly the units one thread
 * would drop for the same images, and a resumed run drops what the original would have.
 *
 * The model keeps its tfjs `Dropout` layers (saved models and exports are unchanged); only how
 * the layers of this model instance draw their masks in training is replaced.
 */
export class KeyedDropout {
  private seed = 0;
  private step = 0;
  private rowOffset = 0;
  /** How many dropout layers the model has. */
  readonly layers: number;

  constructor(model: tfl.LayersModel) {
    const layers = model.layers.filter((l) => l.getClassName() === 'Dropout');
    this.layers = layers.length;
    layers.forEach((layer, index) => {
      const rate = (layer as unknown as { rate: number }).rate;
      // An own property shadows Dropout.prototype.call for this instance only.
      (layer as unknown as { call: typeof layer.call }).call = (inputs, kwargs) =>
        tf.tidy(() => {
          const x = Array.isArray(inputs) ? inputs[0]! : inputs;
          if (!kwargs.training || !(rate > 0 && rate < 1)) return x;
          const rows = x.shape[0]!;
          const mask = dropoutMask(rate, rows, x.size / rows, {
            seed: this.seed,
            step: this.step,
            layer: index,
            rowOffset: this.rowOffset,
          });
          return tf.mul(x, tf.tensor(mask, x.shape, 'float32'));
        });
    });
  }

  /**
   * Keys the masks of the next training pass: step `step` of a run seeded `seed`, on the rows
   * of the whole batch that start at `rowOffset` (a thread's share starts past the others').
   */
  setStep(seed: number, step: number, rowOffset = 0): void {
    this.seed = seed;
    this.step = step;
    this.rowOffset = rowOffset;
  }
}

/** What a mask depends on besides its shape. */
export interface MaskKey {
  seed: number;
  step: number;
  /** Which dropout layer of the model (0 for the first). */
  layer: number;
  /** The batch row of this tensor's first row. */
  rowOffset: number;
}

/** murmur3's 32-bit finaliser: every input bit flips about half of the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The dropout multiplier for `rows` × `units` activations: 0 where a unit is dropped (with
 * probability `rate`), 1 / (1 − rate) where it is kept, as tf.dropout scales. Element (r, u)
 * depends only on the key and its position (rowOffset + r, u), through a counter-based hash.
 */
export function dropoutMask(rate: number, rows: number, units: number, key: MaskKey): Float32Array {
  const mask = new Float32Array(rows * units);
  const scale = 1 / (1 - rate);
  // Drop where hash / 2³² < rate.
  const threshold = Math.floor(rate * 2 ** 32);
  const base = fmix32(
    fmix32(key.seed ^ 0x5bd1e995) +
      Math.imul(key.step, 0x27d4eb2d) +
      Math.imul(key.layer, 0x165667b1),
  );
  let i = 0;
  for (let r = 0; r < rows; r++) {
    const start = (key.rowOffset + r) * units;
    for (let u = 0; u < units; u++, i++) {
      mask[i] = fmix32(base + Math.imul(start + u, 0x9e3779b9)) >= threshold ? scale : 0;
    }
  }
  return mask;
}
