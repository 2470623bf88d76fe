/**
 * Transpose for the wasm backend as a JavaScript pass over the heap.
 *
 * wasm's own `Transpose` is a scalar C++ loop with a division per element and a large stride on
 * one side: moving AlexNet-CIFAR's conv1 gradient [128, 24, 24, 64] to [24, 24, 128, 64] (which
 * the filter gradient does, ./wasm-kernels.ts) took 82 ms, longer than the forward convolution.
 * Here axes that stay together are merged first; when the innermost axis stays innermost the
 * transpose is a copy of contiguous runs (that one: 7 ms), and otherwise it moves square tiles
 * of the two innermost axes, or, where one of them is narrow, writes the output in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {
  KernelConfig,
  KernelFunc,
  TensorInfo,
  TransposeAttrs,
  TransposeInputs,
} from '@tensorflow/tfjs-core';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** Tile side: 32×32 float32 (4 KiB) on each side stays in L1 while moved. */
const TILE = 32;
/** Below this many elements a run is copied element by element: set() has a fixed cost. */
const MIN_SET_RUN = 32;

/**
 * The same transpose on fewer axes: size-1 axes dropped, and input axes that stay next to each
 * other in the output merged into one.
 */
export function collapseTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  // Renumber the kept input axes 0…k−1, in output order.
  const order = perm.filter((p) => shape[p] !== 1).map((p) => kept.indexOf(p));
  const sizes = kept.map((i) => shape[i]!);
  // Groups of consecutive output axes whose input axes are consecutive too.
  const groups: number[][] = [];
  for (const axis of order) {
    const last = groups.at(-1);
    if (last && last.at(-1)! + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  // Each group becomes one input axis; number the groups by their first input axis.
  const byInput = [...groups].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInput.map((g) => g.reduce((n, a) => n * sizes[a]!, 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/**
 * Calls `visit(srcOffset, dstOffset)` for every index over axes of `sizes` (last fastest), with
 * the offsets that index gives in the source and the output.
 */
function forEachOuter(
  sizes: number[],
  srcStrides: number[],
  dstStrides: number[],
  visit: (src: number, dst: number) => void,
): void {
  const index = new Array<number>(sizes.length).fill(0);
  let src = 0;
  let dst = 0;
  for (;;) {
    visit(src, dst);
    let k = sizes.length - 1;
    for (; k >= 0; k--) {
      src += srcStrides[k]!;
      dst += dstStrides[k]!;
      if (++index[k]! < sizes[k]!) break;
      src -= sizes[k]! * srcStrides[k]!;
      dst -= sizes[k]! * dstStrides[k]!;
      index[k] = 0;
    }
    if (k < 0) return;
  }
}

/** out = x transposed by `perm`, into `dst` (the output's heap view). */
export function transposeInto(
  src: HeapArray,
  dst: HeapArray,
  fullShape: readonly number[],
  fullPerm: readonly number[],
): void {
  const { shape, perm } = collapseTranspose(fullShape, fullPerm);
  const rank = shape.length;
  if (rank <= 1 || perm.every((p, i) => p === i)) {
    dst.set(src.subarray(0, dst.length));
    return;
  }
  const inStrides = tf.util.computeStrides(shape).concat(1);
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = tf.util.computeStrides(outShape).concat(1);
  const outerOf = (skip: number[]) => {
    const axes = perm.map((_, k) => k).filter((k) => !skip.includes(k));
    return [
      axes.map((k) => outShape[k]!),
      axes.map((k) => inStrides[perm[k]!]!),
      axes.map((k) => outStrides[k]!),
    ] as const;
  };
  if (perm[rank - 1] === rank - 1) {
    // The innermost axis stays innermost: a copy of contiguous runs.
    const run = shape[rank - 1]!;
    forEachOuter(...outerOf([rank - 1]), (s, d) => {
      if (run >= MIN_SET_RUN) dst.set(src.subarray(s, s + run), d);
      else for (let k = 0; k < run; k++) dst[d + k] = src[s + k]!;
    });
    return;
  }
  // The output's innermost axis a, read with stride sa, and the source's innermost axis b.
  const a = perm[rank - 1]!;
  const b = rank - 1;
  const bAt = perm.indexOf(b);
  const [na, nb] = [shape[a]!, shape[b]!];
  const sa = inStrides[a]!;
  if (na < TILE || nb < TILE) {
    // Too narrow for tiles to pay (an image's three channels): write the output in order; the
    // reads of one output row touch `na` source lines that the next rows reuse.
    forEachOuter(...outerOf([rank - 1]), (s0, d) => {
      for (let ia = 0, s = s0; ia < na; ia++, s += sa) dst[d + ia] = src[s]!;
    });
    return;
  }
  // Square tiles spanning a and b, so reads and writes both stay within a few cache lines.
  const ob = outStrides[bAt]!;
  forEachOuter(...outerOf([rank - 1, bAt]), (s0, d0) => {
    for (let b0 = 0; b0 < nb; b0 += TILE) {
      const b1 = Math.min(b0 + TILE, nb);
      for (let a0 = 0; a0 < na; a0 += TILE) {
        const a1 = Math.min(a0 + TILE, na);
        for (let ib = b0; ib < b1; ib++) {
          let d = d0 + ib * ob + a0;
          for (let s = s0 + a0 * sa + ib, ia = a0; ia < a1; ia++, d++, s += sa) dst[d] = src[s]!;
        }
      }
    }
  });
}

/** x transposed by `perm` into a new tensor, on the heap. */
export function transposeOnHeap(
  x: TensorInfo,
  perm: readonly number[],
  backend: BackendWasm,
): TensorInfo {
  const out = backend.makeOutput(
    perm.map((p) => x.shape[p]!),
    x.dtype,
  );
  if (tf.util.sizeFromShape(x.shape) === 0) return out;
  // Views after the allocation: growing the heap detaches earlier ones.
  transposeInto(
    backend.typedArrayFromHeap(x) as HeapArray,
    backend.typedArrayFromHeap(out) as HeapArray,
    x.shape,
    perm,
  );
  return out;
}

/** [rows, cols] → [cols, rows] (leading axes of size 1 allowed, as matMul operands have them). */
export function transposeMatrixOnHeap(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => (i < rank - 2 ? i : 2 * rank - 3 - i));
  return transposeOnHeap(x, perm, backend);
}

/** The replacement `Transpose`: {@link transposeOnHeap}, or `original` for strings. */
export function makeTranspose(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as TransposeInputs;
    if (x == null || x.dtype === 'string' || x.dtype === 'complex64')
      return original.kernelFunc(args);
    const { perm } = args.attrs as unknown as TransposeAttrs;
    return transposeOnHeap(x, perm, args.backend as BackendWasm);
  };
}
