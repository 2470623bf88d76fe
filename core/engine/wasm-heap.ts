/**
 * Kernels that tfjs-backend-wasm 4.22 slows down with needless copies, redone as JavaScript loops
 * over views of the wasm heap.
 *
 * - Its `Slice` (and `SplitV`, which calls it once per piece) reads the *whole* input with
 *   readSync, a copy out of the heap, before copying the slice: taking 512 rows of a
 *   [9216, 4096] matrix costs 90 ms, and splitting AlexNet's conv2 input into its two towers a
 *   copy of the full tensor per tower. We read through a view of the heap instead and copy
 *   contiguous runs with TypedArray.set.
 * - Its `Sum` transposes the reduced axes innermost first; a bias gradient (the sum over batch,
 *   rows and columns of an NHWC tensor) becomes a full transpose. Summing the leading axes in
 *   place is one pass: 4–6× faster on AlexNet's activations.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {
  IdentityInputs,
  KernelConfig,
  KernelFunc,
  SliceAttrs,
  SliceInputs,
  SplitVAttrs,
  SplitVInputs,
  SumAttrs,
  SumInputs,
  TensorInfo,
} from '@tensorflow/tfjs-core';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** Below this many elements a run is copied element by element: set() has a fixed cost. */
const MIN_SET_RUN = 32;

/** A heap view of a tensor; take it after the last allocation (growing the heap detaches it). */
function view(t: TensorInfo, backend: BackendWasm): HeapArray {
  return backend.typedArrayFromHeap(t) as HeapArray;
}

/**
 * The slice of x starting at `begin` with extent `size` (both already resolved, one entry per
 * axis) into a new tensor, copied run by run. A run is the longest contiguous piece: the last
 * axis that is not taken whole, times everything inside it.
 */
function sliceOnHeap(
  x: TensorInfo,
  begin: number[],
  size: number[],
  backend: BackendWasm,
): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const rank = x.shape.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // Axes after `axis` are taken whole, so each run covers size[axis] of them contiguously.
  let axis = rank - 1;
  while (axis > 0 && size[axis] === x.shape[axis]) axis--;
  const run = size[axis]! * strides[axis]!;
  const src = view(x, backend);
  const dst = view(out, backend);
  const index = new Array<number>(axis).fill(0);
  let start = 0;
  for (let a = 0; a <= axis; a++) start += begin[a]! * strides[a]!;
  for (let written = 0; written < dst.length; written += run) {
    let offset = start;
    for (let a = 0; a < axis; a++) offset += index[a]! * strides[a]!;
    if (run >= MIN_SET_RUN) {
      dst.set(src.subarray(offset, offset + run), written);
    } else {
      for (let k = 0; k < run; k++) dst[written + k] = src[offset + k]!;
    }
    // Next index over the outer axes, last fastest.
    for (let a = axis - 1; a >= 0; a--) {
      if (++index[a]! < size[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}

/** Strings live outside the heap: those stay with wasm's kernels. */
function onHeap(x: TensorInfo | undefined): x is TensorInfo {
  return x != null && x.dtype !== 'string' && x.dtype !== 'complex64';
}

/** The replacement `Slice`: {@link sliceOnHeap}, or `original` for strings. */
export function makeSlice(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as SliceInputs;
    if (!onHeap(x) || x.shape.length === 0) return original.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as SliceAttrs;
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
    return sliceOnHeap(x, begin_!, size_!, args.backend as BackendWasm);
  };
}

/** The replacement `SplitV`: one {@link sliceOnHeap} per piece, or `original` for strings. */
export function makeSplitV(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as SplitVInputs;
    if (!onHeap(x)) return original.kernelFunc(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const piece = sliceOnHeap(x, [...begin], size, args.backend as BackendWasm);
      begin[$axis]! += s;
      return piece;
    });
  };
}

/**
 * The replacement `Identity`: the output shares its input's buffer (one more reference), as the
 * cpu backend's does, instead of a copy. Tensors are immutable, and tfjs clones every tensor a
 * gradient needs for the backward pass (engine.saveTensorsForBackwardMode): copying them cost
 * an `alexnet-cifar` step about 20 ms. Strings stay with `original`.
 */
export function makeIdentity(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as IdentityInputs;
    if (!onHeap(x)) return original.kernelFunc(args);
    const backend = args.backend as BackendWasm;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * The replacement `Sum`: float32 sums over the leading axes (0 … k−1, k < rank) as one pass that
 * adds each row of the trailing axes into float64 accumulators; anything else (sums that wasm
 * already does without a transpose, other dtypes) goes to `original`.
 *
 * x [d0, …, d(k−1), …] → [d(k), …] (keepDims: ones in front).
 */
export function makeSum(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x } = args.inputs as SumInputs;
    if (x == null || x.dtype !== 'float32') return original.kernelFunc(args);
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length;
    if (leading === 0 || leading >= rank || axes.some((a, i) => a !== i)) {
      return original.kernelFunc(args);
    }
    const kept = x.shape.slice(leading);
    const inner = tf.util.sizeFromShape(kept);
    const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(outShape, 'float32');
    const src = view(x, backend);
    const acc = new Float64Array(inner);
    // Four rows per pass over the accumulators: a quarter of their loads and stores.
    const rows = src.length / inner;
    let row = 0;
    for (; row + 4 <= rows; row += 4) {
      const r0 = row * inner;
      const [r1, r2, r3] = [r0 + inner, r0 + 2 * inner, r0 + 3 * inner];
      for (let j = 0; j < inner; j++) {
        acc[j] = acc[j]! + src[r0 + j]! + src[r1 + j]! + src[r2 + j]! + src[r3 + j]!;
      }
    }
    for (; row < rows; row++) {
      const r0 = row * inner;
      for (let j = 0; j < inner; j++) acc[j] = acc[j]! + src[r0 + j]!;
    }
    view(out, backend).set(acc);
    return out;
  };
}
