import * as tf from '@tensorflow/tfjs-core';
import { expect, vi } from 'vitest';

export type KernelSpy = ReturnType<typeof vi.fn<tf.KernelFunc>>;

/**
 * Replaces wasm's own kernel by a spy on it. Call it before registerWasmTrainingKernels(), so
 * that our replacement falls back to the spy.
 */
export function spyOnWasmKernel(kernelName: string): KernelSpy {
  const original = tf.getKernel(kernelName, 'wasm');
  expect(original).toBeDefined();
  const spy = vi.fn<tf.KernelFunc>(original.kernelFunc);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: spy });
  return spy;
}

/** Buffers held by the wasm backend, including any a kernel allocated and failed to free. */
export function wasmBuffers(): number {
  return tf.engine().findBackend('wasm').numDataIds();
}
