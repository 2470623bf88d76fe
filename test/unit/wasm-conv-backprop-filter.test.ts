import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { randomArray, relativeError } from '../helpers/numeric.js';

type Shape4D = [number, number, number, number];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface ConvCase {
  name: string;
  /** NHWC input shape [batch, inH, inW, inC]. */
  x: Shape4D;
  /** Filter shape [fh, fw, inC, outC]. */
  w: Shape4D;
  strides: number | [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  { name: 'stride 1, valid, batch 1', x: [1, 8, 8, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  {
    name: 'stride 1, same, non-square 13x9, batch 2',
    x: [2, 13, 9, 3],
    w: [3, 3, 3, 5],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'stride 2, same, 4x4 filter (asymmetric padding), non-square',
    x: [2, 12, 9, 4],
    w: [4, 4, 4, 6],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'stride 2, valid, input remainder dropped by the forward conv',
    x: [2, 14, 11, 2],
    w: [3, 3, 2, 3],
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
  {
    name: 'stride 4, same, non-square',
    x: [2, 17, 13, 3],
    w: [5, 5, 3, 4],
    strides: 4,
    pad: 'same',
  },
  {
    name: 'numeric pad 2, 5x5 filter, non-square 13x9',
    x: [3, 13, 9, 3],
    w: [5, 5, 3, 4],
    strides: 1,
    pad: 2,
  },
  {
    name: 'numeric pad 2, 5x5 filter, stride 2',
    x: [2, 11, 11, 2],
    w: [5, 5, 2, 3],
    strides: 2,
    pad: 2,
  },
  {
    name: 'explicit asymmetric padding',
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
    name: 'filter larger than the input (same)',
    x: [2, 3, 3, 2],
    w: [5, 5, 2, 3],
    strides: 1,
    pad: 'same',
  },
  { name: '1x1 filter', x: [2, 5, 6, 8], w: [1, 1, 8, 16], strides: 1, pad: 'valid' },
  {
    name: 'AlexNet conv1 scaled down: 11x11, stride 4, valid',
    x: [2, 35, 35, 3],
    w: [11, 11, 3, 8],
    strides: 4,
    pad: 'valid',
  },
];

interface CaseData {
  x: number[];
  w: number[];
  g: number[];
}

/** dx and dw of sum(conv2d(x, w) * g) on the given backend, as plain arrays. */
async function gradients(
  backend: 'cpu' | 'wasm',
  c: ConvCase,
  data: CaseData,
): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  // Read back outside tidy: tidy walks whatever it returns, which is slow for big typed arrays.
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(data.x, c.x);
    const w = tf.tensor4d(data.w, c.w);
    const g = tf.tensor(data.g, tf.conv2d(x, w, c.strides, c.pad).shape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), g)),
    )([x, w]);
  });
  const result = { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  tf.dispose([dx!, dw!]);
  return result;
}

async function outputShape(c: ConvCase): Promise<number[]> {
  await tf.setBackend('cpu');
  return tf.tidy(
    () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.w), c.strides, c.pad).shape,
  );
}

describe('wasm Conv2DBackpropFilter', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('registers idempotently', () => {
    const first = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    expect(first).toBeDefined();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBe(first);
  });

  for (const c of CASES) {
    it(`dw (and dx) match cpu: ${c.name}`, async () => {
      const yShape = await outputShape(c);
      const data: CaseData = { x: randomArray(c.x), w: randomArray(c.w), g: randomArray(yShape) };
      const cpu = await gradients('cpu', c, data);
      const wasm = await gradients('wasm', c, data);
      expect(wasm.dw.length).toBe(c.w.reduce((a, b) => a * b, 1));
      expect(relativeError(wasm.dw, cpu.dw)).toBeLessThan(1e-4);
      // dx comes from the registered Conv2DBackpropInput; checked so the whole conv gradient agrees.
      expect(relativeError(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
    });
  }

  it('frees every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 12, 9, 3], 0, 1, 'float32', 7);
    const dy = tf.randomNormal([2, 6, 5, 4], 0, 1, 'float32', 8);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] };
    const before = tf.memory().numDataBuffers;
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
    expect(dw.shape).toEqual([3, 3, 3, 4]);
    expect(tf.memory().numDataBuffers).toBe(before + 1);
    tf.dispose([x, dy, dw]);
  });

  it('rejects NCHW', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 4, 3, 3]);
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 4] };
    expect(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs)).toThrow(/NCHW/);
    tf.dispose([x, dy]);
  });

  it('trains a tiny conv net on wasm', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomArray([4, 10, 10, 2]), [4, 10, 10, 2]);
    const wTrue = tf.tensor4d(randomArray([3, 3, 2, 3]), [3, 3, 2, 3]);
    const target = tf.conv2d(x, wTrue, 2, 'same');
    const w = tf.variable(tf.mul(tf.tensor4d(randomArray([3, 3, 2, 3]), [3, 3, 2, 3]), 0.1));
    const lossFn = (): tf.Scalar =>
      tf.mean(tf.square(tf.sub(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'), target)));
    const optimizer = tf.train.sgd(0.05);
    const initial = tf.tidy(() => lossFn().dataSync()[0]!);
    for (let step = 0; step < 20; step++) {
      optimizer.minimize(lossFn, false, [w]);
    }
    const final = tf.tidy(() => lossFn().dataSync()[0]!);
    expect(final).toBeLessThan(initial * 0.5);
    tf.dispose([x, wTrue, target, w]);
    optimizer.dispose();
  });
});
