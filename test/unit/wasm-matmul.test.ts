import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// The Node (CJS) build of tfjs-core registers no gradients; tfjs-layers' build registers them
// globally, as it does in the app.
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { randomArray, relativeError } from '../helpers/numeric.js';
import { spyOnWasmKernel, wasmBuffers, type KernelSpy } from '../helpers/wasm.js';

type Backend = 'cpu' | 'wasm';

interface MatMulCase {
  name: string;
  /** Shapes of op(A) and op(B), batch dimensions first; the stored operands are transposed. */
  a: number[];
  b: number[];
  /** Whether the replacement should take it through XNNPACK (unbatched and not tiny). */
  fast: boolean;
}

const CASES: MatMulCase[] = [
  { name: 'unbatched, odd sizes', a: [37, 53], b: [53, 29], fast: true },
  { name: 'unbatched, wide output', a: [13, 41], b: [41, 257], fast: true },
  { name: 'unbatched, tall output', a: [211, 33], b: [33, 7], fast: true },
  { name: 'dense layer shape (128×512·512×96)', a: [128, 512], b: [512, 96], fast: true },
  { name: 'single row', a: [1, 300], b: [300, 61], fast: true },
  { name: 'single column', a: [61, 300], b: [300, 1], fast: true },
  { name: 'inner dimension 1', a: [67, 1], b: [1, 71], fast: true },
  { name: 'rank 3, batch 1', a: [1, 23, 45], b: [1, 45, 19], fast: true },
  { name: 'rank 2 with rank 3 batch 1', a: [23, 45], b: [1, 45, 19], fast: true },
  { name: 'rank 4, batch dims 1×1', a: [1, 1, 19, 31], b: [1, 1, 31, 17], fast: true },
  { name: 'tiny (left to wasm)', a: [2, 3], b: [3, 4], fast: false },
  { name: 'rank 3, batch 3', a: [3, 17, 25], b: [3, 25, 11], fast: false },
  { name: 'broadcast batch: [2]·[1]', a: [2, 15, 21], b: [1, 21, 9], fast: false },
  { name: 'broadcast batch: rank 2 · [3]', a: [15, 21], b: [3, 21, 9], fast: false },
  { name: 'broadcast batch: [2,1]·[1,3]', a: [2, 1, 7, 12], b: [1, 3, 12, 5], fast: false },
];

const FLAGS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** `shape` with its last two dimensions swapped. */
function swapLast(shape: number[]): number[] {
  const s = [...shape];
  const last = s.length - 1;
  [s[last - 1], s[last]] = [s[last]!, s[last - 1]!];
  return s;
}

/** The stored operand for op(X) of the given shape: X itself, or its transpose. */
function storedShape(opShape: number[], transposed: boolean): number[] {
  return transposed ? swapLast(opShape) : opShape;
}

interface Run {
  shape: number[];
  values: Float32Array;
}

/** matMul of the stored operands on `backend`. */
async function matMul(
  backend: Backend,
  a: { shape: number[]; values: number[] },
  b: { shape: number[]; values: number[] },
  transposeA: boolean,
  transposeB: boolean,
): Promise<Run> {
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const c = tf.tidy(() =>
    tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), transposeA, transposeB),
  );
  const run = { shape: c.shape, values: c.dataSync() as Float32Array };
  c.dispose();
  return run;
}

/** wasm's own BatchMatMul and MaxPoolGrad, wrapped in spies before ours replace them. */
let originalBatchMatMul: KernelSpy;
let originalMaxPoolGrad: KernelSpy;

