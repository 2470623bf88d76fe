/**
 * Training kernels missing from, or slow in, @tensorflow/tfjs-backend-wasm 4.22.
 *
 * The wasm backend ships no `Conv2DBackpropFilter` (tfjs issue #8474), so the gradient of
 * conv2d w.r.t. its filter throws and conv nets cannot train there; and its
 * `Conv2DBackpropInput` is a plain C++ loop, 8–10× slower than the XNNPACK forward conv. We
 * provide both, built from the backend's own XNNPACK-backed kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  Conv2DBackpropInputAttrs,
  Conv2DBackpropInputInputs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';

type Shape4D = [number, number, number, number];

/** Runs a kernel already registered for 'wasm'; bypassing tf ops keeps the gradient tape clean. */
function runWasmKernel(
  kernelName: string,
  inputs: NamedTensorInfoMap,
  backend: KernelBackend,
  attrs: object,
): TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel == null) {
    throw new Error(`wasm backend has no '${kernelName}' kernel`);
  }
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

/**
 * Filter gradient of an NHWC conv2d with dilation 1.
 *
 * Inputs: x [batch, inH, inW, inC], dy [batch, outH, outW, outC].
 * Output: dW [fh, fw, inC, outC] with
 *   dW[i, j, c, o] = Σ_{b, p, q} x[b, p·sH + i − padTop, q·sW + j − padLeft, c] · dy[b, p, q, o].
 *
 * That sum is itself a stride-1 convolution whose "batch" is inC, whose channels are the forward
 * batch, whose filter is dy and whose dilation is the forward stride, so the whole reduction runs
 * as one XNNPACK Conv2D:
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

/**
 * Marks our `Conv2DBackpropInput` kernelFunc and holds the wasm kernel it replaced. A global
 * symbol rather than module state, so that a second copy of this module (bundles, isolated test
 * workers sharing one tfjs-core) still recognises the replacement and never wraps it again.
 */
const REPLACED_KERNEL = Symbol.for('supervision-workbench/wasm-kernels/Conv2DBackpropInput');

type ReplacementKernelFunc = KernelFunc & { [REPLACED_KERNEL]?: KernelConfig };

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
function makeConv2DBackpropInput(original: KernelConfig): ReplacementKernelFunc {
  const kernelFunc: ReplacementKernelFunc = (args) => {
    const { dy, filter } = args.inputs as Conv2DBackpropInputInputs;
    if (dy == null || filter == null) {
      throw new Error('Conv2DBackpropInput (wasm): inputs dy and filter are required');
    }
    const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const plan = planBackpropInput(dy, filter, attrs);
    if (plan == null) return original.kernelFunc(args);
    return conv2DBackpropInputViaConv2D(dy, filter, plan, args.backend as KernelBackend);
  };
  kernelFunc[REPLACED_KERNEL] = original;
  return kernelFunc;
}

/**
 * Registers the training kernels the wasm backend lacks, and replaces its slow
 * `Conv2DBackpropInput` (keeping the original as the fallback). Call it after importing
 * @tensorflow/tfjs-backend-wasm, so that there is a kernel to replace. Idempotent, and safe to
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

  const current = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  // Without the wasm package loaded there is nothing to replace (nor to fall back to).
  if (current == null || (current.kernelFunc as ReplacementKernelFunc)[REPLACED_KERNEL]) return;
  tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: makeConv2DBackpropInput(current),
    // The original's setup binds its C++ function when the backend is activated; the engine only
    // runs setup for registered kernels, so ours carries it along for the fallback.
    setupFunc: current.setupFunc,
    disposeFunc: current.disposeFunc,
  });
}
