import { describe, it, expect } from 'vitest';
import {
  augmentInto,
  gaussian,
  makeRng,
  pcaShift,
  type AugmentOptions,
} from '../../core/data/augment.js';
import { eigenSymmetric3 } from '../../core/data/stats.js';
import { writeCrop } from '../../core/model/input.js';

/** An S×S image whose pixel (x, y) is (x, y, 7). */
function coordinateImage(size: number) {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) data.set([x, y, 7], (y * size + x) * 3);
  }
  return { data, width: size, height: size };
}

const pixelAt = (out: Float32Array, size: number, x: number, y: number) =>
  Array.from(out.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

const plain: AugmentOptions = {
  crop: 4,
  randomCrop: false,
  flip: false,
  pcaSigma: 0,
  mean: { type: 'pixel', values: [0, 0, 0] },
  scale: 1,
};

// An eigen-decomposition with distinct, known directions (not the axes).
const eig = (() => {
  const { values, vectors } = eigenSymmetric3([
    [0.05, 0.02, 0.01],
    [0.02, 0.04, 0.015],
    [0.01, 0.015, 0.03],
  ]);
  return { eigenvalues: values, eigenvectors: vectors };
})();

describe('augmentInto crops', () => {
  const image = coordinateImage(10);

  it('takes the centre crop exactly when randomCrop is off', () => {
    const out = new Float32Array(4 * 4 * 3);
    augmentInto(image, plain, makeRng(1), out, 0);
    // (10 − 4) / 2 = 3: the crop starts at x = y = 3.
    expect(pixelAt(out, 4, 0, 0)).toEqual([3, 3, 7]);
    expect(pixelAt(out, 4, 3, 3)).toEqual([6, 6, 7]);
  });

  it('writes crop×crop×3 floats at the offset and nothing else', () => {
    const out = new Float32Array(5 + 48 + 5).fill(-99);
    augmentInto(image, plain, makeRng(1), out, 5);
    expect(out.subarray(0, 5).every((v) => v === -99)).toBe(true);
    expect(out.subarray(53).every((v) => v === -99)).toBe(true);
    expect(out.subarray(5, 53).every((v) => v !== -99)).toBe(true);
    expect(() => augmentInto(image, plain, makeRng(1), new Float32Array(47), 0)).toThrow();
    expect(() => augmentInto(image, { ...plain, crop: 11 }, makeRng(1), out, 0)).toThrow();
  });

  it('keeps random crops inside the image and covers every offset, both extremes included', () => {
    const rng = makeRng('crops');
    const out = new Float32Array(48);
    const tops = new Set<number>();
    const lefts = new Set<number>();
    for (let n = 0; n < 500; n++) {
      augmentInto(image, { ...plain, randomCrop: true }, rng, out, 0);
      const [left, top] = pixelAt(out, 4, 0, 0) as [number, number];
      // Contiguous crop: the far corner is 3 pixels on, and inside the 10×10 image.
      expect(pixelAt(out, 4, 3, 3)).toEqual([left + 3, top + 3, 7]);
      tops.add(top);
      lefts.add(left);
    }
    expect([...tops].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([...lefts].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('flips about half the time, mirroring the crop exactly', () => {
    const centre = new Float32Array(48);
    augmentInto(image, plain, makeRng(1), centre, 0);
    const rng = makeRng('flips');
    let flipped = 0;
    for (let n = 0; n < 200; n++) {
      const out = new Float32Array(48);
      augmentInto(image, { ...plain, flip: true }, rng, out, 0);
      if (out[0] === centre[0]) {
        expect(out).toEqual(centre);
        continue;
      }
      flipped++;
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++)
          expect(pixelAt(out, 4, x, y)).toEqual(pixelAt(centre, 4, 3 - x, y));
      }
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
  });

  it('subtracts the mean and scales, values staying in the expected range', () => {
    const big = coordinateImage(16);
    const options = { ...plain, crop: 8, randomCrop: true, flip: true, scale: 0.5 };
    const mean = { type: 'pixel' as const, values: [7.5, 7.5, 7] };
    const out = new Float32Array(8 * 8 * 3);
    const rng = makeRng(3);
    for (let n = 0; n < 50; n++) {
      augmentInto(big, { ...options, mean }, rng, out, 0);
      expect(out.length).toBe(192);
      for (let i = 0; i < out.length; i += 3) {
        expect(Math.abs(out[i]!)).toBeLessThanOrEqual(7.5 * 0.5);
        expect(Math.abs(out[i + 1]!)).toBeLessThanOrEqual(7.5 * 0.5);
        expect(out[i + 2]).toBe(0);
      }
    }
  });
});

describe('PCA colour noise', () => {
  const image = coordinateImage(10);

  it('is off with sigma 0 and draws nothing from the rng', () => {
    const a = makeRng('same');
    const b = makeRng('same');
    const out = new Float32Array(48);
    augmentInto(image, { ...plain, pcaSigma: 0 }, a, out, 0, eig);
    expect(pixelAt(out, 4, 0, 0)).toEqual([3, 3, 7]);
    expect(a()).toBe(b());
    expect(pcaShift(eig, 0, makeRng(1))).toEqual([0, 0, 0]);
  });

  it('shifts every pixel by the same per-image vector, times scale', () => {
    const base = new Float32Array(48);
    writeCrop(image, { top: 3, left: 3, size: 4, flip: false }, plain.mean, 2, base);
    const shifts: number[][] = [];
    const rng = makeRng('pca');
    for (let n = 0; n < 3; n++) {
      const out = new Float32Array(48);
      augmentInto(image, { ...plain, pcaSigma: 0.1, scale: 2 }, rng, out, 0, eig);
      const d = [0, 1, 2].map((c) => out[c]! - base[c]!);
      for (let i = 0; i < 48; i++) expect(out[i]! - base[i]!).toBeCloseTo(d[i % 3]!, 4);
      shifts.push(d);
    }
    expect(shifts[0]).not.toEqual(shifts[1]);
    expect(() => augmentInto(image, { ...plain, pcaSigma: 0.1 }, rng, base, 0)).toThrow(/eigen/);
  });

  it('has covariance Σ p_i p_iᵀ (σ λ_i · 255)² over many images', () => {
    const sigma = 0.1;
    const rng = makeRng('pca-cov');
    const draws = 20000;
    const sum = [0, 0, 0];
    const prod = [0, 1, 2].map(() => [0, 0, 0]);
    for (let n = 0; n < draws; n++) {
      const s = pcaShift(eig, sigma, rng);
      for (let a = 0; a < 3; a++) {
        sum[a] = sum[a]! + s[a]!;
        for (let b = 0; b < 3; b++) prod[a]![b] = prod[a]![b]! + s[a]! * s[b]!;
      }
    }
    const w = eig.eigenvalues.map((l) => (sigma * l * 255) ** 2);
    const scaleOf = Math.max(...w);
    for (let a = 0; a < 3; a++) {
      expect(Math.abs(sum[a]! / draws)).toBeLessThan(0.02 * Math.sqrt(scaleOf));
      for (let b = 0; b < 3; b++) {
        const empirical = prod[a]![b]! / draws - (sum[a]! / draws) * (sum[b]! / draws);
        const p = eig.eigenvectors;
        const expected = w.reduce((t, wi, i) => t + wi * p[i]![a]! * p[i]![b]!, 0);
        expect(Math.abs(empirical - expected)).toBeLessThan(0.04 * scaleOf);
      }
    }
  });
});

describe('determinism', () => {
  const rng = makeRng(0);
  const image = {
    data: Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(rng() * 256)),
    width: 32,
    height: 32,
  };
  const options: AugmentOptions = {
    crop: 24,
    randomCrop: true,
    flip: true,
    pcaSigma: 0.1,
    mean: { type: 'pixel', values: [120, 115, 100] },
    scale: 1 / 64,
  };
  const run = (seed: number | string) => {
    const r = makeRng(seed);
    const out = new Float32Array(10 * 24 * 24 * 3);
    for (let n = 0; n < 10; n++) augmentInto(image, options, r, out, n * 24 * 24 * 3, eig);
    return out;
  };

  it('gives identical output for the same seed and different output for another', () => {
    expect(run(42)).toEqual(run(42));
    expect(run('42')).toEqual(run(42));
    expect(run(43)).not.toEqual(run(42));
  });

  it('draws standard normals', () => {
    const r = makeRng('normal');
    const xs = Array.from({ length: 20000 }, () => gaussian(r));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
  });
});