beforeAll(async () => {
  originalBatchMatMul = spyOnWasmKernel(tf.BatchMatMul);
  originalMaxPoolGrad = spyOnWasmKernel(tf.MaxPoolGrad);
  // Registered before the backend is initialised, as the app does: the fallback must still work.
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** The transpose flags of every call of wasm's own BatchMatMul since the last mockClear. */
function originalCalls(): string[] {
  return originalBatchMatMul.mock.calls.map(([args]) => {
    const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
    return `${attrs.transposeA}/${attrs.transposeB}`;
  });
}

describe('wasm BatchMatMul', () => {
  it('replaces the kernel once, however often it is registered', () => {
    const first = tf.getKernel(tf.BatchMatMul, 'wasm');
    expect(first.kernelFunc).not.toBe(originalBatchMatMul);
    expect(first.setupFunc).toBeDefined();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(first);
  });

  for (const c of CASES) {
    for (const [transposeA, transposeB] of FLAGS) {
      it(`matches cpu: ${c.name}, transposeA=${transposeA}, transposeB=${transposeB}`, async () => {
        const aShape = storedShape(c.a, transposeA);
        const bShape = storedShape(c.b, transposeB);
        const a = { shape: aShape, values: randomArray(aShape) };
        const b = { shape: bShape, values: randomArray(bShape) };
        const cpu = await matMul('cpu', a, b, transposeA, transposeB);
        originalBatchMatMul.mockClear();
        const wasm = await matMul('wasm', a, b, transposeA, transposeB);
        expect(wasm.shape).toEqual(cpu.shape);
        expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
        // wasm's own kernel is only ever asked for an untransposed product when ours applies.
        const transposed = transposeA || transposeB;
        const expected = c.fast || !transposed ? 'false/false' : `${transposeA}/${transposeB}`;
        expect(originalCalls()).toEqual([expected]);
      });
    }
  }

  it('gradients of matMul match cpu for every transpose combination', async () => {
    const [m, k, n] = [33, 70, 45];
    for (const [transposeA, transposeB] of FLAGS) {
      const aShape = storedShape([m, k], transposeA);
      const bShape = storedShape([k, n], transposeB);
      const data = { a: randomArray(aShape), b: randomArray(bShape), g: randomArray([m, n]) };
      const grads = async (backend: Backend): Promise<Float32Array[]> => {
        await tf.setBackend(backend);
        const result = tf.tidy(() => {
          const g = tf.tensor2d(data.g, [m, n]);
          const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
            tf.sum(tf.mul(tf.matMul(a, b, transposeA, transposeB), g));
          return tf.grads(f)([tf.tensor(data.a, aShape), tf.tensor(data.b, bShape)]);
        });
        const values = result.map((t) => t.dataSync() as Float32Array);
        tf.dispose(result);
        return values;
      };
      const cpu = await grads('cpu');
      originalBatchMatMul.mockClear();
      const wasm = await grads('wasm');
      expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
      expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(1e-5);
      // Forward and both gradients each ran one untransposed product on wasm's kernel.
      expect(originalCalls()).toEqual(['false/false', 'false/false', 'false/false']);
    }
  });

  it('gradients of a tfjs-layers dense model match cpu', async () => {
    const [batch, inputs, hidden, classes] = [24, 50, 40, 7];
    const build = (): tfl.Sequential => {
      const model = tfl.sequential();
      model.add(tfl.layers.dense({ inputShape: [inputs], units: hidden, activation: 'relu' }));
      model.add(tfl.layers.dense({ units: classes }));
      return model;
    };
    let initial: { shape: number[]; values: number[] }[] | undefined;
    const data = { x: randomArray([batch, inputs]), y: randomArray([batch, classes]) };
    /** Gradients of the loss w.r.t. [kernel1, bias1, kernel2, bias2]. */
    const grads = async (backend: Backend): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const model = build();
      if (initial == null) {
        initial = model.getWeights().map((w) => ({ shape: w.shape, values: randomArray(w.shape) }));
      }
      model.setWeights(initial.map((w) => tf.tensor(w.values, w.shape)));
      const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads: byName, value } = tf.variableGrads(() => {
        const x = tf.tensor2d(data.x, [batch, inputs]);
        const y = tf.tensor2d(data.y, [batch, classes]);
        // training: true takes the same path as fit (unfused matMul + bias + relu on wasm).
        return tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor);
      }, weights);
      const result = weights.map((w) => byName[w.name]!.dataSync() as Float32Array);
      tf.dispose([...Object.values(byName), value]);
      model.dispose();
      return result;
    };
    const cpu = await grads('cpu');
    originalBatchMatMul.mockClear();
    const wasm = await grads('wasm');
    expect(wasm.length).toBe(4);
    wasm.forEach((values, i) => {
      expect(values.length).toBe(cpu[i]!.length);
      expect(relativeError(values, cpu[i]!), `weight ${i}`).toBeLessThan(1e-5);
    });
    // At least the hidden layer's forward product and three gradient products ran on wasm.
    expect(originalCalls().length).toBeGreaterThanOrEqual(4);
    expect(originalCalls().every((flags) => flags === 'false/false')).toBe(true);
  });

  it("takes a weight's first untransposed product as (Wᵀ·xᵀ)ᵀ, later ones straight", async () => {
    const [m, k, n] = [6, 300, 200];
    const x = { shape: [m, k], values: randomArray([m, k]) };
    const w = { shape: [k, n], values: randomArray([k, n]) };
    const cpu = await matMul('cpu', x, w, false, false);
    await tf.setBackend('wasm');
    const xT = tf.tensor(x.values, x.shape);
    const wT = tf.tensor(w.values, w.shape);
    const shapes = () =>
      originalBatchMatMul.mock.calls.map(([args]) => {
        const { a, b } = args.inputs as tf.BatchMatMulInputs;
        return `${a!.shape.join('x')}·${b!.shape.join('x')}`;
      });
    for (const expected of [`${n}x${k}·${k}x${m}`, `${m}x${k}·${k}x${n}`, `${m}x${k}·${k}x${n}`]) {
      originalBatchMatMul.mockClear();
      const tensors = tf.memory().numTensors;
      const buffers = wasmBuffers();
      const y = tf.matMul(xT, wT);
      expect(y.shape).toEqual([m, n]);
      expect(relativeError(y.dataSync(), cpu.values)).toBeLessThan(1e-5);
      expect(shapes()).toEqual([expected]);
      expect(tf.memory().numTensors).toBe(tensors + 1);
      expect(wasmBuffers()).toBe(buffers + 1);
      y.dispose();
    }
    // A weight that is not much larger than the batch's rows goes straight on first sight too.
    originalBatchMatMul.mockClear();
    const square = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
    expect(shapes()).toEqual(['64x64·64x64']);
    tf.dispose([xT, wT, square]);
  });

  it('frees every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    for (const [transposeA, transposeB] of FLAGS) {
      for (const [m, k, n] of [
        [40, 30, 50],
        [40, 300, 4], // 'operands' for transposeB
        [4, 300, 50], // 'product' for transposeB
      ] as const) {
        const a = tf.randomNormal(storedShape([m, k], transposeA), 0, 1, 'float32', 5);
        const b = tf.randomNormal(storedShape([k, n], transposeB), 0, 1, 'float32', 6);
        const tensors = tf.memory().numTensors;
        const buffers = wasmBuffers();
        const c = tf.engine().runKernel(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
        expect((c as tf.Tensor).shape).toEqual([m, n]);
        expect(tf.memory().numTensors).toBe(tensors + 1);
        // The engine's numDataBuffers only counts tensors; the backend sees every buffer.
        expect(wasmBuffers()).toBe(buffers + 1);
        tf.dispose([a, b, c as tf.Tensor]);
      }
    }
  });

  it('leaves non-float32 operands to the original kernel', async () => {
    await tf.setBackend('wasm');
    const a = tf.ones([20, 30], 'int32');
    const b = tf.ones([40, 30], 'int32');
    originalBatchMatMul.mockClear();
    expect(() => tf.matMul(a, b, false, true)).toThrow(/float32/);
    expect(originalCalls()).toEqual(['false/true']);
    tf.dispose([a, b]);
  });
});

