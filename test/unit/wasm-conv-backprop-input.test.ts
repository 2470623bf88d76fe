import { describe, it, expect, beforeAll, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { randomArray, relativeError, reseed } from '../helpers/numeric.js';

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
  /** Split the channels into this many groups, each convolved with its own filter slice. */
  groups?: number;
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
  },
  {
    name: 'AlexNet cifar conv4: dy [8,5,5,96] from x [8,5,5,96], 3x3 same',
    x: [8, 5, 5, 96],
    w: [3, 3, 96, 96],
    strides: 1,
    pad: 'same',
  },
];

/** The case's forward pass: one conv2d, or one per channel group, concatenated. */
function forward(c: ConvCase, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
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
function filterShape(c: ConvCase): Shape4D {
  return [c.w[0], c.w[1], c.w[2], c.w[3] * (c.groups ?? 1)];
}

interface CaseData {
  x: number[];
  w: number[];
  g: number[];
}

/** dx of sum(forward(x, w) * g) on the given backend. */
async function inputGradient(
  backend: 'cpu' | 'wasm',
  c: ConvCase,
  data: CaseData,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  // Read back outside tidy: tidy walks whatever it returns, which is slow for big typed arrays.
  const dx = tf.tidy(() => {
    const x = tf.tensor4d(data.x, c.x);
    const w = tf.tensor4d(data.w, filterShape(c));
    const g = tf.tensor(data.g, forward(c, x, w).shape);
    return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(forward(c, a as tf.Tensor4D, w), g)))(x);
  });
  const values = dx.dataSync() as Float32Array;
  dx.dispose();
  return values;
}

async function outputShape(c: ConvCase): Promise<number[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() => forward(c, tf.zeros(c.x), tf.zeros(filterShape(c))).shape);
}

/** wasm's own Conv2DBackpropInput, wrapped in a spy before ours replaces it. */
let originalKernel: ReturnType<typeof vi.fn<tf.KernelFunc>>;

describe('wasm Conv2DBackpropInput', () => {
  beforeAll(async () => {
    const original = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    expect(original).toBeDefined();
    originalKernel = vi.fn<tf.KernelFunc>(original.kernelFunc);
    tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: originalKernel });
    // Registered before the backend is initialised, as the app does: the fallback must still work.
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('replaces the kernel once, however often it is registered', () => {
    const first = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    expect(first.kernelFunc).not.toBe(originalKernel);
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')).toBe(first);
  });

  for (const c of CASES) {
    it(`dx matches cpu: ${c.name}`, async () => {
      const yShape = await outputShape(c);
      const data: CaseData = {
        x: randomArray(c.x),
        w: randomArray(filterShape(c)),
        g: randomArray(yShape),
      };
      const cpu = await inputGradient('cpu', c, data);
      originalKernel.mockClear();
      const wasm = await inputGradient('wasm', c, data);
      expect(wasm.length).toBe(c.x.reduce((a, b) => a * b, 1));
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
      // Strides up to 2 take the XNNPACK path; larger ones are left to wasm's own kernel.
      const [sH, sW] = typeof c.strides === 'number' ? [c.strides, c.strides] : c.strides;
      expect(originalKernel).toHaveBeenCalledTimes(sH * sW <= 4 ? 0 : (c.groups ?? 1));
    });
  }

  it('runs XNNPACK, not the original kernel, for stride 1 and 2', async () => {
    await tf.setBackend('wasm');
    originalKernel.mockClear();
    const cases: [number, Shape4D][] = [
      [1, [2, 9, 7, 4]],
      [2, [2, 5, 4, 4]],
    ];
    for (const [strides, dyShape] of cases) {
      const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 3);
      const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 4);
      tf.dispose(
        tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [2, 9, 7, 2], strides, 'same'),
      );
      tf.dispose([dy, w]);
    }
    expect(originalKernel).not.toHaveBeenCalled();
  });

  it('falls back to the original kernel for NCHW', async () => {
    const dy = randomArray([2, 4, 5, 6]);
    const w = randomArray([3, 3, 3, 4]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 5, 6] };
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const dyT = tf.tensor4d(dy, [2, 4, 5, 6]);
      const wT = tf.tensor4d(w, [3, 3, 3, 4]);
      const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyT, filter: wT }, attrs);
      const values = (dx as tf.Tensor).dataSync() as Float32Array;
      tf.dispose([dyT, wT, dx as tf.Tensor]);
      return values;
    };
    const cpu = await run('cpu');
    originalKernel.mockClear();
    const wasm = await run('wasm');
    expect(originalKernel).toHaveBeenCalledTimes(1);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
  });

  it('frees every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const cases = [
      { dy: [2, 6, 5, 4], strides: 2, pad: 'same', inputShape: [2, 12, 9, 3] },
      { dy: [2, 5, 4, 4], strides: 2, pad: 'valid', inputShape: [2, 9, 7, 3] },
      { dy: [2, 12, 9, 4], strides: 1, pad: 'same', inputShape: [2, 12, 9, 3] },
    ];
    for (const c of cases) {
      const dy = tf.randomNormal(c.dy, 0, 1, 'float32', 8);
      const filter = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 7);
      const attrs = {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        inputShape: c.inputShape,
      };
      const before = tf.memory().numDataBuffers;
      const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs) as tf.Tensor;
      expect(dx.shape).toEqual(c.inputShape);
      expect(tf.memory().numDataBuffers).toBe(before + 1);
      tf.dispose([dy, filter, dx]);
    }
  });

  it('trains a tiny 2-conv net on wasm', async () => {
    await tf.setBackend('wasm');
    reseed(100); // the same data however many tests ran before
    const x = tf.tensor4d(randomArray([4, 10, 10, 2]), [4, 10, 10, 2]);
    // Weights scaled by 1/√fan-in keep every activation of order 1.
    const weights = (shape: Shape4D): tf.Tensor4D =>
      tf.mul(tf.tensor4d(randomArray(shape), shape), 1 / Math.sqrt(shape[0] * shape[1] * shape[2]));
    const net = (w1: tf.Tensor4D, w2: tf.Tensor4D): tf.Tensor4D =>
      tf.conv2d(tf.relu(tf.conv2d(x, w1, 1, 'same')), w2, 2, 'same');
    const target = net(weights([3, 3, 2, 4]), weights([3, 3, 4, 3]));
    const w1 = tf.variable(weights([3, 3, 2, 4]));
    const w2 = tf.variable(weights([3, 3, 4, 3]));
    const lossFn = (): tf.Scalar =>
      tf.mean(tf.square(tf.sub(net(w1 as tf.Tensor4D, w2 as tf.Tensor4D), target)));
    const optimizer = tf.train.sgd(0.2);
    const initial = tf.tidy(() => lossFn().dataSync()[0]!);
    originalKernel.mockClear();
    for (let step = 0; step < 20; step++) {
      optimizer.minimize(lossFn, false, [w1, w2]);
    }
    const final = tf.tidy(() => lossFn().dataSync()[0]!);
    // w1's gradient passes through conv2's input gradient, which must have been ours.
    expect(originalKernel).not.toHaveBeenCalled();
    expect(final).toBeLessThan(initial * 0.5);
    tf.dispose([x, target, w1, w2]);
    optimizer.dispose();
  });
});
