import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MODEL_FILES } from './io.js';

const manifestSchema = z.object({
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string().regex(/^[\w.-]+$/)).length(1),
        weights: z.array(
          z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()) }),
        ),
      }),
    )
    .length(1),
});

/**
 * One weight of a saved model (model.json + weights.bin), read straight from the file without
 * loading the model: its shape and float32 values. Null when the model has no such weight.
 */
export function readWeight(
  modelDir: string,
  name: string,
): { shape: number[]; data: Float32Array } | null {
  const manifest = manifestSchema.parse(
    JSON.parse(readFileSync(path.join(modelDir, MODEL_FILES.topology), 'utf8')),
  ).weightsManifest[0]!;
  let offset = 0;
  for (const spec of manifest.weights) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.name === name) {
      const data = new Float32Array(size);
      const fd = openSync(path.join(modelDir, manifest.paths[0]!), 'r');
      try {
        const bytes = new Uint8Array(data.buffer);
        if (readSync(fd, bytes, 0, bytes.length, offset * 4) !== bytes.length)
          throw new Error(`${modelDir}: weights file is shorter than model.json describes`);
      } finally {
        closeSync(fd);
      }
      return { shape: spec.shape, data };
    }
    offset += size;
  }
  return null;
}

/** Filters at least this many pixels wide in the grid (the paper's Figure 3 shows 11×11 ones). */
const MIN_FILTER_PX = 33;
const GAP = 1;

/**
 * First-layer filters as one RGB image, like the paper's Figure 3: each filter of a kernel
 * [kh, kw, 3, out] min-max normalised to 0..255 on its own, scaled up (nearest neighbour) to at
 * least 33 px, tiled in a near-square grid with a 1 px white gap around every filter.
 */
export function filterGrid(
  kernel: Float32Array,
  shape: readonly number[],
): { data: Uint8Array; width: number; height: number } {
  const [kh = 0, kw = 0, channels = 0, out = 0] = shape;
  if (shape.length !== 4 || channels !== 3 || out < 1)
    throw new Error(`expected a [kh, kw, 3, out] kernel, got [${shape.join(', ')}]`);
  const scale = Math.ceil(MIN_FILTER_PX / Math.min(kh, kw));
  const cols = Math.ceil(Math.sqrt(out));
  const rows = Math.ceil(out / cols);
  const cellW = kw * scale;
  const cellH = kh * scale;
  const width = cols * cellW + (cols + 1) * GAP;
  const height = rows * cellH + (rows + 1) * GAP;
  const data = new Uint8Array(width * height * 3).fill(255);
  const at = (y: number, x: number, c: number) => ((y * kw + x) * 3 + c) * out;
  for (let f = 0; f < out; f++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < kh * kw * 3; i++) {
      const v = kernel[i * out + f]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const range = hi - lo || 1;
    const left = GAP + (f % cols) * (cellW + GAP);
    const top = GAP + Math.floor(f / cols) * (cellH + GAP);
    for (let py = 0; py < cellH; py++) {
      for (let px = 0; px < cellW; px++) {
        const o = ((top + py) * width + left + px) * 3;
        for (let c = 0; c < 3; c++) {
          const v = kernel[at(Math.floor(py / scale), Math.floor(px / scale), c) + f]!;
          data[o + c] = Math.round((255 * (v - lo)) / range);
        }
      }
    }
  }
  return { data, width, height };
}