type Pad = 'valid' | 'same' | number;

interface PoolCase {
  name: string;
  /** NHWC input shape. */
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const POOL_CASES: PoolCase[] = [
  { name: '3x3/2 valid (AlexNet)', x: [3, 11, 11, 8], filterSize: 3, strides: 2, pad: 'valid' },
  {
    name: '3x3/2 valid, odd non-square, remainder dropped',
    x: [2, 14, 9, 5],
    filterSize: 3,
    strides: 2,
    pad: 'valid',
  },
  { name: '3x3/2 same, odd sizes', x: [2, 9, 7, 5], filterSize: 3, strides: 2, pad: 'same' },
  { name: '2x2/2 valid', x: [2, 8, 10, 6], filterSize: 2, strides: 2, pad: 'valid' },
  { name: '2x2/2 valid, odd sizes', x: [2, 9, 7, 3], filterSize: 2, strides: 2, pad: 'valid' },
  { name: '2x2/2 same, odd sizes', x: [2, 9, 7, 3], filterSize: 2, strides: 2, pad: 'same' },
  { name: '3x3/1 same', x: [2, 7, 8, 4], filterSize: 3, strides: 1, pad: 'same' },
  {
    name: '3x2 window, strides [2, 1]',
    x: [2, 11, 10, 3],
    filterSize: [3, 2],
    strides: [2, 1],
    pad: 'valid',
  },
  {
    name: '4x3 window, strides [2, 3], same',
    x: [2, 10, 11, 3],
    filterSize: [4, 3],
    strides: [2, 3],
    pad: 'same',
  },
  { name: 'numeric pad 1', x: [2, 10, 11, 3], filterSize: 3, strides: 2, pad: 1 },
  // Channels in fours take the SIMD kernel (core/engine/simd-kernels.wat); the rest, JavaScript.
  { name: '3x3/2 same, 12 channels', x: [2, 9, 7, 12], filterSize: 3, strides: 2, pad: 'same' },
  {
    name: '4x3 window, strides [2, 3], same, 8 channels',
    x: [2, 10, 11, 8],
    filterSize: [4, 3],
    strides: [2, 3],
    pad: 'same',
  },
  {
    name: '2x2/3 valid, inputs no window reads',
    x: [2, 11, 10, 3],
    filterSize: 2,
    strides: 3,
    pad: 'valid',
  },
];

/** Input values: ties (small integers after ReLU, so many all-zero windows) or all negative. */
type PoolData = 'ties' | 'negative' | 'normal';

function poolInput(shape: number[], kind: PoolData): number[] {
  const values = randomArray(shape);
  if (kind === 'ties') return values.map((v) => Math.max(0, Math.round(2 * v)));
  if (kind === 'negative') return values.map((v) => -1 - Math.abs(v));
  return values;
}

function poolAttrs(c: PoolCase): tf.MaxPoolGradAttrs {
  const { filterSize, strides, pad, dimRoundingMode } = c;
  return { filterSize, strides, pad, dimRoundingMode };
}

/** MaxPoolGrad on `backend`, with the forward output computed there. */
async function maxPoolGrad(
  backend: Backend,
  c: PoolCase,
  x: number[],
  dy: number[] | null,
): Promise<{ dy: number[]; dx: Float32Array }> {
  await tf.setBackend(backend);
  const input = tf.tensor4d(x, c.x);
  const output = tf.maxPool(input, c.filterSize, c.strides, c.pad, c.dimRoundingMode);
  const dyValues = dy ?? randomArray(output.shape);
  const dyT = tf.tensor(dyValues, output.shape);
  const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy: dyT, input, output }, { ...poolAttrs(c) });
  const values = (dx as tf.Tensor).dataSync() as Float32Array;
  tf.dispose([input, output, dyT, dx as tf.Tensor]);
  return { dy: dyValues, dx: values };
}

