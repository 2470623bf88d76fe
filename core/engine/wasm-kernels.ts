/**
 * Training kernels missing from, or slow in, @tensorflow/tfjs-backend-wasm 4.22.
 *
 * The wasm backend ships no `Conv2DBackpropFilter` (tfjs issue #8474), so the gradient of
 * conv2d w.r.t. its filter throws and conv nets cannot train there; its `Conv2DBackpropInput`
 * is a plain C++ loop, 8–10× slower than the XNNPACK forward conv; and its `BatchMatMul` only
 * uses XNNPACK without transposes, while the gradients of every dense layer need them (and
 * without them repacks a fresh weight slowly). We provide those three from the backend's own
 * XNNPACK-backed kernels (the filter gradient mostly from our SIMD kernel, ./simd-kernels.ts);
 * `MaxPoolGrad`, `LRN`/`LRNGrad` (./wasm-pool.ts, ./wasm-lrn.ts) and
 * `Slice`, `SplitV`, `Sum`, `Identity` (./wasm-heap.ts) and `Transpose` (./wasm-transpose.ts) as
 * JavaScript loops over the wasm heap; and the optimizer's update as one kernel (./fused-sgd.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  BatchMatMulAttrs,
  BatchMatMulInputs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  Conv2DBackpropInputAttrs,
  Conv2DBackpropInputInputs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  MaxPoolGradAttrs,
  MaxPoolGradInputs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeIdentity, makeSlice, makeSplitV, makeSum } from './wasm-heap.js';
import { makeTranspose, transposeMatrixOnHeap } from './wasm-transpose.js';
import { makeLrn, makeLrnGrad } from './wasm-lrn.js';
import { maxPoolGradOnHeap } from './wasm-pool.js';
import { convFilterGradSimd, filterGradApplies } from './simd-kernels.js';
import { registerFusedSgd } from './fused-sgd.js';

type Shape4D = [number, number, number, number];

/**
 * Runs a kernel already registered for 'wasm'; bypassing tf ops keeps the gradient tape clean.
 * AddN and Concat take their inputs as an array, as the engine passes them.
 */
function runWasmKernel(
  kernelName: string,
  inputs: NamedTensorInfoMap | TensorInfo[],
  backend: KernelBackend,
  attrs: object,
): TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel == null) {
    throw new Error(`wasm backend has no '${kernelName}' kernel`);
  }
  return kernel.kernelFunc({
    inputs: inputs as NamedTensorInfoMap,
    backend,
    attrs: attrs as NamedAttrMap,
  }) as TensorInfo;
}

/**
 * Filter gradient of an NHWC conv2d with dilation 1.
 *
 * Inputs: x [batch, inH, inW, inC], dy [batch, outH, outW, outC].
 * Output: dW [fh, fw, inC, outC] with
 *   dW[i, j, c, o] = Σ_{b, p, q} x[b, p·sH + i − padTop, q·sW + j − padLeft, c] · dy[b, p, q, o].
 *
 * Where outC is a multiple of 8 (and the runtime has WebAssembly SIMD), our SIMD kernel sums it
 * directly. Otherwise: that sum is itself a stride-1 convolution whose "batch" is inC, whose
 * channels are the forward batch, whose filter is dy and whose dilation is the forward stride, so
 * the whole reduction runs as one XNNPACK Conv2D:
 *   xT [inC, inH, inW, batch] ⊛ dyT [outH, outW, batch, outC] → [inC, ≥fh, ≥fw, outC].
 */
