import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { caseData, CONV_CASES, convGradients } from '../helpers/conv-cases.js';
import { randomArray, relativeError } from '../helpers/numeric.js';

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

  for (const c of CONV_CASES.filter((c) => !c.inputOnly)) {
    it(`dw (and dx) match cpu: ${c.name}`, async () => {
      const data = await caseData(c);
      const cpu = await convGradients('cpu', c, data);
      const wasm = await convGradients('wasm', c, data);
      expect(wasm.dw!.length).toBe(data.w.length);
      expect(relativeError(wasm.dw!, cpu.dw!)).toBeLessThan(1e-4);
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
