/**
 * Training kernels missing from @tensorflow/tfjs-backend-wasm 4.22.
 *
 * The wasm backend ships no `Conv2DBackpropFilter` (tfjs issue #8474), so the gradient of
 * conv2d w.r.t. its filter throws and conv nets cannot train there. We provide one built from
 * the backend's own XNNPACK-backed kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  KernelBackend,
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
 * Registers the training kernels the wasm backend lacks. Idempotent, and safe to call before the
 * wasm backend is initialised (kernels are looked up at call time).
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') == null) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter,
    });
  }
}
