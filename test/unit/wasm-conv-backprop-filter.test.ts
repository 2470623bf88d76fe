import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convFilterGradSimd, filterGradApplies } from '../../core/engine/simd-kernels.js';
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

  it('takes output channels in eights through the SIMD kernel, and the rest through XNNPACK', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const cases = CONV_CASES.filter((c) => !c.inputOnly && (c.groups ?? 1) === 1);
    const simd = cases.filter((c) => c.w[3] % 8 === 0);
    expect(simd.length).toBeGreaterThanOrEqual(7);
    expect(cases.length - simd.length).toBeGreaterThanOrEqual(10);
    for (const c of cases) {
      const data = await caseData(c);
      await tf.setBackend('wasm');
      const x = tf.tensor4d(data.x, c.x);
      const y = tf.conv2d(x, tf.zeros<tf.Rank.R4>(c.w), c.strides, c.pad);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
      const info = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad);
      expect(filterGradApplies(info), c.name).toBe(simd.includes(c));
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.w };
      const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
      if (simd.includes(c)) {
        // The registered kernel's floats are the SIMD kernel's own (XNNPACK sums in another order).
        const direct = backend.makeOutput(c.w, 'float32');
        expect(convFilterGradSimd(x, dy, direct, info, backend)).toBe(true);
        expect(Array.from(dw.dataSync())).toEqual(Array.from(backend.typedArrayFromHeap(direct)));
        backend.disposeData(direct.dataId);
      }
      tf.dispose([x, y, dy, dw]);
    }
  });

  it('frees every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    // Four output channels go through XNNPACK; eight through the SIMD kernel and its scratch.
    for (const outC of [4, 8]) {
      const x = tf.randomNormal([2, 12, 9, 3], 0, 1, 'float32', 7);
      const dy = tf.randomNormal([2, 6, 5, outC], 0, 1, 'float32', 8);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, outC] };
      const before = tf.memory().numDataBuffers;
      const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
      expect(dw.shape).toEqual([3, 3, 3, outC]);
      expect(tf.memory().numDataBuffers).toBe(before + 1);
      tf.dispose([x, dy, dw]);
    }
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
