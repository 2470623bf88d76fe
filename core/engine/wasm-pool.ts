/**
 * The gradient of max-pooling for the wasm backend, as one JavaScript pass over the heap.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { maxPoolGradSimd } from './simd-kernels.js';

/**
 * Gradient of an NHWC max-pool with dilation 1: each window's dy goes to the first element (in
 * row-major window order) holding the window's max, exactly as tfjs's cpu kernel picks it (a
 * strict `>` from −Infinity, so NaN and −Infinity are never picked; a window of nothing else
 * drops its gradient). Window rows and columns outside the input are skipped, which also covers
 * windows clipped by dimRoundingMode 'ceil'.
 *
 * Inputs: dy [batch, outH, outW, c], x [batch, inH, inW, c]; `info` from computePool2DInfo.
 * Output: dx [batch, inH, inW, c].
 *
 * The channels are innermost, so for each output pixel the window is scanned one input pixel at
 * a time across all channels (contiguous reads), keeping a running max and its position per
 * channel; then dy is added at those positions. Built from XNNPACK kernels instead (per window
 * offset a strided depthwise conv reading it, masks of where the max is, a pad into place; then
 * sums and interleaving) the same gradient took 1.3–1.6× as long on AlexNet's pools.
 */
export function maxPoolGradOnHeap(
  dy: TensorInfo,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { batchSize: batch, inHeight: inH, inWidth: inW, inChannels: c } = info;
  const { outHeight: outH, outWidth: outW, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  if (maxPoolGradSimd(dy, x, out, info, backend)) return out;
  // Views after the allocation: growing the heap detaches earlier ones.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - top;
      const yFrom = Math.max(0, y0);
      const yTo = Math.min(inH, y0 + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - left;
        const xFrom = Math.max(0, x0);
        const xTo = Math.min(inW, x0 + kw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let iy = yFrom; iy < yTo; iy++) {
          for (let ix = xFrom; ix < xTo; ix++) {
            const base = ((b * inH + iy) * inW + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = xs[base + ch]!;
              if (v > best[ch]!) {
                best[ch] = v;
                where[ch] = base + ch;
              }
            }
          }
        }
        const o = ((b * outH + oy) * outW + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          const at = where[ch]!;
          if (at >= 0) dx[at] = dx[at]! + dys[o + ch]!;
        }
      }
    }
  }
  return out;
}
