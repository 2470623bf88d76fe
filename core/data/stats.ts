import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { z } from 'zod';

/**
 * Training-set statistics of a dataset cache of S×S uint8 RGB images.
 * Units: `meanPixel` and `meanImage` are 0–255 pixel values; `covariance`, `eigenvalues` are of
 * pixels scaled to [0, 1] (x/255), the scale of the paper's PCA colour noise.
 */
export interface DatasetStats {
  /** Number of images accumulated. */
  count: number;
  /** Images per class, length = number of classes. */
  perClass: number[];
  /** Mean R, G, B over all pixels of all images, 0–255. */
  meanPixel: [number, number, number];
  /** Mean image, [S, S, 3] row-major, 0–255. */
  meanImage: Float32Array;
  /** 3×3 RGB covariance over all pixels (population, ÷ pixel count), on the [0, 1] scale. */
  covariance: number[][];
  /** Eigenvalues of `covariance`, descending, clamped to ≥ 0. */
  eigenvalues: [number, number, number];
  /** Rows: eigenvectors[i] is the unit eigenvector p_i for eigenvalues[i] (in RGB order). */
  eigenvectors: number[][];
}

/** What statsToJson stores: everything except the mean image (a separate raw float32 file). */
export type StoredStats = Omit<DatasetStats, 'meanImage'>;

/**
 * One-pass accumulator of DatasetStats; feed it the training split only. Keeps float64 sums
 * and sums of products rather than images. Sums of uint8 values and their products are
 * integers, exact in float64 below 2^53 (over 2M images of 256×256), so the order of images
 * cannot change the result.
 */
export class StatsAccumulator {
  private readonly sum: Float64Array;
  private readonly classCounts: number[];
  // Σr, Σg, Σb, Σrr, Σrg, Σrb, Σgg, Σgb, Σbb over all pixels, in 0–255 units.
  private readonly moments = new Float64Array(9);
  private images = 0;

  /** @param size side S of the square images; @param classes number of classes. */
  constructor(
    private readonly size: number,
    classes: number,
  ) {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`invalid image size ${size}`);
    if (!Number.isInteger(classes) || classes <= 0)
      throw new Error(`invalid class count ${classes}`);
    this.sum = new Float64Array(size * size * 3);
    this.classCounts = new Array<number>(classes).fill(0);
  }

  /** Adds one image, uint8 [S, S, 3] row-major RGB, with its class index in [0, classes). */
  add(image: Uint8Array, label: number): void {
    const sum = this.sum;
    const n = sum.length;
    if (image.length !== n) {
      throw new Error(
        `image has ${image.length} values, expected ${this.size}×${this.size}×3 = ${n}`,
      );
    }
    if (!Number.isInteger(label) || label < 0 || label >= this.classCounts.length) {
      throw new Error(`label ${label} is outside [0, ${this.classCounts.length})`);
    }
    // Locals, not the Float64Array, in the hot loop: V8 keeps them in registers.
    // prettier-ignore
    let r = 0, g = 0, b = 0, rr = 0, rg = 0, rb = 0, gg = 0, gb = 0, bb = 0;
    for (let i = 0; i < n; i += 3) {
      const R = image[i]!;
      const G = image[i + 1]!;
      const B = image[i + 2]!;
      sum[i] = sum[i]! + R;
      sum[i + 1] = sum[i + 1]! + G;
      sum[i + 2] = sum[i + 2]! + B;
      r += R;
      g += G;
      b += B;
      rr += R * R;
      rg += R * G;
      rb += R * B;
      gg += G * G;
      gb += G * B;
      bb += B * B;
    }
    const m = this.moments;
    const sums = [r, g, b, rr, rg, rb, gg, gb, bb];
    for (let k = 0; k < 9; k++) m[k] = m[k]! + sums[k]!;
    this.classCounts[label] = this.classCounts[label]! + 1;
    this.images++;
  }

  /** The statistics of everything added so far; may be called again after more adds. */
  finish(): DatasetStats {
    if (this.images === 0) {
      throw new Error('cannot compute dataset statistics from zero images (empty training split)');
    }
    const meanImage = new Float32Array(this.sum.length);
    for (let i = 0; i < meanImage.length; i++) meanImage[i] = this.sum[i]! / this.images;
    const pixels = this.images * this.size * this.size;
    const m = Array.from(this.moments);
    const mean = [m[0]! / pixels, m[1]! / pixels, m[2]! / pixels];
    // Index of Σ(a·b) in `moments` for channels a ≤ b.
    const product = [
      [3, 4, 5],
      [4, 6, 7],
      [5, 7, 8],
    ];
    const covariance = [0, 1, 2].map((a) =>
      [0, 1, 2].map((c) => (m[product[a]![c]!]! / pixels - mean[a]! * mean[c]!) / (255 * 255)),
    );
    const { values, vectors } = eigenSymmetric3(covariance);
    return {
      count: this.images,
      perClass: [...this.classCounts],
      meanPixel: [mean[0]!, mean[1]!, mean[2]!],
      meanImage,
      covariance,
      // A covariance is positive semi-definite; rounding can still give −1e-18 (grey images).
      eigenvalues: [Math.max(0, values[0]), Math.max(0, values[1]), Math.max(0, values[2])],
      eigenvectors: vectors,
    };
  }
}

