import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';

/** A layer shape; null for unknown dimensions such as the batch. */
type Shape = (number | null)[];

export interface LocalResponseNormArgs {
  name: string;
  /** n, the number of adjacent channels summed (odd; the paper's 5). */
  size: number;
  k: number;
  alpha: number;
  beta: number;
  /** paper: b = a / (k + α·Σa²)^β; caffe: b = a / (k + (α/n)·Σa²)^β. */
  mode: 'paper' | 'caffe';
}

/**
 * Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).
 * The sum runs over the n channels centred on each one, clipped at the edges.
 * tf.localResponseNormalization does not divide α by n, so the paper maps to
 * depthRadius = (n−1)/2, bias = k, alpha = α; Caffe's variant passes α/n.
 * Input and output [batch, h, w, channels].
 */
export class LocalResponseNorm extends layers.Layer {
  static readonly className = 'LocalResponseNorm';
  private readonly lrn: Omit<LocalResponseNormArgs, 'name'>;

  constructor(args: LocalResponseNormArgs) {
    super({ name: args.name, trainable: false });
    if (args.size % 2 !== 1)
      throw new Error(`${args.name}: LRN size must be odd, got ${args.size}`);
    this.lrn = { size: args.size, k: args.k, alpha: args.alpha, beta: args.beta, mode: args.mode };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const { size, k, alpha, beta, mode } = this.lrn;
    const a = mode === 'caffe' ? alpha / size : alpha;
    return tf.localResponseNormalization(x, (size - 1) / 2, k, a, beta);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.lrn };
  }
}

tf.serialization.registerClass(LocalResponseNorm);
