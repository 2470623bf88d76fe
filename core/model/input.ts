import type { RgbImage } from '../image/decode.js';

/** One crop of a square image: [top, left] offset, side length, optional horizontal flip. */
export interface Crop {
  top: number;
  left: number;
  size: number;
  flip: boolean;
}

/**
 * The mean to subtract: a per-channel pixel (length 3) or a whole image [h, w, 3] of the
 * same size as the images it is subtracted from, cropped at the same place.
 */
export type Mean =
  | { type: 'pixel'; values: ArrayLike<number> }
  | { type: 'image'; data: Float32Array; width: number };

/**
 * Writes (image[crop] − mean[crop]) · scale into `out` at `offset`, as [size, size, 3] floats.
 * Flipping mirrors the crop left–right (the mean is flipped with it).
 */
export function writeCrop(
  image: RgbImage,
  crop: Crop,
  mean: Mean,
  scale: number,
  out: Float32Array,
  offset = 0,
): void {
  const { top, left, size, flip } = crop;
  if (top < 0 || left < 0 || top + size > image.height || left + size > image.width) {
    throw new Error(
      `crop ${size}×${size} at [${top}, ${left}] falls outside a ${image.width}×${image.height} image`,
    );
  }
  const src = image.data;
  const pixel = mean.type === 'pixel' ? mean.values : [0, 0, 0];
  const meanImage = mean.type === 'image' ? mean : null;
  let o = offset;
  for (let y = 0; y < size; y++) {
    const row = (top + y) * image.width;
    for (let x = 0; x < size; x++) {
      const sx = left + (flip ? size - 1 - x : x);
      const s = (row + sx) * 3;
      for (let c = 0; c < 3; c++) {
        const m = meanImage
          ? meanImage.data[((top + y) * meanImage.width + sx) * 3 + c]!
          : pixel[c]!;
        out[o++] = (src[s + c]! - m) * scale;
      }
    }
  }
}