/**
 * Eigen-decomposition of a symmetric 3×3 matrix (symmetrised first, to absorb rounding).
 * Returns values sorted descending and vectors as rows, vectors[i] the unit eigenvector of
 * values[i], its largest-magnitude component made positive so results are reproducible.
 */
export function eigenSymmetric3(m: number[][]): {
  values: [number, number, number];
  vectors: number[][];
} {
  if (m.length !== 3 || m.some((row) => row.length !== 3 || row.some((v) => !Number.isFinite(v)))) {
    throw new Error('eigenSymmetric3 needs a 3×3 matrix of finite numbers');
  }
  const at = (i: number, j: number) => m[i]![j]!;
  const sym = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (at(i, j) + at(j, i)) / 2));
  const evd = new EigenvalueDecomposition(new Matrix(sym), { assumeSymmetric: true });
  const order = [0, 1, 2].sort((i, j) => evd.realEigenvalues[j]! - evd.realEigenvalues[i]!);
  const vectors = order.map((j) => {
    const v = evd.eigenvectorMatrix.getColumn(j);
    const norm = Math.hypot(...v);
    const big = v.reduce((best, x, k) => (Math.abs(x) > Math.abs(v[best]!) ? k : best), 0);
    const sign = v[big]! < 0 ? -1 : 1;
    return v.map((x) => (sign * x) / norm);
  });
  const values = order.map((j) => evd.realEigenvalues[j]!);
  return { values: [values[0]!, values[1]!, values[2]!], vectors };
}

const vec3 = z.tuple([z.number(), z.number(), z.number()]);
const storedSchema = z
  .strictObject({
    version: z.literal(1),
    count: z.number().int().positive(),
    perClass: z.array(z.number().int().nonnegative()).min(1),
    meanPixel: vec3,
    covariance: z.tuple([vec3, vec3, vec3]),
    eigenvalues: vec3,
    eigenvectors: z.tuple([vec3, vec3, vec3]),
  })
  .refine((s) => s.perClass.reduce((a, b) => a + b, 0) === s.count, {
    message: 'perClass does not sum to count',
  });

/** stats.json: StoredStats plus a format version. */
export type StatsJson = z.infer<typeof storedSchema>;

/** A JSON-ready copy of everything but the mean image (see meanImageBytes). */
export function statsToJson(stats: StoredStats): StatsJson {
  const rows = (m: number[][]) => m.map((r) => [r[0]!, r[1]!, r[2]!] as [number, number, number]);
  const [c0, c1, c2] = rows(stats.covariance);
  const [e0, e1, e2] = rows(stats.eigenvectors);
  return storedSchema.parse({
    version: 1,
    count: stats.count,
    perClass: [...stats.perClass],
    meanPixel: [...stats.meanPixel],
    covariance: [c0, c1, c2],
    eigenvalues: [...stats.eigenvalues],
    eigenvectors: [e0, e1, e2],
  });
}

/** Parses and validates what statsToJson wrote (after JSON.parse); throws on a bad file. */
export function statsFromJson(json: unknown): StoredStats {
  const { version: _version, ...stats } = storedSchema.parse(json);
  return stats;
}

/** The mean image as raw float32 bytes (platform byte order, little-endian in practice). */
export function meanImageBytes(stats: Pick<DatasetStats, 'meanImage'>): Uint8Array {
  const f = stats.meanImage;
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

/** Reads meanImageBytes' output back into a [size, size, 3] Float32Array (a copy, aligned). */
export function meanImageFromBytes(buf: Uint8Array, size: number): Float32Array {
  const expected = size * size * 3 * 4;
  if (buf.byteLength !== expected) {
    throw new Error(
      `mean image has ${buf.byteLength} bytes, expected ${size}×${size}×3 float32 = ${expected}`,
    );
  }
  const out = new Float32Array(size * size * 3);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
