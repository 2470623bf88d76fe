import { describe, it, expect } from 'vitest';
import {
  StatsAccumulator,
  eigenSymmetric3,
  meanImageBytes,
  meanImageFromBytes,
  statsFromJson,
  statsToJson,
} from '../../core/data/stats.js';
import { gaussian, makeRng } from '../../core/data/augment.js';

/** Rows of a rotation by `a` about z then `b` about x: an orthonormal basis. */
function rotationBasis(a: number, b: number): number[][] {
  const rz = [
    [Math.cos(a), -Math.sin(a), 0],
    [Math.sin(a), Math.cos(a), 0],
    [0, 0, 1],
  ];
  const rx = [
    [1, 0, 0],
    [0, Math.cos(b), -Math.sin(b)],
    [0, Math.sin(b), Math.cos(b)],
  ];
  const r = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + rx[i]![k]! * rz[k]![j]!, 0)),
  );
  // Columns of a rotation are orthonormal; return them as rows.
  return [0, 1, 2].map((j) => r.map((row) => row[j]!));
}

/** Σ λi pi piᵀ. */
function fromEigen(values: number[], basis: number[][]): number[][] {
  return [0, 1, 2].map((a) =>
    [0, 1, 2].map((b) => values.reduce((s, l, i) => s + l * basis[i]![a]! * basis[i]![b]!, 0)),
  );
}

const dot = (u: number[], v: number[]) => u.reduce((s, x, i) => s + x * v[i]!, 0);

const trueValues = [0.015, 0.004, 0.001];
const basis = rotationBasis(0.6, -0.9);

describe('eigenSymmetric3', () => {
  it('recovers chosen eigenvalues and eigenvectors of a rotated diagonal matrix', () => {
    const { values, vectors } = eigenSymmetric3(fromEigen(trueValues, basis));
    for (let i = 0; i < 3; i++) {
      expect(values[i]).toBeCloseTo(trueValues[i]!, 12);
      expect(Math.abs(dot(vectors[i]!, basis[i]!))).toBeCloseTo(1, 10);
      expect(Math.hypot(...vectors[i]!)).toBeCloseTo(1, 12);
      // Sign convention: the largest-magnitude component is positive.
      const v = vectors[i]!;
      const big = v.reduce((b, x, k) => (Math.abs(x) > Math.abs(v[b]!) ? k : b), 0);
      expect(v[big]!).toBeGreaterThan(0);
    }
  });

  it('sorts values descending whatever the input order', () => {
    const { values, vectors } = eigenSymmetric3([
      [1, 0, 0],
      [0, 3, 0],
      [0, 0, -2],
    ]);
    expect(values).toEqual([3, 1, -2]);
    expect(vectors.map((v) => v.map((x) => Math.abs(x)))).toEqual([
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
    ]);
  });

  it('rejects a matrix that is not 3×3', () => {
    expect(() => eigenSymmetric3([[1, 2]])).toThrow(/3×3/);
  });
});