function conv2DBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: object;
  attrs?: NamedAttrMap;
}): TensorInfo {
  const { x, dy } = args.inputs as Conv2DBackpropFilterInputs;
  const backend = args.backend as KernelBackend;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs & {
    dilations?: number | [number, number];
  };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (x == null || dy == null) {
    throw new Error('Conv2DBackpropFilter (wasm): inputs x and dy are required');
  }
  if (dataFormat === 'NCHW') {
    throw new Error("Conv2DBackpropFilter (wasm): dataFormat 'NCHW' is not supported; use 'NHWC'");
  }
  // The tfjs conv2d gradient already rejects dilated forward convs; this guards other callers.
  const dilations = attrs.dilations ?? 1;
  if (!tf.backend_util.tupleValuesAreOne(dilations)) {
    throw new Error('Conv2DBackpropFilter (wasm): forward dilations must be 1');
  }

  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { filterHeight: fh, filterWidth: fw, inChannels: inC, outChannels: outC } = info;
  const { strideHeight: sH, strideWidth: sW, inHeight: inH, inWidth: inW } = info;
  const { outHeight: outH, outWidth: outW } = info;
  const { top: padTop, left: padLeft } = info.padInfo;
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy shape [${dy.shape}] does not match the forward output ` +
        `[${info.outShape}]`,
    );
  }

  // Our SIMD kernel sums image by image in registers: 1.3–1.5× faster than the XNNPACK conv
  // below on AlexNet's conv2–5, 4–5× on alexnet-cifar's conv1 (whose XNNPACK form has the batch
  // as its channels and streams all of dy for every few rows of dW).
  if (x.dtype === 'float32' && filterGradApplies(info)) {
    const dw = (backend as BackendWasm).makeOutput(filterShape, 'float32');
    if (convFilterGradSimd(x, dy, dw, info, backend as BackendWasm)) return dw;
    backend.disposeData(dw.dataId);
  }

  // Otherwise (output channels not in eights, no WebAssembly SIMD) the sum is one XNNPACK conv.
  // Bottom/right padding only needs to expose fh×fw output rows/cols; rows the forward conv never
  // read (valid padding that drops a remainder) simply fall outside the slice.
  const padBottom = Math.max(0, (outH - 1) * sH + fh - inH - padTop);
  const padRight = Math.max(0, (outW - 1) * sW + fw - inW - padLeft);

  const intermediates: TensorInfo[] = [];
  try {
    const xT = runWasmKernel('Transpose', { x }, backend, { perm: [3, 1, 2, 0] });
    intermediates.push(xT);
    const dyT = runWasmKernel('Transpose', { x: dy }, backend, { perm: [1, 2, 0, 3] });
    intermediates.push(dyT);
    const full = runWasmKernel('Conv2D', { x: xT, filter: dyT }, backend, {
      strides: 1,
      pad: [
        [0, 0],
        [padTop, padBottom],
        [padLeft, padRight],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [sH, sW],
    });
    intermediates.push(full);
    let cropped = full;
    if (full.shape[1] !== fh || full.shape[2] !== fw) {
      cropped = runWasmKernel('Slice', { x: full }, backend, {
        begin: [0, 0, 0, 0],
        size: [inC, fh, fw, outC],
      });
      intermediates.push(cropped);
    }
    return runWasmKernel('Transpose', { x: cropped }, backend, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of intermediates) {
      backend.disposeData(t.dataId);
    }
  }
}

/** Padding (≥ 0) or cropping (≥ 0) of the four spatial sides of a tensor. */
interface Sides {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** How {@link conv2DBackpropInputViaConv2D} turns dy into the input of a stride-1 conv. */
interface BackpropInputPlan {
  info: tf.backend_util.Conv2DInfo;
  /** Zero padding around the (zero-inserted) dy. */
  pad: Sides;
  /** Rows/columns cut off the (zero-inserted) dy where the padding came out negative. */
  crop: Sides;
}

/**
 * Whether a strided conv's input gradient is faster as zero-inserted dy + one XNNPACK Conv2D
 * than with wasm's own kernel. Zero insertion multiplies the conv's work by sH·sW (all but one in
 * sH·sW products are with zeros), while wasm's loop costs about 8–12 forward convs. Measured on
 * a 2-core x86 machine, 16–32 images: stride 2 is 2.8–3× faster (≈1× when inC = 3), stride 3
 * only 1.1–1.5× (0.5–0.7× when inC = 3), stride 4 0.84× (0.28× for AlexNet's conv1 shape).
 */
function zeroInsertionPays(info: tf.backend_util.Conv2DInfo): boolean {
  return info.strideHeight * info.strideWidth <= 4;
}

/**
 * Plans the input gradient as a stride-1 conv, or returns null to leave it to wasm's own kernel:
 * for NCHW, empty tensors, a dy that does not match the forward output (conv2dTranspose callers
 * can pass one), strides where zero insertion does not pay, and convs whose dy only ever met
 * padding.
 */
function planBackpropInput(
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): BackpropInputPlan | null {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat === 'NCHW') return null;
  const sizes = [inputShape, filter.shape, dy.shape].map((s) => tf.util.sizeFromShape(s));
  if (sizes.includes(0)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as Shape4D,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (dy.shape.join() !== info.outShape.join()) return null;
  const { strideHeight: sH, strideWidth: sW, filterHeight: fh, filterWidth: fw } = info;
  if ((sH > 1 || sW > 1) && !zeroInsertionPays(info)) return null;

  // Zero insertion leaves dy outH·sH × outW·sW (s−1 zeros after every row and column). The conv
  // output is (top + upH + bottom) − fh + 1 rows, which must be inH.
  const upH = info.outHeight * sH;
  const upW = info.outWidth * sW;
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const bottom = info.inHeight + fh - 1 - top - upH;
  const right = info.inWidth + fw - 1 - left - upW;
  const crop: Sides = {
    top: Math.max(0, -top),
    bottom: Math.max(0, -bottom),
    left: Math.max(0, -left),
    right: Math.max(0, -right),
  };
  if (upH - crop.top - crop.bottom <= 0 || upW - crop.left - crop.right <= 0) return null;
  return {
    info,
    pad: {
      top: Math.max(0, top),
      bottom: Math.max(0, bottom),
      left: Math.max(0, left),
      right: Math.max(0, right),
    },
    crop,
  };
}

/**
 * Input gradient of an NHWC conv2d with dilation 1 (also the forward pass of conv2dTranspose).
 *
 * Inputs: dy [batch, outH, outW, outC], filter W [fh, fw, inC, outC].
 * Output: dx [batch, inH, inW, inC] with
 *   dx[b, h, w, c] = Σ dy[b, p, q, o] · W[i, j, c, o]
 *     over o and all p, q, i, j with p·sH + i − padTop = h and q·sW + j − padLeft = w.
 *
 * With i' = fh−1−i that is a "full" stride-1 convolution of dy with the filter rotated 180° and
 * its channel axes swapped, Wr[i', j', o, c] = W[fh−1−i', fw−1−j', c, o]:
 *   dx[b, h, w, c] = Σ_{i', j', o} dyP[b, h + i', w + j', o] · Wr[i', j', o, c],
 * where dyP is dy with sH−1 zero rows after every row (sW−1 zero columns after every column),
 * then padded by fh−1−padTop rows on top (fw−1−padLeft on the left) and by whatever makes the
 * result exactly inH × inW at the bottom/right; negative padding becomes a crop.
 * So the whole reduction is one XNNPACK Conv2D:
 *   dyP [batch, inH+fh−1, inW+fw−1, outC] ⊛ Wr [fh, fw, outC, inC] → [batch, inH, inW, inC].
 * It sums in the same order as wasm's own loop (kernel row, column, channel), and the results
 * came out bit-identical in every case measured.
 */
function conv2DBackpropInputViaConv2D(
  dy: TensorInfo,
  filter: TensorInfo,
  plan: BackpropInputPlan,
  backend: KernelBackend,
): TensorInfo {
  const { info, pad, crop } = plan;
  const { batchSize: batch, outHeight: outH, outWidth: outW, outChannels: outC } = info;
  const { strideHeight: sH, strideWidth: sW } = info;
  const intermediates: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => {
    intermediates.push(t);
    return t;
  };
  try {
    // A fresh filter tensor every call: XNNPACK packs it into a new operator, freed with it below.
    const flipped = keep(runWasmKernel('Reverse', { x: filter }, backend, { dims: [0, 1] }));
    const rotated = keep(
      runWasmKernel('Transpose', { x: flipped }, backend, { perm: [0, 1, 3, 2] }),
    );

    let spread = dy;
    if (sH > 1 || sW > 1) {
      // [b, outH, 1, outW, 1, outC] padded to [b, outH, sH, outW, sW, outC] is dy with the zeros
      // in place; Reshape only relabels the buffer, so this costs one pass over the result.
      const dy6 = keep(
        runWasmKernel('Reshape', { x: dy }, backend, { shape: [batch, outH, 1, outW, 1, outC] }),
      );
      const zeros = keep(
        runWasmKernel('PadV2', { x: dy6 }, backend, {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sH - 1],
            [0, 0],
            [0, sW - 1],
            [0, 0],
          ],
          constantValue: 0,
        }),
      );
      spread = keep(
        runWasmKernel('Reshape', { x: zeros }, backend, {
          shape: [batch, outH * sH, outW * sW, outC],
        }),
      );
    }
    if (crop.top + crop.bottom + crop.left + crop.right > 0) {
      const [, upH = 0, upW = 0] = spread.shape;
      spread = keep(
        runWasmKernel('Slice', { x: spread }, backend, {
          begin: [0, crop.top, crop.left, 0],
          size: [batch, upH - crop.top - crop.bottom, upW - crop.left - crop.right, outC],
        }),
      );
    }
    return runWasmKernel('Conv2D', { x: spread, filter: rotated }, backend, {
      strides: 1,
      pad: [
        [0, 0],
        [pad.top, pad.bottom],
        [pad.left, pad.right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: 1,
    });
  } finally {
    // Reshape outputs share their input's buffer and hold a reference on it; disposing releases
    // that reference (dy's included), so every output above is disposed exactly once.
    for (const t of intermediates) {
      backend.disposeData(t.dataId);
    }
  }
}

/**
 * The replacement `Conv2DBackpropInput`: {@link conv2DBackpropInputViaConv2D} where it applies,
 * otherwise the wasm kernel it replaced.
 */
function makeConv2DBackpropInput(original: KernelConfig): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as Conv2DBackpropInputInputs;
    if (dy == null || filter == null) {
      throw new Error('Conv2DBackpropInput (wasm): inputs dy and filter are required');
    }
    const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const plan = planBackpropInput(dy, filter, attrs);
    if (plan == null) return original.kernelFunc(args);
    return conv2DBackpropInputViaConv2D(dy, filter, plan, args.backend as KernelBackend);
  };
}

/**
 * Below this many multiply-adds (M·K·N) wasm's own loop beats the transposes and XNNPACK
 * operator set-up of {@link batchMatMulWithoutTransposes}: 5–7 µs either way at 16×16×16.
 */
const MIN_MATMUL_WORK = 4096;

/**
 * How {@link batchMatMulWithoutTransposes} gets rid of the transposes in op(A)·op(B):
 * - 'operands': transpose whichever operands are marked transposed, then A·B;
 * - 'product': compute the transposed product op(B)ᵀ·op(A)ᵀ (each factor is the stored operand
 *   if it was marked transposed, else its transpose), then transpose that.
 */
type MatMulStrategy = 'operands' | 'product';

/**
 * Picks the strategy for a transposed matmul, or null to leave it to wasm's own kernel: dtypes
 * other than float32, batches (wasm's XNNPACK path takes a single pair of matrices, so a batch
 * stays in its loop whatever we transpose: measured no faster), and tiny products.
 *
 * With op(A) [M×K] and op(B) [K×N], wasm's `BatchMatMul` runs XNNPACK's fully-connected operator
 * only without transposes; with them it falls back to a scalar C++ loop that is 10–70× slower.
 * Besides the product itself, a strategy costs its explicit transposes and XNNPACK's packing of
 * the right-hand factor (cached on that tensor, but ours are fresh, and so are the gradients
 * that reach here): 'operands' moves (tA ? MK : 0) + (tB ? KN : 0) + KN elements, 'product'
 * (tA ? 0 : MK) + (tB ? 0 : KN) + MK + MN. The cheaper by that count won in every case measured
 * but one, where both took under 0.5 ms (2-core x86, SIMD, one thread; ms: wasm's own kernel →
 * ours, P = 'product', O = 'operands', then the other strategy in parentheses; the gradients of
 * a dense layer x [M×K] · W [K×N] are dx = dy·Wᵀ and dW = xᵀ·dy):
 *
 *   [M×K]·[K×N]            dx = dy·Wᵀ              dW = xᵀ·dy                both transposed
 *   128×512·512×1024       58–117 → 5–10 P (13)    264–385 → 4–11 O (15)     58–140 → 5–13 P (32)
 *   128×1024·1024×1024   115–197 → 10–18 P (26)    566–651 → 9–12 O (18)   116–184 → 9–13 P (27)
 *   128×1024·1024×10       1.5–2.3 → 0.2 O (0.8)   4.0–4.2 → 0.3 O (0.2)   1.1–1.6 → 0.1 P (1.0)
 *   16×9216·9216×4096    571–700 → 43–59 P (693)  1457–1938 → 44 O (306)   530–714 → 39–54 P (873)
 *   16×4096·4096×4096    232–407 → 18–32 P (417)   649–951 → 19–37 O (191)  239–414 → 18–34 P (332)
 *   16×4096·4096×1000     62–126 → 5–6 P (79)      126–199 → 5–10 O (21)     58–88 → 4–6 P (65)
 *
 * (Transposing a large W is the slow part of 'operands': wasm's Transpose took 150–260 ms for
 * 4096–9216×4096, {@link transposeMatrixOnHeap} about half that.)
 */
function planBatchMatMul(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): MatMulStrategy | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA !== 1 || batchB !== 1) return null;
  const [aRows = 0, aCols = 0] = a.shape.slice(-2);
  const [bRows = 0, bCols = 0] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const [kB, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
  // wasm's kernel reports mismatched inner dimensions.
  if (k !== kB || m * k * n < MIN_MATMUL_WORK) return null;
  const operands = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + k * n;
  const product = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * k + m * n;
  return product < operands ? 'product' : 'operands';
}

/** Swaps the last two axes of a matrix whose leading axes (if any) are all 1. */
function transposeMatrix(x: TensorInfo, backend: KernelBackend): TensorInfo {
  return transposeMatrixOnHeap(x, backend as BackendWasm);
}

/**
 * Right-hand factors of untransposed products already seen once (by their data), whose XNNPACK
 * operator wasm's kernel may have cached: see {@link freshFactorPays}.
 */
const seenRightFactors = new WeakSet<object>();

/**
 * Whether an untransposed float32 A·B is faster as (Bᵀ·Aᵀ)ᵀ, and B has not been seen before.
 *
 * wasm's kernel hands B [K×N] to XNNPACK as transposed weights, whose packing reads it with a
 * stride of N floats: 7–13 ns per element, against 3 ns to transpose it tile by tile. The product
 * (Bᵀ·Aᵀ)ᵀ packs only Aᵀ, so it pays when K·N > 3·M·K + M·N, that is for a dense layer's weights
 * and a batch of far fewer rows than the layer is wide (2-core x86, ms, x [16×K]·W [K×N]):
 *   16×9216·9216×4096 (the paper's fc6)   500–620 → 185–250
 *   16×4096·4096×4096 (fc7)               165–170 → 100–120
 * But the packed operator is cached on B's data: a weight multiplied again unchanged (inference
 * through an unfused matMul) costs only the product (77–120 ms for fc6). So only B's first
 * product goes this way; training changes the weights every step, so every step's are first.
 */
function freshFactorPays(a: TensorInfo, b: TensorInfo): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  if (a.shape.length !== 2 || b.shape.length !== 2) return false;
  const [m = 0, k = 0] = a.shape;
  const [kB = 0, n = 0] = b.shape;
  if (k !== kB || m * k * n < MIN_MATMUL_WORK || k * n <= 3 * m * k + m * n) return false;
  if (seenRightFactors.has(b.dataId)) return false;
  seenRightFactors.add(b.dataId);
  return true;
}

/**
 * op(A)·op(B) through wasm's untransposed (XNNPACK) `BatchMatMul`, by the given strategy. Both
 * give the output shape wasm's kernel would (the broadcast outer dimensions, all 1, then M×N).
 */
function batchMatMulWithoutTransposes(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  strategy: MatMulStrategy,
  original: KernelConfig,
  backend: KernelBackend,
): TensorInfo {
  const intermediates: TensorInfo[] = [];
  const transposed = (x: TensorInfo): TensorInfo => {
    const t = transposeMatrix(x, backend);
    intermediates.push(t);
    return t;
  };
  const matMul = (lhs: TensorInfo, rhs: TensorInfo): TensorInfo =>
    original.kernelFunc({
      inputs: { a: lhs, b: rhs },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
  try {
    if (strategy === 'operands') {
      return matMul(transposeA ? transposed(a) : a, transposeB ? transposed(b) : b);
    }
    const productT = matMul(transposeB ? b : transposed(b), transposeA ? a : transposed(a));
    intermediates.push(productT);
    return transposeMatrix(productT, backend);
  } finally {
    // Disposing a fresh right-hand factor also frees the XNNPACK operator cached on it.
    for (const t of intermediates) {
      backend.disposeData(t.dataId);
    }
  }
}

/**
 * The replacement `BatchMatMul`: transposed products go through
 * {@link batchMatMulWithoutTransposes} where that pays, untransposed ones too the first time
 * their right-hand factor is seen where {@link freshFactorPays}; the rest straight to the wasm
 * kernel it replaced.
 *
 * `_FusedMatMul` (a dense layer's forward pass with bias and activation) is left alone:
 * tfjs-layers never transposes it, and its gradient, like that of an unfused matMul, runs
 * `BatchMatMul` with transposeB for the input and transposeA for the weights.
 */
function makeBatchMatMul(original: KernelConfig): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as BatchMatMulInputs;
    const { transposeA = false, transposeB = false } = args.attrs as unknown as BatchMatMulAttrs;
    if (a == null || b == null) return original.kernelFunc(args);
    const backend = args.backend as KernelBackend;
    if (!transposeA && !transposeB) {
      if (!freshFactorPays(a, b)) return original.kernelFunc(args);
      return batchMatMulWithoutTransposes(a, b, false, false, 'product', original, backend);
    }
    const strategy = planBatchMatMul(a, b, transposeA, transposeB);
    if (strategy == null) return original.kernelFunc(args);
    return batchMatMulWithoutTransposes(a, b, transposeA, transposeB, strategy, original, backend);
  };
}

/**
 * The pooling geometry for {@link maxPoolGradOnHeap}, or null to leave the gradient to wasm's
 * own kernel: dtypes other than float32, empty tensors, and windows clipped by the input edge
 * beyond the padding (dimRoundingMode 'ceil' or 'round': wasm's forward MaxPool gets those wrong,
 * so its own gradient is the consistent one).
 */
function planMaxPoolGrad(
  input: TensorInfo,
  dy: TensorInfo,
  attrs: MaxPoolGradAttrs,
): tf.backend_util.Conv2DInfo | null {
  if (input.dtype !== 'float32' || input.shape.length !== 4) return null;
  if (tf.util.sizeFromShape(input.shape) === 0 || tf.util.sizeFromShape(dy.shape) === 0) {
    return null;
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as Shape4D,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (dy.shape.join() !== info.outShape.join()) return null;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  // The padded input must hold the forward pass's whole window grid.
  const { top, bottom, left, right } = info.padInfo;
  const rows = Math.floor((top + info.inHeight + bottom - kh) / sh) + 1;
  const cols = Math.floor((left + info.inWidth + right - kw) / sw) + 1;
  if (rows !== info.outHeight || cols !== info.outWidth) return null;
  return info;
}

/**
 * The replacement `MaxPoolGrad`: {@link maxPoolGradOnHeap} where it applies, otherwise the wasm
 * kernel it replaced. wasm's own is a scalar loop 40–100× slower than the XNNPACK forward pool,
 * and differs from cpu: ties go to the last max, and a window whose max is ≤ 1.2e-38 (any window
 * of zeros or negatives: its running max starts at FLT_MIN) sends its gradient to element 0 of
 * the whole tensor, that is, drops it.
 */
function makeMaxPoolGrad(original: KernelConfig): KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as MaxPoolGradInputs;
    if (dy == null || input == null) {
      throw new Error('MaxPoolGrad (wasm): inputs dy and input are required');
    }
    const attrs = args.attrs as unknown as MaxPoolGradAttrs;
    const info = planMaxPoolGrad(input, dy, attrs);
    if (info == null) return original.kernelFunc(args);
    return maxPoolGradOnHeap(dy, input, info, args.backend as BackendWasm);
  };
}

/**
 * The mark on our replacement of a wasm kernel, holding the kernel it replaced. A global symbol
 * rather than module state, so that a second copy of this module (bundles, isolated test workers
 * sharing one tfjs-core) still recognises the replacement and never wraps it again.
 */
function replacementMark(kernelName: string): symbol {
  return Symbol.for(`supervision-workbench/wasm-kernels/${kernelName}`);
}

type MarkedKernelFunc = KernelFunc & { [mark: symbol]: KernelConfig | undefined };

/**
 * Replaces wasm's `kernelName` with `makeKernelFunc(original)`, unless it is already ours. Without
 * the wasm package loaded there is nothing to replace (nor to fall back to).
 */
function replaceWasmKernel(
  kernelName: string,
  makeKernelFunc: (original: KernelConfig) => KernelFunc,
): void {
  const current = tf.getKernel(kernelName, 'wasm');
  const mark = replacementMark(kernelName);
  if (current == null || (current.kernelFunc as MarkedKernelFunc)[mark] != null) return;
  const kernelFunc = makeKernelFunc(current) as MarkedKernelFunc;
  kernelFunc[mark] = current;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc,
    // The original's setup binds its C++ function when the backend is activated; the engine only
    // runs setup for registered kernels, so ours carries it along for the fallback.
    setupFunc: current.setupFunc,
    disposeFunc: current.disposeFunc,
  });
}

/**
 * Registers the training kernels the wasm backend lacks, and replaces its slow ones (keeping
 * each original as the fallback for the cases ours do not cover). Call it after importing
 * @tensorflow/tfjs-backend-wasm, so that there are kernels to replace. Idempotent, and safe to
 * call before the wasm backend is initialised (kernels are looked up at call time).
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') == null) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter,
    });
  }
  replaceWasmKernel(tf.Conv2DBackpropInput, makeConv2DBackpropInput);
  replaceWasmKernel(tf.BatchMatMul, makeBatchMatMul);
  replaceWasmKernel(tf.MaxPoolGrad, makeMaxPoolGrad);
  replaceWasmKernel(tf.LRN, makeLrn);
  replaceWasmKernel(tf.LRNGrad, makeLrnGrad);
  replaceWasmKernel(tf.Slice, makeSlice);
  replaceWasmKernel(tf.SplitV, makeSplitV);
  replaceWasmKernel(tf.Sum, makeSum);
  replaceWasmKernel(tf.Transpose, makeTranspose);
  replaceWasmKernel(tf.Identity, makeIdentity);
  registerFusedSgd();
}