describe('wasm MaxPoolGrad', () => {
  it('replaces the kernel once, however often it is registered', () => {
    const first = tf.getKernel(tf.MaxPoolGrad, 'wasm');
    expect(first.kernelFunc).not.toBe(originalMaxPoolGrad);
    expect(first.setupFunc).toBeDefined();
    registerWasmTrainingKernels();
    expect(tf.getKernel(tf.MaxPoolGrad, 'wasm')).toBe(first);
  });

  for (const c of POOL_CASES) {
    for (const kind of ['ties', 'negative', 'normal'] as const) {
      it(`matches cpu: ${c.name}, ${kind} values`, async () => {
        const x = poolInput(c.x, kind);
        const cpu = await maxPoolGrad('cpu', c, x, null);
        originalMaxPoolGrad.mockClear();
        const wasm = await maxPoolGrad('wasm', c, x, cpu.dy);
        expect(originalMaxPoolGrad).not.toHaveBeenCalled();
        // Exact where windows do not overlap; else the overlapping sums may round differently.
        expect(relativeError(wasm.dx, cpu.dx)).toBeLessThan(1e-6);
      });
    }
  }

  it('gives a tied window its gradient once, at its first max (as cpu does)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0], [1, 4, 4, 1]);
    const y = tf.maxPool(x, 2, 2, 'valid');
    const dy = tf.tensor4d([1, 10, 100, 1000], [1, 2, 2, 1]);
    const dx = tf
      .engine()
      .runKernel(
        tf.MaxPoolGrad,
        { dy, input: x, output: y },
        { filterSize: 2, strides: 2, pad: 'valid' },
      ) as tf.Tensor;
    expect(Array.from(dx.dataSync())).toEqual([
      1, 0, 10, 0, 0, 0, 0, 0, 100, 0, 1000, 0, 0, 0, 0, 0,
    ]);
    tf.dispose([x, y, dy, dx]);
  });

  it('recomputes the forward output when none is given', async () => {
    const c = POOL_CASES[0]!;
    const x = poolInput(c.x, 'ties');
    const cpu = await maxPoolGrad('cpu', c, x, null);
    await tf.setBackend('wasm');
    const input = tf.tensor4d(x, c.x);
    const dy = tf.tensor(cpu.dy, [3, 5, 5, 8]);
    const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input }, { ...poolAttrs(c) });
    expect(relativeError((dx as tf.Tensor).dataSync(), cpu.dx)).toBeLessThan(1e-6);
    tf.dispose([input, dy, dx as tf.Tensor]);
  });

  it('the gradient of maxPool matches cpu through tf.grad', async () => {
    const shape: [number, number, number, number] = [4, 13, 13, 6];
    const x = poolInput(shape, 'ties');
    const g = randomArray([4, 6, 6, 6]);
    const grad = async (backend: Backend): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const dx = tf.tidy(() => {
        const gT = tf.tensor4d(g, [4, 6, 6, 6]);
        const f = (a: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 3, 2, 'valid'), gT));
        return tf.grad(f)(tf.tensor4d(x, shape));
      });
      const values = dx.dataSync() as Float32Array;
      dx.dispose();
      return values;
    };
    const cpu = await grad('cpu');
    originalMaxPoolGrad.mockClear();
    const wasm = await grad('wasm');
    expect(originalMaxPoolGrad).not.toHaveBeenCalled();
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
  });

  it('frees every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    for (const c of POOL_CASES) {
      const input = tf.randomNormal(c.x, 0, 1, 'float32', 9);
      const output = tf.maxPool(
        input as tf.Tensor4D,
        c.filterSize,
        c.strides,
        c.pad,
        c.dimRoundingMode,
      );
      const dy = tf.randomNormal(output.shape, 0, 1, 'float32', 10);
      const tensors = tf.memory().numTensors;
      const buffers = wasmBuffers();
      const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, { ...poolAttrs(c) });
      expect((dx as tf.Tensor).shape).toEqual(c.x);
      expect(tf.memory().numTensors).toBe(tensors + 1);
      expect(wasmBuffers()).toBe(buffers + 1);
      tf.dispose([input, output, dy, dx as tf.Tensor]);
    }
  });

  it("leaves windows clipped by dimRoundingMode 'ceil' to the original kernel", async () => {
    await tf.setBackend('wasm');
    const input = tf.randomNormal([2, 10, 12, 3], 0, 1, 'float32', 11);
    const dy = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 12);
    originalMaxPoolGrad.mockClear();
    const attrs = { filterSize: 3, strides: 2, pad: 0, dimRoundingMode: 'ceil' };
    const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input }, attrs) as tf.Tensor;
    expect(dx.shape).toEqual([2, 10, 12, 3]);
    expect(originalMaxPoolGrad).toHaveBeenCalledTimes(1);
    tf.dispose([input, dy, dx]);
  });

  it('leaves int32 inputs to the original kernel', async () => {
    await tf.setBackend('wasm');
    const input = tf.ones([1, 4, 4, 1], 'int32');
    const output = tf.ones([1, 2, 2, 1], 'int32');
    const dy = tf.ones([1, 2, 2, 1]);
    originalMaxPoolGrad.mockClear();
    const dx = tf
      .engine()
      .runKernel(
        tf.MaxPoolGrad,
        { dy, input, output },
        { filterSize: 2, strides: 2, pad: 'valid' },
      );
    expect(originalMaxPoolGrad).toHaveBeenCalledTimes(1);
    tf.dispose([input, output, dy, dx as tf.Tensor]);
  });
});
