import seedrandom from 'seedrandom';
import { writeCrop, type Mean } from '../model/input.js';
import { cropOffsets } from '../model/preprocessing.js';
import type { RgbImage } from '../image/decode.js';
import type { DatasetStats } from './stats.js';

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** The PCA basis of the training set's RGB covariance (eigenvalues on the [0, 1] pixel scale). */
export type ColourEigen = Pick<DatasetStats, 'eigenvalues' | 'eigenvectors'>;

/** A seeded uniform [0, 1) generator (seedrandom's alea: fast, and the same on every platform). */
export function makeRng(seed: number | string): Rng {
  return seedrandom.alea(String(seed));
}

/**
 * One standard normal draw, N(0, 1), by Box–Muller. Consumes exactly two rng() values and
 * drops the second normal, so the number of draws per call never depends on earlier calls.
 */
export function gaussian(rng: Rng): number {
  // 1 − u lies in (0, 1]: log(0) would give an infinite sample.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * The paper's PCA colour noise for one image: [p1 p2 p3]·[α1λ1 α2λ2 α3λ3]ᵀ with αi ~ N(0, sigma)
 * (drawn in the order α1, α2, α3). Returns the RGB shift in 0–255 pixel units: the λ are
 * variances of x/255, so the shift is scaled back by 255.
 */
export function pcaShift(eig: ColourEigen, sigma: number, rng: Rng): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < 3; i++) {
    const w = sigma * gaussian(rng) * eig.eigenvalues[i]! * 255;
    const p = eig.eigenvectors[i]!;
    r += w * p[0]!;
    g += w * p[1]!;
    b += w * p[2]!;
  }
  return [r, g, b];
}

/** Training-time augmentation of one image. */
export interface AugmentOptions {
  /** Side of the square crop, in pixels (224 or 227 for AlexNet on 256×256). */
  crop: number;
  /** Crop at a uniformly random offset (true) or at the centre (false). */
  randomCrop: boolean;
  /** Mirror left–right with probability 0.5. */
  flip: boolean;
  /** σ of the PCA colour noise coefficients αi; 0 turns it off, the paper uses 0.1. */
  pcaSigma: number;
  /** Subtracted before scaling (a mean image must have the source image's size). */
  mean: Mean;
  /** Multiplier applied after subtracting the mean (1 keeps 0–255 units). */
  scale: number;
}

/**
 * Writes one augmented crop, float32 [crop, crop, 3] RGB, into `out` at `offset`:
 * ((image[crop] − mean[crop]) + pcaShift) · scale, the crop possibly mirrored.
 * The shift is added after the mean and not clipped to 0–255, as in fb.resnet.torch's Lighting.
 *
 * Randomness is drawn from `rng` in a fixed order — top, left (if randomCrop), flip (if flip),
 * α1..α3 (if pcaSigma > 0) — so a seed reproduces a batch exactly.
 * @param image uint8 [H, W, 3] with H, W ≥ crop (the dataset cache: S×S).
 * @param eig required when pcaSigma > 0: the training set's colour eigen-decomposition.
 */
export function augmentInto(
  image: RgbImage,
  options: AugmentOptions,
  rng: Rng,
  out: Float32Array,
  offset: number,
  eig?: ColourEigen,
): void {
  const { crop: size, scale } = options;
  if (!Number.isInteger(size) || size <= 0 || size > image.width || size > image.height) {
    throw new Error(`crop ${size} does not fit a ${image.width}×${image.height} image`);
  }
  const length = size * size * 3;
  if (offset < 0 || offset + length > out.length) {
    throw new Error(`output needs ${length} floats at ${offset}, has ${out.length}`);
  }
  if (options.pcaSigma > 0 && !eig) {
    throw new Error('PCA colour noise (pcaSigma > 0) needs the dataset eigenvalues/vectors');
  }
  let top: number;
  let left: number;
  if (options.randomCrop) {
    // Uniform over the integers 0..H−crop inclusive.
    top = Math.floor(rng() * (image.height - size + 1));
    left = Math.floor(rng() * (image.width - size + 1));
  } else {
    // The same centre evaluation uses, so centre-crop training matches testing.
    top = cropOffsets(image.height, size).centre[0];
    left = cropOffsets(image.width, size).centre[1];
  }
  const flip = options.flip && rng() < 0.5;
  writeCrop(image, { top, left, size, flip }, options.mean, scale, out, offset);
  if (options.pcaSigma > 0 && eig) {
    const [r, g, b] = pcaShift(eig, options.pcaSigma, rng);
    const dr = r * scale;
    const dg = g * scale;
    const db = b * scale;
    const end = offset + length;
    for (let i = offset; i < end; i += 3) {
      out[i] = out[i]! + dr;
      out[i + 1] = out[i + 1]! + dg;
      out[i + 2] = out[i + 2]! + db;
    }
  }
}
