import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { caseData, CONV_CASES, convGradients, type Shape4D } from '../helpers/conv-cases.js';
import { randomArray, relativeError, reseed } from '../helpers/numeric.js';
import { spyOnWasmKernel, type KernelSpy } from '../helpers/wasm.js';

/** wasm's own Conv2DBackpropInput, wrapped in a spy before ours replaces it. */
let originalKernel: KernelSpy;

describe('wasm Conv2DBackpropInput', () => {
  beforeAll(async () => {
    originalKernel = spyOnWasmKernel(tf.Conv2DBackpropInput);
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

  for (const c of CONV_CASES) {
    it(`dx matches cpu: ${c.name}`, async () => {
      const data = await caseData(c);
      const cpu = await convGradients('cpu', c, data, true);
      originalKernel.mockClear();
      const wasm = await convGradients('wasm', c, data, true);
      expect(wasm.dx.length).toBe(data.x.length);
      expect(relativeError(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
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
