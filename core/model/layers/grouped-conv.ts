import * as tf from '@tensorflow/tfjs-core';
import { layers, initializers, type LayerVariable } from '@tensorflow/tfjs-layers';

/** A layer shape; null for unknown dimensions such as the batch. */
type Shape = (number | null)[];

export interface GroupedConv2DArgs {
  name: string;
  filters: number;
  kernelSize: number;
  strides: number;
  /** Zero padding on each side, in pixels. */
  pad: number;
  groups: number;
  activation: 'relu' | 'linear';
  /** Kernel init N(0, kernelStd²), seeded for reproducible models. */
  kernelStd: number;
  seed?: number;
  /** Constant bias init (the paper's 1 or 0). */
  biasValue: number;
  trainable?: boolean;
}

/**
 * A 2-D convolution split into `groups` towers (AlexNet's two GPUs), with optional fused ReLU.
 * One kernel of shape [kh, kw, inChannels/groups, filters]: group g reads input channels
 * [g·in/groups, (g+1)·in/groups) and writes output channels [g·filters/groups, (g+1)·filters/groups),
 * Caffe's layout, so weights map 1:1 to Caffe and PyTorch (after transposing to OIHW).
 * Input [batch, h, w, in], output [batch, h', w', filters].
 */
export class GroupedConv2D extends layers.Layer {
  static readonly className = 'GroupedConv2D';
  private readonly args: Omit<GroupedConv2DArgs, 'name' | 'trainable'>;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: GroupedConv2DArgs) {
    super({ name: args.name, trainable: args.trainable ?? true });
    const { name: _name, trainable: _trainable, ...rest } = args;
    this.args = rest;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const inChannels = shape[3];
    const { groups, filters, kernelSize } = this.args;
    if (inChannels == null || inChannels % groups || filters % groups) {
      throw new Error(
        `${this.name}: ${inChannels} input and ${filters} output channels do not split into ${groups} groups`,
      );
    }
    this.kernel = this.addWeight(
      'kernel',
      [kernelSize, kernelSize, inChannels / groups, filters],
      'float32',
      initializers.randomNormal({ mean: 0, stddev: this.args.kernelStd, seed: this.args.seed }),
    );
    this.bias = this.addWeight(
      'bias',
      [filters],
      'float32',
      initializers.constant({ value: this.args.biasValue }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const { kernelSize, strides, pad, filters } = this.args;
    const out = (n: number | null) =>
      n == null ? null : Math.floor((n + 2 * pad - kernelSize) / strides) + 1;
    return [shape[0] ?? null, out(shape[1] ?? null), out(shape[2] ?? null), filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const kernel = this.kernel!.read() as tf.Tensor4D;
      const y: tf.Tensor4D = groupedConv2d(
        x,
        kernel,
        this.args.groups,
        this.args.strides,
        this.args.pad,
      );
      const z = tf.add(y, this.bias!.read());
      return this.args.activation === 'relu' ? tf.relu(z) : z;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.args.filters,
      kernelSize: this.args.kernelSize,
      strides: this.args.strides,
      pad: this.args.pad,
      groups: this.args.groups,
      activation: this.args.activation,
      kernelStd: this.args.kernelStd,
      biasValue: this.args.biasValue,
      ...(this.args.seed === undefined ? {} : { seed: this.args.seed }),
    };
  }
}

/**
 * Grouped convolution with symmetric zero padding `pad`.
 * x [batch, h, w, in], kernel [kh, kw, in/groups, out] → [batch, h', w', out].
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  groups: number,
  strides: number,
  pad: number,
): tf.Tensor4D {
  const padding = convPadding(kernel.shape[0], strides, pad);
  if (groups === 1) return tf.conv2d(x, kernel, strides, padding);
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  const ks = tf.split(kernel, groups, 3) as tf.Tensor4D[];
  return tf.concat4d(
    xs.map((xg, g) => tf.conv2d(xg, ks[g]!, strides, padding)),
    3,
  );
}

type Padding = 'valid' | 'same' | [[0, 0], [number, number], [number, number], [0, 0]];

/** 'valid'/'same' where they mean the same as explicit padding, which lets backends use fast paths. */
function convPadding(kernelSize: number, strides: number, pad: number): Padding {
  if (pad === 0) return 'valid';
  if (strides === 1 && 2 * pad === kernelSize - 1) return 'same';
  return [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
}

tf.serialization.registerClass(GroupedConv2D);
