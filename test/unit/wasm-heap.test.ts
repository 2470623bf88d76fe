import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { randomArray, relativeError } from '../helpers/numeric.js';
import { spyOnWasmKernel, wasmBuffers, type KernelSpy } from '../helpers/wasm.js';

type Backend = 'cpu' | 'wasm';

interface SliceCase {
  shape: number[];
  begin: number[];
  /** −1 takes the rest of an axis, as tf.slice allows. */
  size: number[];
}

const SLICES: SliceCase[] = [
  { shape: [10], begin: [3], size: [5] },
  { shape: [9, 7], begin: [2, 0], size: [4, 7] }, // whole rows: one run
  { shape: [9, 7], begin: [1, 2], size: [5, 3] }, // short runs, copied element by element
  { shape: [6, 70], begin: [1, 5], size: [3, 60] }, // long runs, copied with set()
  { shape: [2, 5, 6, 8], begin: [0, 0, 0, 3], size: [2, 5, 6, 4] }, // channels (a tower)
  { shape: [2, 5, 6, 40], begin: [1, 1, 2, 0], size: [1, 3, -1, 40] },
  { shape: [3, 4, 5, 6], begin: [1, 2, 1, 2], size: [2, 2, 3, 3] },
  { shape: [2, 3, 2, 3, 4], begin: [0, 1, 0, 1, 1], size: [2, 2, 2, 2, 3] }, // rank 5
  { shape: [4, 3], begin: [1, 0], size: [0, 3] }, // empty
];

const DTYPES = ['float32', 'int32', 'bool'] as const;

let originalSlice: KernelSpy;
let originalSplitV: KernelSpy;
let originalSum: KernelSpy;

