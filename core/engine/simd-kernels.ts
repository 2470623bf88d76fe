/**
 * Our WebAssembly SIMD kernels (./simd-kernels.wat): LRN, its gradient, the max-pool gradient,
 * the conv filter gradient and the SGD-with-momentum update, run on the wasm backend's own heap:
 * the
 * module imports the backend's memory, so it reads and writes tensors where they lie, four
 * float32 lanes at a time. JavaScript has no SIMD, and its scalar loops over activations of
 * AlexNet's size run at a fraction of the speed (./wasm-lrn.ts and ./wasm-pool.ts keep them as
 * the fallback, for runtimes without SIMD and shapes the kernels do not take).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { SIMD_KERNELS_WASM } from './simd-kernels-wasm.js';

interface Exports {
  lrn(
    x: number,
    y: number,
    pixels: number,
    channels: number,
    r: number,
    bias: number,
    alpha: number,
    kind: number,
    scratch: number,
  ): void;
  lrn_grad(
    x: number,
    y: number,
    dy: number,
    dx: number,
    pixels: number,
    channels: number,
    r: number,
    bias: number,
    alpha: number,
    beta: number,
    kind: number,
    scratch: number,
  ): void;
  max_pool_grad(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    inH: number,
    inW: number,
    channels: number,
    outH: number,
    outW: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
  conv_filter_grad(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    outC: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
    scratch: number,
  ): void;
  sgd_momentum(
    w: number,
    g: number,
    v: number,
    wOut: number,
    vOut: number,
    n: number,
    negEps: number,
    decay: number,
    mu: number,
    nesterov: number,
  ): void;
}

/** The exponents the kernels take without pow, as the `kind` they pass (see the .wat). */
const BETA_KINDS = new Map([
  [0.75, 0],
  [0.5, 1],
  [1, 2],
]);

