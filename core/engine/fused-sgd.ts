/**
 * The SGD-with-momentum update as one kernel, for the wasm backend.
 *
 * Written as tensor ops (core/train/optimizer.ts) the update is six elementwise passes over every
 * weight, each reading one or two weight-sized tensors and writing another: fifteen weight-sized
 * streams in all, 3.7 GB a step on `alexnet-paper` (244 MB of weights), about a tenth of its
 * training step on one thread. The kernel reads w, g and v once and writes w′ and v′ (five
 * streams), rounding each product and sum in the same order as the ops, so the weights come out
 * the same floats either way. Other backends (and a runtime
 * without WebAssembly SIMD, through the JavaScript loop here) keep to the same arithmetic.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { sgdMomentumSimd, type SgdParams } from './simd-kernels.js';

export type { SgdParams };

/** The kernel's name in tfjs's registry: inputs w, g, v; outputs w′, v′. */
export const SGD_MOMENTUM = 'SupervisionSgdMomentum';

/** The update in JavaScript, one float at a time, with float32 rounding after every operation. */
export function sgdMomentumLoop(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  wOut: Float32Array,
  vOut: Float32Array,
  params: SgdParams,
): void {
  const f = Math.fround;
  const [negEps, decay, mu] = [f(-params.eps), f(params.decay), f(params.mu)];
  for (let i = 0; i < w.length; i++) {
    const step = f(f(g[i]! + f(w[i]! * decay)) * negEps);
    const velocity = f(f(v[i]! * mu) + step);
    vOut[i] = velocity;
    wOut[i] = params.nesterov ? w[i]! + f(f(velocity * mu) + step) : w[i]! + velocity;
  }
}

const sgdMomentum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, v } = inputs as { w?: TensorInfo; g?: TensorInfo; v?: TensorInfo };
  if (w == null || g == null || v == null) {
    throw new Error(`${SGD_MOMENTUM}: inputs w, g and v are required`);
  }
  for (const [name, t] of [
    ['g', g],
    ['v', v],
  ] as const) {
    if (t.shape.join() !== w.shape.join() || t.dtype !== 'float32' || w.dtype !== 'float32') {
      throw new Error(
        `${SGD_MOMENTUM}: ${name} [${t.shape}] ${t.dtype} does not match w [${w.shape}] ${w.dtype}`,
      );
    }
  }
  const params = attrs as unknown as SgdParams;
  const wasm = backend as BackendWasm;
  const wOut = wasm.makeOutput(w.shape, 'float32');
  const vOut = wasm.makeOutput(w.shape, 'float32');
  if (!sgdMomentumSimd({ w, g, v, wOut, vOut }, params, wasm)) {
    // Views taken after both outputs exist: an allocation may grow the heap and detach them.
    const view = (t: TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
    sgdMomentumLoop(view(w), view(g), view(v), view(wOut), view(vOut), params);
  }
  return [wOut, vOut];
};

/** Registers the kernel for wasm. Idempotent. */
export function registerFusedSgd(): void {
  if (tf.getKernel(SGD_MOMENTUM, 'wasm') != null) return;
  tf.registerKernel({ kernelName: SGD_MOMENTUM, backendName: 'wasm', kernelFunc: sgdMomentum });
}

/**
 * [w′, v′] of one update through the fused kernel, or null where the active backend has none (the
 * caller then uses tensor ops). Not recorded on a gradient tape: the update is never
 * differentiated.
 */
export function fusedSgdStep(
  w: tf.Tensor,
  g: tf.Tensor,
  v: tf.Tensor,
  params: SgdParams,
): [tf.Tensor, tf.Tensor] | null {
  if (tf.getKernel(SGD_MOMENTUM, tf.getBackend()) == null) return null;
  if (w.dtype !== 'float32' || g.dtype !== 'float32' || v.dtype !== 'float32') return null;
  const attrs = { ...params } as unknown as NamedAttrMap;
  const [wNext, vNext] = tf.engine().runKernel(SGD_MOMENTUM, { w, g, v }, attrs) as tf.Tensor[];
  return [wNext!, vNext!];
}
