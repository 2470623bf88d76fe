/**
 * Local response normalisation (LRN) and its gradient for the wasm backend.
 *
 * wasm's own `LRN` and `LRNGrad` are scalar C++ loops that sum the whole window of every element
 * (O(N·C·n)) and call powf per element: 17% of an `alexnet-cifar` training step. Here both run as
 * JavaScript loops over the wasm heap with a running window sum over the channels (O(N·C)), and
 * the common exponents (β = 0.75, the paper's; 0.5; 1) use square roots instead of pow: on
 * AlexNet's shapes LRN takes about half the time, its gradient about 70% (it needs both N^−β and
 * 1/N, and two window sums). Composing LRN from XNNPACK kernels measured no faster: the window
 * sum as shifted slices took 3× as long, as a banded matmul (C² multiply-adds per pixel) as
 * long. Sums and powers are taken in float64, as tfjs's cpu kernels do, so results match cpu to
 * float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { lrnGradSimd, lrnSimd } from './simd-kernels.js';
import type {
  KernelConfig,
  KernelFunc,
  LRNAttrs,
  LRNGradInputs,
  LRNInputs,
  TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * 1/N ↦ N^−β. Working from 1/N lets the gradient share one division between N^−β and its
 * dy·y/N terms; the exponents AlexNet and its variants use need no pow.
 */
function powerOfInverse(beta: number): (inverse: number) => number {
  if (beta === 0.75) return (v) => Math.sqrt(v * Math.sqrt(v));
  if (beta === 0.5) return (v) => Math.sqrt(v);
  if (beta === 1) return (v) => v;
  return (v) => Math.pow(v, beta);
}

/**
 * Whether our loops apply: float32 NHWC tensors (tf.localResponseNormalization reshapes rank 3
 * to rank 4 before the kernel) with at least one element. Anything else goes to wasm's kernel.
 */
function applies(...tensors: (TensorInfo | undefined)[]): boolean {
  return tensors.every(
    (t) =>
      t != null &&
      t.dtype === 'float32' &&
      t.shape.length === 4 &&
      tf.util.sizeFromShape(t.shape) > 0,
  );
}

/**
 * y[p, c] = x[p, c] · (bias + α·Σ_{|j−c| ≤ r, 0 ≤ j < C} x[p, j]²)^−β for every pixel p.
 *
 * x, y: [pixels·C] (NHWC, channels innermost). The window sum slides along the channels of
 * one pixel: add the square entering on the right, drop the one leaving on the left.
 */
export function lrnForward(
  x: Float32Array,
  y: Float32Array,
  channels: number,
  attrs: LRNAttrs,
): void {
  const { depthRadius: r, bias, alpha } = attrs;
  const pow = powerOfInverse(attrs.beta);
  const first = Math.min(r, channels - 1);
  for (let base = 0; base < x.length; base += channels) {
    let sum = 0;
    for (let j = base; j <= base + first; j++) sum += x[j]! * x[j]!;
    for (let c = 0; c < channels; c++) {
      const i = base + c;
      y[i] = x[i]! * pow(1 / (bias + alpha * sum));
      if (c + r + 1 < channels) sum += x[i + r + 1]! * x[i + r + 1]!;
      if (c - r >= 0) sum -= x[i - r]! * x[i - r]!;
    }
  }
}

/**
 * The input gradient of {@link lrnForward}. With N_i = bias + α·Σ_{j∈W(i)} x_j² over the
 * channel window W(i) = {j : |j − i| ≤ r} of a pixel, y_i = x_i·N_i^−β, and W symmetric
 * (k ∈ W(i) ⇔ i ∈ W(k)):
 *   dx_k = dy_k·N_k^−β − 2αβ·x_k·Σ_{i∈W(k)} dy_i·y_i / N_i.
 * Two sliding-window passes per pixel: one for N (and the terms dy_i·y_i/N_i), one for the sum.
 *
 * x, y, dy, dx: [pixels·C].
 */
export function lrnBackward(
  x: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  channels: number,
  attrs: LRNAttrs,
): void {
  const { depthRadius: r, bias, alpha, beta } = attrs;
  const pow = powerOfInverse(beta);
  const scale = -2 * alpha * beta;
  const first = Math.min(r, channels - 1);
  // Per-pixel scratch, in float64 like the sums.
  const scaled = new Float64Array(channels); // N_c^−β
  const terms = new Float64Array(channels); // dy_c·y_c / N_c
  for (let base = 0; base < x.length; base += channels) {
    let sum = 0;
    for (let j = base; j <= base + first; j++) sum += x[j]! * x[j]!;
    for (let c = 0; c < channels; c++) {
      const i = base + c;
      const inverse = 1 / (bias + alpha * sum);
      scaled[c] = pow(inverse);
      terms[c] = dy[i]! * y[i]! * inverse;
      if (c + r + 1 < channels) sum += x[i + r + 1]! * x[i + r + 1]!;
      if (c - r >= 0) sum -= x[i - r]! * x[i - r]!;
    }
    let window = 0;
    for (let j = 0; j <= first; j++) window += terms[j]!;
    for (let c = 0; c < channels; c++) {
      const i = base + c;
      dx[i] = dy[i]! * scaled[c]! + scale * x[i]! * window;
      if (c + r + 1 < channels) window += terms[c + r + 1]!;
      if (c - r >= 0) window -= terms[c - r]!;
    }
  }
}

/** The replacement `LRN`: {@link lrnForward} where it applies, otherwise `original`. */
export function makeLrn(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as LRNInputs;
    if (!applies(x)) return original.kernelFunc(args);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(x!.shape, 'float32');
    const attrs = args.attrs as unknown as LRNAttrs;
    if (lrnSimd(x!, out, attrs, backend)) return out;
    // Views after the allocation: growing the heap detaches earlier ones.
    lrnForward(
      backend.typedArrayFromHeap(x!) as Float32Array,
      backend.typedArrayFromHeap(out) as Float32Array,
      x!.shape[3]!,
      attrs,
    );
    return out;
  };
}

/** The replacement `LRNGrad`: {@link lrnBackward} where it applies, otherwise `original`. */
export function makeLrnGrad(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x, y, dy } = args.inputs as LRNGradInputs;
    if (
      !applies(x, y, dy) ||
      x!.shape.join() !== y!.shape.join() ||
      x!.shape.join() !== dy!.shape.join()
    ) {
      return original.kernelFunc(args);
    }
    const backend = args.backend as BackendWasm;
    const dx = backend.makeOutput(x!.shape, 'float32');
    const attrs = args.attrs as unknown as LRNAttrs;
    if (lrnGradSimd(x!, y!, dy!, dx, attrs, backend)) return dx;
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    lrnBackward(heap(x!), heap(y!), heap(dy!), heap(dx), x!.shape[3]!, attrs);
    return dx;
  };
}