/** The part of the WebAssembly JavaScript API used here (Node 20's typings do not declare it). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
const instances = new WeakMap<object, Exports>();

/** The kernels on `backend`'s memory, or null where this runtime has no WebAssembly SIMD. */
function kernelsFor(backend: BackendWasm): Exports | null {
  const memory = (backend.wasm as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) return null;
  if (compiled === undefined) {
    try {
      compiled = new wasmApi.Module(Buffer.from(SIMD_KERNELS_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  let kernels = instances.get(memory);
  if (!kernels) {
    kernels = new wasmApi.Instance(compiled, { env: { memory } }).exports as Exports;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** What the LRN kernels need besides their tensors. */
export interface LrnParams {
  depthRadius: number;
  bias: number;
  alpha: number;
  beta: number;
}

/** Whether the SIMD kernels take an LRN over `channels` channels with these parameters. */
function lrnApplies(channels: number, attrs: LrnParams): boolean {
  return channels % 4 === 0 && BETA_KINDS.has(attrs.beta) && Number.isInteger(attrs.depthRadius);
}

/** Runs `fn` with the byte offset of a scratch buffer of `floats` floats on the heap. */
function withScratch(backend: BackendWasm, floats: number, fn: (offset: number) => void): void {
  const scratch = backend.makeOutput([floats + 4], 'float32');
  try {
    fn(backend.getMemoryOffset(scratch.dataId));
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/** LRN forward (x → y, NHWC float32) on the heap; false when the SIMD kernel does not apply. */
export function lrnSimd(
  x: TensorInfo,
  y: TensorInfo,
  attrs: LrnParams,
  backend: BackendWasm,
): boolean {
  const channels = x.shape[3]!;
  const kernels = kernelsFor(backend);
  if (!kernels || !lrnApplies(channels, attrs)) return false;
  const r = attrs.depthRadius;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  withScratch(backend, channels + 2 * r, (scratch) =>
    kernels.lrn(
      at(x),
      at(y),
      x.shape[0]! * x.shape[1]! * x.shape[2]!,
      channels,
      r,
      attrs.bias,
      attrs.alpha,
      BETA_KINDS.get(attrs.beta)!,
      scratch,
    ),
  );
  return true;
}

/** LRN's input gradient on the heap; false when the SIMD kernel does not apply. */
export function lrnGradSimd(
  x: TensorInfo,
  y: TensorInfo,
  dy: TensorInfo,
  dx: TensorInfo,
  attrs: LrnParams,
  backend: BackendWasm,
): boolean {
  const channels = x.shape[3]!;
  const kernels = kernelsFor(backend);
  if (!kernels || !lrnApplies(channels, attrs)) return false;
  const r = attrs.depthRadius;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  withScratch(backend, 3 * (channels + 2 * r), (scratch) =>
    kernels.lrn_grad(
      at(x),
      at(y),
      at(dy),
      at(dx),
      x.shape[0]! * x.shape[1]! * x.shape[2]!,
      channels,
      r,
      attrs.bias,
      attrs.alpha,
      attrs.beta,
      BETA_KINDS.get(attrs.beta)!,
      scratch,
    ),
  );
  return true;
}

/**
 * The max-pool gradient into `dx` (x's shape, NHWC float32) on the heap; false when the SIMD
 * kernel does not apply (channels not in fours). `info` from computePool2DInfo, dilation 1.
 */
export function maxPoolGradSimd(
  dy: TensorInfo,
  x: TensorInfo,
  dx: TensorInfo,
  info: backend_util.Conv2DInfo,
  backend: BackendWasm,
): boolean {
  const kernels = kernelsFor(backend);
  if (!kernels || info.inChannels % 4 !== 0) return false;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  kernels.max_pool_grad(
    at(x),
    at(dy),
    at(dx),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return true;
}

/** One SGD-with-momentum update: learning rate, weight decay and momentum. */
export interface SgdParams {
  eps: number;
  decay: number;
  mu: number;
  nesterov: boolean;
}

/**
 * w′ and v′ (into wOut and vOut, float32 like w, g and v, all of one size) of one SGD update on the
 * heap; false where this runtime has no WebAssembly SIMD.
 */
export function sgdMomentumSimd(
  tensors: { w: TensorInfo; g: TensorInfo; v: TensorInfo; wOut: TensorInfo; vOut: TensorInfo },
  params: SgdParams,
  backend: BackendWasm,
): boolean {
  const kernels = kernelsFor(backend);
  if (!kernels) return false;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  const { w, g, v, wOut, vOut } = tensors;
  kernels.sgd_momentum(
    at(w),
    at(g),
    at(v),
    at(wOut),
    at(vOut),
    w.shape.reduce((a, b) => a * b, 1),
    -params.eps,
    params.decay,
    params.mu,
    params.nesterov ? 1 : 0,
  );
  return true;
}

/**
 * Whether {@link convFilterGradSimd} takes a conv: output channels in eights, dilation 1, and
 * something to sum.
 */
export function filterGradApplies(info: backend_util.Conv2DInfo): boolean {
  return (
    info.outChannels % 8 === 0 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.batchSize * info.outHeight * info.outWidth * info.inChannels > 0
  );
}

/**
 * The filter gradient dw [fh, fw, inC, outC] of an NHWC conv (see the .wat), from x and dy, on
 * the heap; false where the kernel does not apply or this runtime has no WebAssembly SIMD. `info`
 * from computeConv2DInfo.
 */
export function convFilterGradSimd(
  x: TensorInfo,
  dy: TensorInfo,
  dw: TensorInfo,
  info: backend_util.Conv2DInfo,
  backend: BackendWasm,
): boolean {
  const kernels = kernelsFor(backend);
  if (!kernels || !filterGradApplies(info)) return false;
  const { filterHeight: fh, filterWidth: fw, inChannels: inC, outChannels: outC } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: outH, outWidth: outW } = info;
  const padH = (outH - 1) * sh + fh;
  const padW = (outW - 1) * sw + fw;
  const rows = Math.ceil((fw * inC) / 4) * 4;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  withScratch(backend, padH * padW * inC + 4 + fh * rows * outC, (scratch) =>
    kernels.conv_filter_grad(
      at(x),
      at(dy),
      at(dw),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      inC,
      outH,
      outW,
      outC,
      fh,
      fw,
      sh,
      sw,
      info.padInfo.top,
      info.padInfo.left,
      scratch,
    ),
  );
  return true;
}
