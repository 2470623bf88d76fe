import { augmentInto, makeRng } from './augment.js';
import type { DatasetCache } from './dataset.js';
import type { StoredStats } from './stats.js';
import type { RgbImage } from '../image/decode.js';
import { writeCrop, type Mean } from '../model/input.js';
import { cropOffsets } from '../model/preprocessing.js';

/** How images become network input; serialisable, so it can be handed to a worker thread. */
export type TransformSpec =
  | {
      kind: 'train';
      crop: number;
      randomCrop: boolean;
      flip: boolean;
      /** σ of the PCA colour noise, 0 for none (the paper: 0.1). */
      pcaSigma: number;
      mean: 'image' | 'pixel' | 'none';
      scale: number;
    }
  | {
      kind: 'eval';
      crop: number;
      /** 10 crops per image (4 corners + centre, and their flips) instead of the centre crop. */
      tenCrop: boolean;
      /** The centre crop mirrored left to right (for features that do not change when flipped). */
      mirror?: boolean;
      mean: 'image' | 'pixel' | 'none';
      scale: number;
    };

/** Crops produced per image. */
export const cropsPerImage = (spec: TransformSpec) =>
  spec.kind === 'eval' && spec.tenCrop ? 10 : 1;

export function resolveMean(spec: TransformSpec, cache: DatasetCache, stats: StoredStats): Mean {
  if (spec.mean === 'image') return { type: 'image', data: cache.meanImage(), width: cache.size };
  if (spec.mean === 'pixel') return { type: 'pixel', values: stats.meanPixel };
  return { type: 'pixel', values: [0, 0, 0] };
}

/**
 * Builds one batch, float32 [indices·crops, crop, crop, 3], from cached images. Training
 * randomness comes from a generator seeded by `seedKey` (e.g. run seed, epoch, batch number), so
 * a batch is the same whichever thread builds it and whenever.
 */
export function prepareBatch(
  cache: DatasetCache,
  stats: StoredStats,
  mean: Mean,
  spec: TransformSpec,
  indices: readonly number[],
  seedKey: string,
): Float32Array {
  const per = spec.crop * spec.crop * 3;
  const crops = cropsPerImage(spec);
  const out = new Float32Array(indices.length * crops * per);
  const scratch = new Uint8Array(cache.imageBytes);
  const rng = makeRng(seedKey);
  indices.forEach((idx, n) => {
    const image = cache.read(idx, scratch);
    if (spec.kind === 'train') {
      augmentInto(image, { ...spec, mean }, rng, out, n * per, stats);
      return;
    }
    writeEvalCrops(image, spec, mean, out, n * crops * per);
  });
  return out;
}

/**
 * The evaluation crops of one image (the centre crop, or the ten crops: 4 corners + centre, then
 * the same flipped), float32 [crops, crop, crop, 3] written into `out` at `offset`. Images from
 * outside a dataset go through this too, after decodeSquare to the dataset's size, so a query
 * image is preprocessed exactly like the dataset's own.
 */
export function writeEvalCrops(
  image: RgbImage,
  spec: Extract<TransformSpec, { kind: 'eval' }>,
  mean: Mean,
  out: Float32Array,
  offset: number,
): void {
  const per = spec.crop * spec.crop * 3;
  const offsets = cropOffsets(image.width, spec.crop);
  const places = spec.tenCrop
    ? [false, true].flatMap((flip) => offsets.tenCrop.map(([top, left]) => ({ top, left, flip })))
    : [{ top: offsets.centre[0], left: offsets.centre[1], flip: spec.mirror ?? false }];
  places.forEach((p, c) =>
    writeCrop(image, { ...p, size: spec.crop }, mean, spec.scale, out, offset + c * per),
  );
}
