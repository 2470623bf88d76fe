import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { selectBackend } from '../../core/engine/backends.js';
import {
  checkEngine,
  clearEngineFault,
  engineFault,
  explainEngineError,
} from '../../core/engine/faults.js';
import { presetConfig } from '../../core/schema/model-config.js';
import { relativeError } from '../helpers/numeric.js';
import { randomBatch, stepper } from '../helpers/tiny-trainer.js';
import { webgpuSkipReason } from '../helpers/webgpu.js';

/** Training on webgpu against wasm, and what a failing GPU does to a step. */
const skip = await webgpuSkipReason('webgpu-training');

const CIFAR = presetConfig('alexnet-cifar');
const BATCH = randomBatch(CIFAR, 4, 7);

/** Two steps of alexnet-cifar at batch 4 on `backend`: losses and the weights after them. */
async function twoSteps(backend: 'wasm' | 'webgpu') {
  await selectBackend(backend);
  const s = stepper(CIFAR);
  const first = await s.step(BATCH, 0.01, 'step-1');
  const tensors = tf.memory().numTensors;
  const second = await s.step(BATCH, 0.01, 'step-2');
  const leaked = tf.memory().numTensors - tensors;
  const weights = await s.weights();
  s.dispose();
  return { losses: [first.loss, second.loss], weights, leaked };
}

describe.skipIf(skip !== null)('training on webgpu', () => {
  beforeAll(() => tf.enableProdMode());
  afterAll(() => clearEngineFault());

  it(
    'alexnet-cifar steps at batch 4 equal wasm to 1e-3, without leaking tensors',
    { timeout: 240_000 },
    async () => {
      const wasm = await twoSteps('wasm');
      const webgpu = await twoSteps('webgpu');
      expect(webgpu.leaked).toBe(0);
      expect(relativeError(webgpu.losses, wasm.losses)).toBeLessThanOrEqual(1e-3);
      wasm.weights.forEach((values, i) =>
        expect(relativeError(webgpu.weights[i]!, values), `weight ${i}`).toBeLessThanOrEqual(1e-3),
      );
      // The step changed the weights, so the comparison is of training, not of initialisation.
      expect(wasm.losses[1]).not.toBe(wasm.losses[0]);
    },
  );

  // The backend the first test loaded: loading it again would compile every shader again.
  it('a GPU out of memory fails the step with advice for the batch', async () => {
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: EventTarget }).device;
    const g = globalThis as unknown as Record<string, new (...args: unknown[]) => object>;
    // What Dawn raises when a buffer cannot be allocated, through the device's own event.
    const error = new g.GPUOutOfMemoryError!('Out of memory while allocating a 2 GiB buffer');
    device.dispatchEvent(new g.GPUUncapturedErrorEvent!('uncapturederror', { error }) as Event);
    expect(() => checkEngine()).toThrow(/^the GPU ran out of memory \(Out of memory while/);
    expect((explainEngineError(new Error('Buffer is invalid'), 128) as Error).message).toMatch(
      /train with a smaller batch \(--set batch=64\), or resume the run on another engine/,
    );
    clearEngineFault();
  });

  it('a lost device fails the step with the reason', async () => {
    await tf.setBackend('webgpu');
    const s = stepper(CIFAR);
    (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    const failure = await s.step(BATCH, 0.01, 'after').then(
      () => null,
      (err: unknown) => err,
    );
    // tfjs reads a lost device's results as an error with no message; the loss says why.
    expect(engineFault()?.kind).toBe('device-lost');
    expect((explainEngineError(failure ?? new Error('no failure')) as Error).message).toMatch(
      /^the GPU device was lost \(destroyed: .*\): .*resume the run/,
    );
    tf.removeBackend('webgpu');
  });
});
