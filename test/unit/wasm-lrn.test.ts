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
type Shape4D = [number, number, number, number];

interface LrnParams {
  name: string;
  depthRadius: number;
  bias: number;
  alpha: number;
  beta: number;
  /** Input standard deviation: large enough that α·Σx² is of the order of the bias. */
  std: number;
}

const PARAMS: LrnParams[] = [
  {
    name: 'paper (r 2, k 2, α 1e-4, β 0.75)',
    depthRadius: 2,
    bias: 2,
    alpha: 1e-4,
    beta: 0.75,
    std: 50,
  },
  {
    name: 'caffe (r 2, k 1, α 2e-5, β 0.75)',
    depthRadius: 2,
    bias: 1,
    alpha: 2e-5,
    beta: 0.75,
    std: 100,
  },
  { name: 'r 1, β 0.5', depthRadius: 1, bias: 1, alpha: 1, beta: 0.5, std: 1 },
  { name: 'r 3, β 1', depthRadius: 3, bias: 0.5, alpha: 0.3, beta: 1, std: 1 },
  { name: 'r 0, general β 0.6', depthRadius: 0, bias: 1.5, alpha: 0.1, beta: 0.6, std: 2 },
  { name: 'r 5, general β 1.3', depthRadius: 5, bias: 1, alpha: 0.05, beta: 1.3, std: 2 },
];

const SHAPES: Shape4D[] = [
  [2, 5, 7, 9], // odd sizes
  [3, 4, 4, 64], // alexnet-cifar's conv1 channels
  [1, 3, 2, 96], // the paper's conv1 channels
  [2, 3, 3, 3], // window wider than the channels
  [2, 2, 3, 1], // a single channel
];

let originalLrn: KernelSpy;
let originalLrnGrad: KernelSpy;

beforeAll(async () => {
  originalLrn = spyOnWasmKernel(tf.LRN);
  originalLrnGrad = spyOnWasmKernel(tf.LRNGrad);
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

function attrsOf(p: LrnParams): tf.LRNAttrs {
  return { depthRadius: p.depthRadius, bias: p.bias, alpha: p.alpha, beta: p.beta };
}

/** LRN's output and its input gradient for the upstream gradient g, through tf.grad. */
async function lrnAndGrad(
  backend: Backend,
  shape: Shape4D,
  p: LrnParams,
  data: { x: number[]; g: number[] },
): Promise<{ y: Float32Array; dx: Float32Array }> {
  await tf.setBackend(backend);
  const [y, dx] = tf.tidy(() => {
    const x = tf.tensor4d(data.x, shape);
    const g = tf.tensor4d(data.g, shape);
    const lrn = (a: tf.Tensor4D) =>
      tf.localResponseNormalization(a, p.depthRadius, p.bias, p.alpha, p.beta);
    const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(lrn(a as tf.Tensor4D), g)))(x);
    return [lrn(x), grad];
  });
  const result = { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  tf.dispose([y, dx]);
  return result;
}

describe('wasm LRN and LRNGrad', () => {
  it('replace the kernels once, however often they are registered', () => {
    for (const [name, original] of [
      [tf.LRN, originalLrn],
      [tf.LRNGrad, originalLrnGrad],
    ] as const) {
      const first = tf.getKernel(name, 'wasm');
      expect(first.kernelFunc).not.toBe(original);
      expect(first.setupFunc).toBeDefined();
      registerWasmTrainingKernels();
      expect(tf.getKernel(name, 'wasm')).toBe(first);
    }
  });

  for (const p of PARAMS) {
    for (const shape of SHAPES) {
      it(`match cpu: ${p.name}, [${shape.join(', ')}]`, async () => {
        const x = randomArray(shape).map((v) => v * p.std);
        const data = { x, g: randomArray(shape) };
        const cpu = await lrnAndGrad('cpu', shape, p, data);
        originalLrn.mockClear();
        originalLrnGrad.mockClear();
        const wasm = await lrnAndGrad('wasm', shape, p, data);
        expect(originalLrn).not.toHaveBeenCalled();
        expect(originalLrnGrad).not.toHaveBeenCalled();
        expect(relativeError(wasm.y, cpu.y)).toBeLessThan(1e-4);
        expect(relativeError(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
      });
    }
  }

  it('matches cpu after ReLU (many zeros) and on rank 3 inputs', async () => {
    const p = PARAMS[0]!;
    const shape: Shape4D = [1, 6, 5, 32];
    const data = {
      x: randomArray(shape).map((v) => Math.max(0, v * p.std)),
      g: randomArray(shape),
    };
    const run = async (backend: Backend) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x3 = tf.tensor3d(data.x, [6, 5, 32]);
        return tf
          .localResponseNormalization(x3, p.depthRadius, p.bias, p.alpha, p.beta)
          .dataSync() as Float32Array;
      });
    };
    expect(relativeError(await run('wasm'), await run('cpu'))).toBeLessThan(1e-4);
    const cpu = await lrnAndGrad('cpu', shape, p, data);
    const wasm = await lrnAndGrad('wasm', shape, p, data);
    expect(relativeError(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
  });

  it('LRNGrad matches cpu for a y and dy given directly', async () => {
    const p = PARAMS[1]!;
    const shape: Shape4D = [2, 4, 3, 17];
    const values = {
      x: randomArray(shape).map((v) => v * p.std),
      y: randomArray(shape),
      dy: randomArray(shape),
    };
    const run = async (backend: Backend) => {
      await tf.setBackend(backend);
      const [x, y, dy] = [values.x, values.y, values.dy].map((v) => tf.tensor4d(v, shape));
      const dx = tf.engine().runKernel(tf.LRNGrad, { x: x!, y: y!, dy: dy! }, { ...attrsOf(p) });
      const result = (dx as tf.Tensor).dataSync() as Float32Array;
      tf.dispose([x!, y!, dy!, dx as tf.Tensor]);
      return result;
    };
    const cpu = await run('cpu');
    expect(relativeError(await run('wasm'), cpu)).toBeLessThan(1e-4);
  });

  it('free every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const shape: Shape4D = [2, 3, 3, 16];
    const x = tf.randomNormal(shape, 0, 50, 'float32', 3);
    const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const tensors = tf.memory().numTensors;
    const buffers = wasmBuffers();
    const y = tf.engine().runKernel(tf.LRN, { x }, { ...attrsOf(PARAMS[0]!) }) as tf.Tensor;
    const dx = tf.engine().runKernel(tf.LRNGrad, { x, y, dy }, { ...attrsOf(PARAMS[0]!) });
    expect(tf.memory().numTensors).toBe(tensors + 2);
    expect(wasmBuffers()).toBe(buffers + 2);
    tf.dispose([x, dy, y, dx as tf.Tensor]);
  });

  it('leave int32 inputs to the original kernel', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([1, 2, 2, 3], 'int32');
    originalLrn.mockClear();
    expect(() => tf.engine().runKernel(tf.LRN, { x }, { ...attrsOf(PARAMS[0]!) })).toThrow(
      /float32/,
    );
    expect(originalLrn).toHaveBeenCalledTimes(1);
    x.dispose();
  });
});
