import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { randomArray } from './numeric.js';

export type Shape4D = [number, number, number, number];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** A convolution whose gradients the wasm kernels must get as the cpu backend does. */
export interface ConvCase {
  name: string;
  /** NHWC input shape [batch, inH, inW, inC]. */
  x: Shape4D;
  /** Filter shape of one group [fh, fw, inC / groups, outC / groups]. */
  w: Shape4D;
  strides: number | [number, number];
  pad: Pad;
  /** Split the channels into this many groups, each convolved with its own filter slice. */
  groups?: number;
  /** The cpu backend takes tens of seconds for its filter gradient: checked for dx only. */
  inputOnly?: boolean;
}

/**
 * The shapes that break convolution gradients: strides, every kind of padding, non-square and
 * odd sizes, filters larger than the input, groups, and AlexNet's own layers scaled down.
 */
export const CONV_CASES: ConvCase[] = [
  { name: 'stride 1, valid, batch 1', x: [1, 8, 8, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  {
    name: 'stride 1, same, non-square 13x9, batch 2',
    x: [2, 13, 9, 3],
    w: [3, 3, 3, 5],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'stride 1, same, 4x4 filter (asymmetric padding), non-square',
    x: [2, 7, 10, 3],
    w: [4, 4, 3, 2],
    strides: 1,
    pad: 'same',
  },
  { name: 'numeric pad 2, 5x5 filter', x: [3, 13, 9, 3], w: [5, 5, 3, 4], strides: 1, pad: 2 },
  { name: 'numeric pad 1, 3x3 filter', x: [2, 6, 11, 4], w: [3, 3, 4, 3], strides: 1, pad: 1 },
  {
    name: 'explicit uneven padding',
    x: [2, 9, 8, 2],
    w: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    name: 'explicit padding wider than the filter (dy rows that only saw padding)',
    x: [2, 6, 5, 2],
    w: [3, 2, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [4, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: 'filter larger than the input (same)',
    x: [2, 3, 3, 2],
    w: [5, 5, 2, 3],
    strides: 1,
    pad: 'same',
  },
  { name: '1x1 filter', x: [2, 5, 6, 8], w: [1, 1, 8, 16], strides: 1, pad: 'valid' },
  {
    name: 'stride 2, same, 4x4 filter (asymmetric padding), non-square',
    x: [2, 12, 9, 4],
    w: [4, 4, 4, 6],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'stride 2, valid, input remainder skipped by the forward conv',
    x: [2, 14, 11, 2],
    w: [3, 3, 2, 3],
    strides: 2,
    pad: 'valid',
  },
  {
    name: 'stride 2, 1x1 filter, odd input (zero-inserted dy longer than needed)',
    x: [2, 9, 7, 3],
    w: [1, 1, 3, 4],
    strides: 2,
    pad: 'valid',
  },
  {
    name: 'stride [2, 1], same',
    x: [2, 10, 7, 3],
    w: [3, 3, 3, 2],
    strides: [2, 1],
    pad: 'same',
  },
  { name: 'stride 2, numeric pad 2, 5x5', x: [2, 11, 11, 2], w: [5, 5, 2, 3], strides: 2, pad: 2 },
  {
    name: 'stride 4, same, non-square',
    x: [2, 17, 13, 3],
    w: [5, 5, 3, 4],
    strides: 4,
    pad: 'same',
  },
  {
    name: 'AlexNet conv1 scaled down: 11x11, stride 4, valid',
    x: [2, 35, 35, 3],
    w: [11, 11, 3, 8],
    strides: 4,
    pad: 'valid',
  },
  // First layers: few input channels, output channels in eights (wasm's SIMD filter gradient).
  {
    name: 'first layer: 3 channels, 5x5 same, 16 outputs',
    x: [3, 12, 10, 3],
    w: [5, 5, 3, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'first layer: 1 channel, stride [3, 2], explicit uneven padding',
    x: [2, 10, 11, 1],
    w: [4, 3, 1, 8],
    strides: [3, 2],
    pad: [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ],
  },
  {
    name: 'first layer: 4 channels, stride 4, valid, input remainder skipped',
    x: [2, 19, 18, 4],
    w: [5, 5, 4, 24],
    strides: 4,
    pad: 'valid',
  },
  {
    name: 'first layer: 2 channels, padding wider than the filter',
    x: [2, 6, 5, 2],
    w: [3, 2, 2, 8],
    strides: 1,
    pad: [
      [0, 0],
      [4, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: 'first layer: left padding wider than every window reaches (no column of x read)',
    x: [2, 4, 1, 2],
    w: [3, 2, 2, 8],
    strides: [1, 3],
    pad: [
      [0, 0],
      [1, 1],
      [6, 0],
      [0, 0],
    ],
  },
  {
    name: 'AlexNet conv3 scaled down: 24 channels, 3x3 same, 16 outputs',
    x: [2, 6, 5, 24],
    w: [3, 3, 24, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'grouped conv, 8 channels and 8 outputs per group, 3x3 same',
    x: [2, 7, 7, 16],
    w: [3, 3, 8, 8],
    strides: 1,
    pad: 'same',
    groups: 2,
  },
  {
    name: 'grouped conv (conv2d on channel slices), numeric pad 1',
    x: [2, 9, 7, 8],
    w: [3, 3, 4, 6],
    strides: 1,
    pad: 1,
    groups: 2,
  },
  {
    name: 'AlexNet cifar conv2: dy [8,11,11,64] from x [8,11,11,32], 5x5 same',
    x: [8, 11, 11, 32],
    w: [5, 5, 32, 64],
    strides: 1,
    pad: 'same',
    inputOnly: true,
  },
  {
    name: 'AlexNet cifar conv4: dy [8,5,5,96] from x [8,5,5,96], 3x3 same',
    x: [8, 5, 5, 96],
    w: [3, 3, 96, 96],
    strides: 1,
    pad: 'same',
    inputOnly: true,
  },
];

/** The case's forward pass: one conv2d, or one per channel group, concatenated. */
export function forward(c: ConvCase, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const groups = c.groups ?? 1;
  if (groups === 1) return tf.conv2d(x, w, c.strides, c.pad);
  const xs = tf.split<tf.Tensor4D>(x, groups, 3);
  const ws = tf.split<tf.Tensor4D>(w, groups, 3);
  return tf.concat4d(
    xs.map((xg, g) => tf.conv2d(xg, ws[g]!, c.strides, c.pad)),
    3,
  );
}

/** Filter shape including every group's output channels. */
export function filterShape(c: ConvCase): Shape4D {
  return [c.w[0], c.w[1], c.w[2], c.w[3] * (c.groups ?? 1)];
}

/** Random x, w and upstream gradient g of a case, shared by the backends compared. */
export interface CaseData {
  x: number[];
  w: number[];
  g: number[];
}

export async function caseData(c: ConvCase): Promise<CaseData> {
  await tf.setBackend('cpu');
  const y = tf.tidy(() => forward(c, tf.zeros(c.x), tf.zeros(filterShape(c))).shape);
  return { x: randomArray(c.x), w: randomArray(filterShape(c)), g: randomArray(y) };
}

/** dx, and dw unless `inputOnly`, of sum(forward(x, w) * g) on the given backend. */
export async function convGradients(
  backend: 'cpu' | 'wasm',
  c: ConvCase,
  data: CaseData,
  inputOnly = false,
): Promise<{ dx: Float32Array; dw: Float32Array | null }> {
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  // Read back outside tidy: tidy walks whatever it returns, which is slow for big typed arrays.
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(data.x, c.x);
    const w = tf.tensor4d(data.w, filterShape(c));
    const g = tf.tensor(data.g, forward(c, x, w).shape);
    const loss = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(forward(c, a as tf.Tensor4D, b as tf.Tensor4D), g));
    return inputOnly ? [tf.grad((a: tf.Tensor) => loss(a, w))(x)] : tf.grads(loss)([x, w]);
  });
  const result = {
    dx: dx!.dataSync() as Float32Array,
    dw: dw ? (dw.dataSync() as Float32Array) : null,
  };
  tf.dispose([dx!, ...(dw ? [dw] : [])]);
  return result;
}
