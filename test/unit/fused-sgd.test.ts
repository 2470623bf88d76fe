import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { fusedSgdStep, SGD_MOMENTUM, sgdMomentumLoop } from '../../core/engine/fused-sgd.js';
import { sgdMomentumSimd } from '../../core/engine/simd-kernels.js';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { defaultRunConfig } from '../../core/schema/run-config.js';
import { presetConfig } from '../../core/schema/model-config.js';
import { Optimizer } from '../../core/train/optimizer.js';
import { randomArray } from '../helpers/numeric.js';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

type OptimType = 'sgd' | 'nesterov';

/** Weights and momentum after three updates of two parameters (one a bias) on `backend`. */
async function threeSteps(
  backend: 'cpu' | 'wasm',
  type: OptimType,
  values: { w: number[]; b: number[]; grads: number[][] },
): Promise<{ weights: Float32Array[]; kernels: string[]; leaked: number }> {
  await tf.setBackend(backend);
  const optim = { ...defaultRunConfig(presetConfig('alexnet-cifar')).optim, type };
  const w = tf.variable(tf.tensor(values.w, [41, 3]), true, `w-${backend}-${type}`);
  const b = tf.variable(tf.tensor(values.b), true, `b-${backend}-${type}`);
  const optimizer = new Optimizer({ ...optim, caffeBias: true }, [
    { name: 'w', variable: w, isBias: false },
    { name: 'b', variable: b, isBias: true },
  ]);
  const kernels = new Set<string>();
  const held = tf.memory().numTensors;
  for (const [i, lr] of [0.01, 0.01, 0.001].entries()) {
    const grads = {
      [w.name]: tf.tensor(values.grads[i]!, [41, 3]),
      [b.name]: tf.tensor(values.grads[i]!.slice(0, values.b.length)),
    };
    const profile = await tf.profile(() => optimizer.apply(grads, lr));
    for (const k of profile.kernels) kernels.add(k.name);
    tf.dispose(Object.values(grads));
  }
  const leaked = tf.memory().numTensors - held;
  const state = optimizer.state().tensors.map((t) => t.tensor.dataSync() as Float32Array);
  const weights = [w.dataSync() as Float32Array, b.dataSync() as Float32Array, ...state];
  optimizer.dispose();
  tf.dispose([w, b]);
  await tf.setBackend('wasm');
  return { weights: weights.map((a) => Float32Array.from(a)), kernels: [...kernels], leaked };
}

describe('the fused SGD update', () => {
  const values = { w: [] as number[], b: [] as number[], grads: [] as number[][] };
  beforeAll(() => {
    values.w = randomArray([123]);
    values.b = randomArray([7]);
    values.grads = [randomArray([123]), randomArray([123]), randomArray([123])];
  });

  for (const type of ['sgd', 'nesterov'] as const) {
    it(`gives the weights and momentum of the tensor ops, float for float (${type})`, async () => {
      const wasm = await threeSteps('wasm', type, values);
      // The wasm optimizer goes through the one kernel; cpu has none and runs the ops.
      expect(wasm.kernels).toEqual([SGD_MOMENTUM]);
      const cpu = await threeSteps('cpu', type, values);
      expect(cpu.kernels).not.toContain(SGD_MOMENTUM);
      expect(cpu.kernels).toEqual(expect.arrayContaining(['Multiply', 'Add']));
      expect(wasm.weights.length).toBe(4);
      wasm.weights.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(cpu.weights[i]!)));
      // It moved the weights, and freed what it allocated.
      expect(Array.from(wasm.weights[0]!)).not.toEqual(values.w.map(Math.fround));
      expect(wasm.leaked).toBe(0);
    });
  }

  it('runs the same in the SIMD kernel and the JavaScript loop, tail included', () => {
    const backend = tf.backend() as BackendWasm;
    const n = 4 * 257 + 3;
    const [w, g, v] = [randomArray([n]), randomArray([n]), randomArray([n])].map((a) =>
      tf.tensor(a),
    ) as [tf.Tensor, tf.Tensor, tf.Tensor];
    for (const nesterov of [false, true]) {
      const params = { eps: 0.013, decay: 5e-4, mu: 0.9, nesterov };
      const [wOut, vOut] = [backend.makeOutput([n], 'float32'), backend.makeOutput([n], 'float32')];
      expect(sgdMomentumSimd({ w, g, v, wOut, vOut }, params, backend)).toBe(true);
      const [jsW, jsV] = [new Float32Array(n), new Float32Array(n)];
      const read = (t: tf.TensorInfo) => Float32Array.from(backend.typedArrayFromHeap(t));
      sgdMomentumLoop(read(w), read(g), read(v), jsW, jsV, params);
      expect(Array.from(read(wOut))).toEqual(Array.from(jsW));
      expect(Array.from(read(vOut))).toEqual(Array.from(jsV));
      backend.disposeData(wOut.dataId);
      backend.disposeData(vOut.dataId);
    }
    tf.dispose([w, g, v]);
  });

  it('refuses a gradient of another shape, and leaves other dtypes to the ops', () => {
    const params = { eps: 0.01, decay: 0, mu: 0.9, nesterov: false };
    const [w, v, g] = [tf.zeros([4, 2]), tf.zeros([4, 2]), tf.zeros([8])];
    expect(() => fusedSgdStep(w, g, v, params)).toThrow(/g \[8\] float32 does not match w \[4,2\]/);
    const ints = tf.zeros([4, 2], 'int32');
    expect(fusedSgdStep(ints, ints, ints, params)).toBeNull();
    tf.dispose([w, v, g, ints]);
  });
});