describe('StatsAccumulator', () => {
  it('estimates the covariance and PCA of pixels drawn from a known Gaussian', () => {
    const size = 32;
    const rng = makeRng('stats-gaussian');
    const acc = new StatsAccumulator(size, 2);
    const centre = [120, 130, 125];
    for (let n = 0; n < 60; n++) {
      const image = new Uint8Array(size * size * 3);
      for (let p = 0; p < size * size; p++) {
        const z = trueValues.map((l) => Math.sqrt(l) * gaussian(rng));
        for (let c = 0; c < 3; c++) {
          const x = centre[c]! + 255 * z.reduce((s, zi, i) => s + zi * basis[i]![c]!, 0);
          image[p * 3 + c] = Math.min(255, Math.max(0, Math.round(x)));
        }
      }
      acc.add(image, n % 2);
    }
    const stats = acc.finish();
    const truth = fromEigen(trueValues, basis);
    for (let a = 0; a < 3; a++) {
      expect(stats.meanPixel[a]).toBeCloseTo(centre[a]!, 0);
      for (let b = 0; b < 3; b++) {
        expect(Math.abs(stats.covariance[a]![b]! - truth[a]![b]!)).toBeLessThan(3e-4);
      }
    }
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(stats.eigenvalues[i]! / trueValues[i]! - 1)).toBeLessThan(0.05);
    }
    // The two well-separated directions are recovered closely.
    expect(Math.abs(dot(stats.eigenvectors[0]!, basis[0]!))).toBeGreaterThan(0.999);
    expect(Math.abs(dot(stats.eigenvectors[1]!, basis[1]!))).toBeGreaterThan(0.99);
    expect(stats.perClass).toEqual([30, 30]);
  });

  it('computes the mean image, mean pixel, covariance and per-class counts exactly', () => {
    const acc = new StatsAccumulator(2, 3);
    // 2×2 images, pixels (r, g, b).
    acc.add(Uint8Array.from([0, 0, 0, 10, 20, 30, 255, 255, 255, 1, 2, 3]), 2);
    acc.add(Uint8Array.from([2, 4, 6, 10, 0, 30, 255, 255, 255, 3, 2, 1]), 2);
    acc.add(Uint8Array.from([4, 8, 12, 40, 40, 30, 0, 0, 0, 2, 2, 2]), 0);
    const stats = acc.finish();
    expect(stats.count).toBe(3);
    expect(stats.perClass).toEqual([1, 0, 2]);
    expect(Array.from(stats.meanImage)).toEqual([2, 4, 6, 20, 20, 30, 170, 170, 170, 2, 2, 2]);
    // prettier-ignore
    const pixels = [
      [0, 0, 0], [10, 20, 30], [255, 255, 255], [1, 2, 3],
      [2, 4, 6], [10, 0, 30], [255, 255, 255], [3, 2, 1],
      [4, 8, 12], [40, 40, 30], [0, 0, 0], [2, 2, 2],
    ];
    const mean = [0, 1, 2].map((c) => pixels.reduce((s, p) => s + p[c]!, 0) / pixels.length);
    expect(stats.meanPixel).toEqual(mean);
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const cov =
          pixels.reduce((s, p) => s + (p[a]! - mean[a]!) * (p[b]! - mean[b]!), 0) /
          pixels.length /
          255 ** 2;
        expect(stats.covariance[a]![b]).toBeCloseTo(cov, 12);
      }
    }
  });

  it('rejects a wrong-sized image or an out-of-range label', () => {
    const acc = new StatsAccumulator(2, 2);
    expect(() => acc.add(new Uint8Array(11), 0)).toThrow(/expected 2×2×3 = 12/);
    expect(() => acc.add(new Uint8Array(12), 2)).toThrow(/label 2/);
  });

  it('throws a clear error when finished with zero images', () => {
    expect(() => new StatsAccumulator(4, 2).finish()).toThrow(/zero images/);
  });
});

describe('stats storage', () => {
  const acc = new StatsAccumulator(3, 2);
  const rng = makeRng(7);
  for (let n = 0; n < 5; n++) {
    acc.add(
      Uint8Array.from({ length: 27 }, () => Math.floor(rng() * 256)),
      n % 2,
    );
  }
  const stats = acc.finish();

  it('round-trips everything but the mean image through JSON', () => {
    const back = statsFromJson(JSON.parse(JSON.stringify(statsToJson(stats))));
    const { meanImage: _meanImage, ...rest } = stats;
    expect(back).toEqual(rest);
  });

  it('rejects a malformed stats file', () => {
    const json = statsToJson(stats);
    expect(() => statsFromJson({ ...json, count: json.count + 1 })).toThrow(/perClass/);
    expect(() => statsFromJson({ ...json, eigenvalues: [1, 2] })).toThrow();
  });

  it('round-trips the mean image through raw float32 bytes and checks the length', () => {
    const bytes = meanImageBytes(stats);
    expect(bytes.byteLength).toBe(3 * 3 * 3 * 4);
    // An odd byteOffset, as in a slice of a larger Buffer, must still read correctly.
    const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
    unaligned.set(bytes);
    expect(meanImageFromBytes(unaligned, 3)).toEqual(stats.meanImage);
    expect(() => meanImageFromBytes(bytes.subarray(4), 3)).toThrow(/expected 3×3×3 float32/);
    expect(() => meanImageFromBytes(bytes, 4)).toThrow(/bytes/);
  });
});
