/**
 * Moving float32 tensor data in and out of the engine without needless copies, for training
 * threads that exchange gradients and weights through shared memory. On wasm a tensor's data is
 * read and written through a view of the wasm heap; other backends go through their own copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The wasm backend, when it is the active one. */
function wasmBackend(): BackendWasm | null {
  return tf.getBackend() === 'wasm' ? (tf.backend() as BackendWasm) : null;
}

/**
 * The values of a float32 tensor, read only: a view of the wasm heap (valid until the next
 * allocation, which may grow and detach the heap), or what dataSync gives on other backends
 * (the cpu backend's own storage).
 */
export function readFloats(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  const wasm = wasmBackend();
  return wasm ? (wasm.typedArrayFromHeap(t) as Float32Array) : (t.dataSync() as Float32Array);
}

/**
 * A new float32 tensor holding a copy of `values` (which may be a view of shared memory that
 * changes later): wasm copies into its heap by itself, other backends keep the array they get.
 */
export function tensorFromFloats(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(wasmBackend() ? values : values.slice(), shape, 'float32');
}
