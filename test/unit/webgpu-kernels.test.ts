import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { selectBackend } from '../../core/engine/backends.js';
import { recordKernels, replayKernel, type KernelCall } from '../helpers/kernel-recorder.js';
import { relativeError } from '../helpers/numeric.js';
import { evaluateBatch, randomBatch, stepper, tinyConfig } from '../helpers/tiny-trainer.js';
import { webgpuSkipReason } from '../helpers/webgpu.js';

/**
 * Every kernel the trainer runs, forward and gradient, recorded on the cpu backend during real
 * training steps and evaluation of small networks, then run again on webgpu with the same
 * inputs: each output must match to 1e-4 (relative to its largest value).
 */
const skip = await webgpuSkipReason('webgpu-kernels');

const NARROW = ['conv1.filters=8', 'conv2.filters=8', 'conv3.filters=8', 'conv4.filters=8'];
const WORKLOADS = [
  {
    // alexnet-cifar's shapes: 5×5 pad 2 conv1, two towers, the paper's LRN; every optimizer.
    config: tinyConfig('alexnet-cifar', [...NARROW, 'conv5.filters=8', 'fc=16,16']),
    optimizers: ['sgd', 'nesterov', 'adam'] as const,
  },
  {
    // alexnet-paper's shapes: 11×11 stride-4 conv1 without padding; one tower, Caffe's LRN.
    config: tinyConfig('alexnet-paper', [
      ...NARROW,
      'conv5.filters=8',
      'fc=16,16',
      'inputSize=67',
      'sourceSize=72',
      'classes=6',
      'groups=1',
      'lrn=caffe',
    ]),
    optimizers: ['sgd'] as const,
  },
];

/** The trainer's steps and evaluation on the current backend. */
async function trainerWork(): Promise<void> {
  for (const { config, optimizers } of WORKLOADS) {
    for (const type of optimizers) {
      const s = stepper(config, { type, caffeBias: type === 'sgd' });
      const batch = randomBatch(config, 2, 1);
      await s.step(batch, 0.01, 'kernels');
      await s.step(batch, 0.01, 'kernels-2');
      await evaluateBatch(s.logits, batch, config);
      s.dispose();
    }
  }
}

/**
 * The relative error of a kernel's output. A max-pool window whose largest value is shared may
 * send its gradient to any of the equals; in training the shared values are the zeros ReLU
 * leaves, whose gradient ReLU then stops. So MaxPoolGrad is compared where the input is not 0,
 * and by its total, which no routing may change.
 */
function compare(call: KernelCall, actual: tf.TypedArray, expected: tf.TypedArray): number {
  if (call.kernel !== 'MaxPoolGrad') return relativeError(actual, expected);
  const input = call.inputs.input!.values;
  const kept = (v: tf.TypedArray) => Array.from(v).filter((_, i) => input[i] !== 0);
  const total = (v: tf.TypedArray) => [Array.from(v, Number).reduce((a, b) => a + b, 0)];
  return Math.max(
    relativeError(kept(actual), kept(expected)),
    relativeError(total(actual), total(expected)),
  );
}

let calls: KernelCall[] = [];

describe.skipIf(skip !== null)('webgpu kernels against the cpu backend', () => {
  beforeAll(async () => {
    tf.enableProdMode();
    await selectBackend('cpu');
    calls = await recordKernels('cpu', trainerWork);
    await selectBackend('webgpu');
    // Small tensors whose values sit on the CPU would run tfjs's CPU kernels: test the shaders.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  }, 120_000);

  it('records the training kernels, forward and gradient', () => {
    const kernels = new Set(calls.map((c) => c.kernel));
    for (const k of [
      'Conv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'LRN',
      'LRNGrad',
      'MaxPool',
      'MaxPoolGrad',
      'BatchMatMul',
      'Relu',
      'SplitV',
      'Softmax',
      'TopK',
      'Sqrt',
    ])
      expect(kernels, k).toContain(k);
  });

  it('gives the cpu backend outputs for every recorded call', { timeout: 300_000 }, async () => {
    const worst = new Map<string, number>();
    for (const call of calls) {
      const outputs = await replayKernel(call);
      outputs.forEach((values, i) => {
        const error = compare(call, values, call.outputs[i]!.values);
        worst.set(call.kernel, Math.max(worst.get(call.kernel) ?? 0, error));
      });
    }
    const bad = [...worst].filter(([, error]) => !(error <= 1e-4));
    expect(bad, `kernels off by more than 1e-4: ${JSON.stringify(bad)}`).toEqual([]);
    expect(worst.size).toBe(new Set(calls.map((c) => c.kernel)).size);
  });
});
