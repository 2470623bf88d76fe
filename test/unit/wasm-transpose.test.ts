import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { collapseTranspose } from '../../core/engine/wasm-transpose.js';
import { randomArray } from '../helpers/numeric.js';
import { spyOnWasmKernel, type KernelSpy } from '../helpers/wasm.js';

let originalTranspose: KernelSpy;

beforeAll(async () => {
  originalTranspose = spyOnWasmKernel(tf.Transpose);
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

async function run(backend: 'cpu' | 'wasm', f: () => tf.Tensor) {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const result = { shape: out.shape, values: Array.from(out.dataSync()) };
  out.dispose();
  return result;
}

describe('wasm Transpose', () => {
  it('merges axes that stay together and drops axes of one', () => {
    // The filter gradient's dy: [b, h, w, c] → [h, w, b, c] is [b, hw, c] → [hw, b, c].
    expect(collapseTranspose([128, 24, 24, 64], [1, 2, 0, 3])).toEqual({
      shape: [128, 576, 64],
      perm: [1, 0, 2],
    });
    expect(collapseTranspose([16, 227, 227, 3], [3, 1, 2, 0])).toEqual({
      shape: [16, 51529, 3],
      perm: [2, 1, 0],
    });
    expect(collapseTranspose([1, 5, 1, 7], [0, 3, 2, 1])).toEqual({ shape: [5, 7], perm: [1, 0] });
    expect(collapseTranspose([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
  });

  for (const [shape, perm] of [
    [
      [128, 6, 6, 64],
      [1, 2, 0, 3],
    ], // runs of 64 channels: copied with set()
    [
      [5, 4, 3, 8],
      [1, 2, 0, 3],
    ], // short runs
    [
      [16, 9, 9, 3],
      [3, 1, 2, 0],
    ], // the filter gradient's x: tiles
    [
      [5, 5, 70, 40],
      [1, 2, 0, 3],
    ],
    [
      [3, 4, 5, 6],
      [1, 2, 0, 3],
    ], // the filter gradient's result back
    [
      [70, 45],
      [1, 0],
    ], // a matrix over several tiles, ragged edges
    [
      [1, 33, 65],
      [0, 2, 1],
    ], // a matMul operand
    [
      [2, 3, 4, 5, 6],
      [4, 2, 0, 3, 1],
    ], // rank 5, nothing merges
    [
      [6, 1, 5],
      [2, 1, 0],
    ],
    [
      [4, 3],
      [0, 1],
    ], // no change at all
  ] as [number[], number[]][]) {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      it(`equals cpu: [${shape}] by [${perm}], ${dtype}`, async () => {
        const raw = randomArray(shape);
        const values =
          dtype === 'float32'
            ? raw
            : dtype === 'int32'
              ? raw.map((v) => Math.round(v * 100))
              : raw.map((v) => (v > 0 ? 1 : 0));
        const f = () => tf.transpose(tf.tensor(values, shape, dtype), perm);
        const cpu = await run('cpu', f);
        originalTranspose.mockClear();
        expect(await run('wasm', f)).toEqual(cpu);
        expect(originalTranspose).not.toHaveBeenCalled();
      });
    }
  }
});