beforeAll(async () => {
  originalSlice = spyOnWasmKernel(tf.Slice);
  originalSplitV = spyOnWasmKernel(tf.SplitV);
  originalSum = spyOnWasmKernel(tf.Sum);
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** Values of a dtype from normal ones: the values themselves, rounded, or their sign. */
function valuesOf(shape: number[], dtype: (typeof DTYPES)[number]): number[] {
  const values = randomArray(shape);
  if (dtype === 'int32') return values.map((v) => Math.round(v * 100));
  if (dtype === 'bool') return values.map((v) => (v > 0 ? 1 : 0));
  return values;
}

/** Each output of `f` on `backend`: shape and values. */
async function run(
  backend: Backend,
  f: () => tf.Tensor | tf.Tensor[],
): Promise<{ shape: number[]; values: number[] }[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const result = list.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
  tf.dispose(list);
  return result;
}

describe('wasm Slice, SplitV and Sum', () => {
  it('replace the kernels once, however often they are registered', () => {
    for (const [name, original] of [
      [tf.Slice, originalSlice],
      [tf.SplitV, originalSplitV],
      [tf.Sum, originalSum],
    ] as const) {
      const first = tf.getKernel(name, 'wasm');
      expect(first.kernelFunc).not.toBe(original);
      registerWasmTrainingKernels();
      expect(tf.getKernel(name, 'wasm')).toBe(first);
    }
  });

  for (const c of SLICES) {
    for (const dtype of DTYPES) {
      it(`slice equals cpu: [${c.shape}] from [${c.begin}] size [${c.size}], ${dtype}`, async () => {
        const values = valuesOf(c.shape, dtype);
        const f = () => tf.slice(tf.tensor(values, c.shape, dtype), c.begin, c.size);
        const cpu = await run('cpu', f);
        originalSlice.mockClear();
        expect(await run('wasm', f)).toEqual(cpu);
        expect(originalSlice).not.toHaveBeenCalled();
      });
    }
  }

  for (const [shape, splits, axis] of [
    [[2, 5, 6, 8], 2, 3], // AlexNet's towers
    [[2, 5, 6, 8], [3, 1, 4], 3],
    [[3, 3, 4, 6], 2, 3], // a grouped kernel
    [[4, 6, 5], [1, -1, 2], 1],
    [[6, 5], 3, 0],
  ] as [number[], number | number[], number][]) {
    it(`split equals cpu: [${shape}] into ${JSON.stringify(splits)} on axis ${axis}`, async () => {
      const values = randomArray(shape);
      const f = () => tf.split(tf.tensor(values, shape), splits, axis);
      const cpu = await run('cpu', f);
      originalSplitV.mockClear();
      expect(await run('wasm', f)).toEqual(cpu);
      expect(originalSplitV).not.toHaveBeenCalled();
    });
  }

  it('the gradients of concat (a split) and slice equal cpu', async () => {
    const [a, b, g] = [
      randomArray([2, 3, 4, 5]),
      randomArray([2, 3, 4, 7]),
      randomArray([2, 3, 4, 12]),
    ];
    const f = () => {
      const [ta, tb, tg] = [
        tf.tensor4d(a, [2, 3, 4, 5]),
        tf.tensor4d(b, [2, 3, 4, 7]),
        tf.tensor4d(g, [2, 3, 4, 12]),
      ];
      const loss = (x: tf.Tensor, y: tf.Tensor) =>
        tf.add(
          tf.sum(tf.mul(tf.concat([x, y], 3), tg)),
          tf.sum(tf.slice(y, [0, 1, 1, 2], [2, 2, 2, 4])),
        );
      return tf.grads(loss)([ta, tb]);
    };
    expect(await run('wasm', f)).toEqual(await run('cpu', f));
  });

  for (const [shape, axis, keepDims, ours] of [
    [[6, 5, 4, 9], [0, 1, 2], false, true], // a bias gradient
    [[6, 5, 4, 9], [2, 0, 1], true, true],
    [[7, 5, 3], 0, false, true], // 7 rows: four at once, then three
    [[4, 3, 2, 5], [0, 1], true, true],
    [[9, 33], -2, false, true],
    [[6, 5, 4, 9], [1, 2], false, false], // not leading: wasm's own
    [[6, 5, 4, 9], [0, 1, 2, 3], false, false],
    [[6, 5, 4, 9], 3, true, false],
  ] as [number[], number | number[], boolean, boolean][]) {
    it(`sum matches cpu: [${shape}] over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, async () => {
      const values = randomArray(shape);
      const f = () => tf.sum(tf.tensor(values, shape), axis, keepDims);
      const [cpu] = await run('cpu', f);
      originalSum.mockClear();
      const [wasm] = await run('wasm', f);
      expect(wasm!.shape).toEqual(cpu!.shape);
      expect(relativeError(wasm!.values, cpu!.values)).toBeLessThan(1e-6);
      expect(originalSum.mock.calls.length).toBe(ours ? 0 : 1);
    });
  }

  it('leaves int32 sums to the original kernel', async () => {
    const f = () =>
      tf.sum(
        tf.tensor(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          [3, 2],
          'int32',
        ),
        0,
      );
    originalSum.mockClear();
    expect(await run('wasm', f)).toEqual([{ shape: [2], values: [9, 12] }]);
    expect(originalSum).toHaveBeenCalledTimes(1);
  });

  it('free every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 5, 6, 8], 0, 1, 'float32', 3);
    const tensors = tf.memory().numTensors;
    const buffers = wasmBuffers();
    const s = tf.slice(x, [0, 1, 1, 2], [2, 3, 4, 5]);
    const parts = tf.split(x, 2, 3);
    const total = tf.sum(x, [0, 1, 2]);
    expect(tf.memory().numTensors).toBe(tensors + 4);
    expect(wasmBuffers()).toBe(buffers + 4);
    tf.dispose([x, s, total, ...parts]);
  });

  it('identity shares its input buffer, which outlives the input', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const buffers = wasmBuffers();
    const y = x.clone();
    expect(wasmBuffers()).toBe(buffers);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    y.dispose();
    expect(wasmBuffers()).toBe(buffers - 1);
    // A gradient that saves its inputs (clones them) still equals cpu.
    const f = () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), v)))(tf.tensor([-1, 2, 3]));
    expect(await run('wasm', f)).toEqual(await run('cpu', f));
  });

  it('leave strings to the original kernels', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(['a', 'b', 'c', 'd'], [4], 'string');
    originalSlice.mockClear();
    const s = tf.slice(x, [1], [2]);
    expect(await s.array()).toEqual(['b', 'c']);
    expect(originalSlice).toHaveBeenCalledTimes(1);
    tf.dispose([x, s]);
  });
});
