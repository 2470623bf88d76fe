import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assembleKernels } from '../../bin/build-kernels.js';
import { lrnGradSimd, lrnSimd, maxPoolGradSimd } from '../../core/engine/simd-kernels.js';
import { SIMD_KERNELS_WASM } from '../../core/engine/simd-kernels-wasm.js';
import { lrnBackward, lrnForward } from '../../core/engine/wasm-lrn.js';
import { randomArray, relativeError } from '../helpers/numeric.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

const paper = { depthRadius: 2, bias: 2, alpha: 1e-4, beta: 0.75 };

describe('the SIMD kernels', () => {
  it('are the assembled simd-kernels.wat (npm run build:kernels after an edit)', async () => {
    expect((await assembleKernels()).toString('base64')).toBe(SIMD_KERNELS_WASM);
  });

  it('compute LRN and its gradient as the JavaScript loops do, in place on the heap', () => {
    const shape = [2, 3, 5, 64];
    const [x, dy] = [randomArray(shape).map((v) => v * 50), randomArray(shape)];
    const backend = tf.backend() as BackendWasm;
    const [tx, tdy] = [tf.tensor(x, shape), tf.tensor(dy, shape)];
    const [y, dx] = [backend.makeOutput(shape, 'float32'), backend.makeOutput(shape, 'float32')];
    expect(lrnSimd(tx, y, paper, backend)).toBe(true);
    expect(lrnGradSimd(tx, y, tdy, dx, paper, backend)).toBe(true);
    const heap = (t: tf.TensorInfo) => Float32Array.from(backend.typedArrayFromHeap(t));
    const [simdY, simdDx] = [heap(y), heap(dx)];
    const [jsY, jsDx] = [new Float32Array(x.length), new Float32Array(x.length)];
    lrnForward(Float32Array.from(x), jsY, 64, paper);
    lrnBackward(Float32Array.from(x), jsY, Float32Array.from(dy), jsDx, 64, paper);
    expect(relativeError(simdY, jsY)).toBeLessThan(1e-5);
    expect(relativeError(simdDx, jsDx)).toBeLessThan(1e-5);
    tf.dispose([tx, tdy]);
    backend.disposeData(y.dataId);
    backend.disposeData(dx.dataId);
  });

  it('take the max-pool gradient for channels in fours only', () => {
    const backend = tf.backend() as BackendWasm;
    for (const [channels, taken] of [
      [8, true],
      [6, false],
    ] as const) {
      const shape: [number, number, number, number] = [1, 5, 5, channels];
      const info = tf.backend_util.computePool2DInfo(shape, 3, 2, 1, 'valid');
      const x = tf.zeros(shape);
      const dy = tf.zeros(info.outShape);
      const dx = backend.makeOutput(shape, 'float32');
      expect(maxPoolGradSimd(dy, x, dx, info, backend)).toBe(taken);
      tf.dispose([x, dy]);
      backend.disposeData(dx.dataId);
    }
  });

  it('leave channels not in fours and exponents other than 0.75, 0.5 and 1 to JavaScript', () => {
    const backend = tf.backend() as BackendWasm;
    for (const [shape, attrs] of [
      [[1, 2, 2, 9], paper],
      [[1, 2, 2, 8], { ...paper, beta: 0.6 }],
    ] as const) {
      const x = tf.zeros([...shape]);
      const y = backend.makeOutput([...shape], 'float32');
      expect(lrnSimd(x, y, attrs, backend)).toBe(false);
      x.dispose();
      backend.disposeData(y.dataId);
    }
  });
});
