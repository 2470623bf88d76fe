import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FeatureIndex,
  floatToHalf,
  halfToFloat,
  recallAtK,
  writeFloat16Copy,
  type Metric,
  type Neighbour,
} from '../../core/retrieval/search.js';
import { NpyWriter, npyHeader } from '../../core/util/npy.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-retrieval-');
afterAll(() => tmp.cleanup());

let fileNo = 0;
/** Writes rows [n, d] through NpyWriter in uneven chunks, as a real extractor would. */
function writeGallery(data: Float32Array, d: number): string {
  const file = path.join(tmp.dir, `g${fileNo++}.npy`);
  const writer = new NpyWriter(file, data.length / d, d);
  for (let row = 0; row < data.length / d; row += 7)
    writer.append(data.subarray(row * d, (row + 7) * d));
  writer.close();
  return file;
}

function randomMatrix(rows: number, d: number, seed: string): Float32Array {
  const rng = seedrandom.alea(seed);
  // Non-negative and sparse-ish like post-ReLU fc7 features.
  return Float32Array.from({ length: rows * d }, () => Math.max(0, rng() * 2 - 0.6));
}

/** Brute force in float64 with the direct formulas, sorted by (distance, index). */
function reference(
  gallery: Float32Array,
  d: number,
  query: Float32Array,
  metric: Metric,
): Neighbour[] {
  const n = gallery.length / d;
  let qq = 0;
  for (let j = 0; j < d; j++) qq += query[j]! * query[j]!;
  const all: Neighbour[] = [];
  for (let i = 0; i < n; i++) {
    let [sq, xx, qx] = [0, 0, 0];
    for (let j = 0; j < d; j++) {
      const x = gallery[i * d + j]!;
      sq += (query[j]! - x) ** 2;
      xx += x * x;
      qx += query[j]! * x;
    }
    const cos = qq === 0 || xx === 0 ? 1 : 1 - qx / Math.sqrt(qq * xx);
    all.push({ index: i, distance: metric === 'euclidean' ? Math.sqrt(sq) : cos });
  }
  return all.sort((a, b) => a.distance - b.distance || a.index - b.index);
}

const close = (a: number, b: number, rel: number) =>
  Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1);

/** Same indices as brute force, except swaps among distances tying within 1e-5 relative. */
function expectExact(got: Neighbour[], want: Neighbour[], k: number): void {
  expect(got).toHaveLength(Math.min(k, want.length));
  const refDist = new Map(want.map((h) => [h.index, h.distance]));
  got.forEach((hit, j) => {
    const expected = want[j]!;
    if (hit.index !== expected.index)
      expect(close(refDist.get(hit.index)!, expected.distance, 1e-5)).toBe(true);
    expect(close(hit.distance, expected.distance, 1e-4)).toBe(true);
    if (j > 0) expect(hit.distance).toBeGreaterThanOrEqual(got[j - 1]!.distance);
  });
  expect(new Set(got.map((h) => h.index)).size).toBe(got.length);
}

describe('FeatureIndex', () => {
  // D = 75 is not a multiple of 4 or 8; 1000 rows in blocks of 97 leave a remainder of 30, and
  // 97 and 30 are not multiples of 4 either, so every kernel's tail path runs.
  const [n, d] = [1000, 75];
  const gallery = randomMatrix(n, d, 'gallery');
  gallery.copyWithin(17 * d, 5 * d, 6 * d); // row 17 duplicates row 5
  gallery.copyWithin(600 * d, 5 * d, 6 * d); // and so does row 600 (in a later block)
  gallery.fill(0, 42 * d, 43 * d); // a zero vector
  const queries = randomMatrix(7, d, 'queries'); // odd count: paired and single-query kernels
  queries.set(gallery.subarray(5 * d, 6 * d), 2 * d); // a query equal to the duplicated row
  queries.fill(0, 6 * d, 7 * d); // a zero query
  const file = writeGallery(gallery, d);

  for (const metric of ['euclidean', 'cosine'] as const) {
    it(`matches brute force (${metric}) for several k with uneven blocks`, () => {
      const index = FeatureIndex.open(file, { blockRows: 97 });
      expect([index.count, index.dims, index.dtype]).toEqual([n, d, '<f4']);
      for (const k of [1, 3, 10, 64]) {
        const results = index.search(queries, k, metric);
        expect(results).toHaveLength(7);
        results.forEach((hits, q) =>
          expectExact(hits, reference(gallery, d, queries.subarray(q * d, (q + 1) * d), metric), k),
        );
      }
      index.close();
    });
  }

  it('ranks duplicate rows by lower index with bit-identical distances', () => {
    const index = FeatureIndex.open(file, { blockRows: 97 });
    for (const metric of ['euclidean', 'cosine'] as const) {
      const hits = index.search(queries.subarray(2 * d, 3 * d), 3, metric)[0]!;
      expect(hits.map((h) => h.index)).toEqual([5, 17, 600]);
      expect(hits[1]!.distance).toBe(hits[0]!.distance);
      expect(hits[2]!.distance).toBe(hits[0]!.distance);
      expect(hits[0]!.distance).toBeLessThan(1e-5);
    }
    index.close();
    // A tie straddling the k-th place keeps the lower index even when a closer row comes later.
    const rows = [1, 0, 0, 0, 3, 0, 1, 0, 0, 1, 0.2, 0, 1, 0, 0];
    const tied = FeatureIndex.open(writeGallery(new Float32Array(rows), 3), { blockRows: 2 });
    const q = new Float32Array([1, 0.2, 0]);
    expect(tied.search(q, 2, 'cosine')[0]!.map((h) => h.index)).toEqual([3, 0]);
    expect(tied.search(q, 3, 'cosine')[0]!.map((h) => h.index)).toEqual([3, 0, 2]);
    expect(tied.search(q, 2, 'euclidean')[0]!.map((h) => h.index)).toEqual([3, 0]);
    expect(tied.search(q, 3, 'euclidean')[0]!.map((h) => h.index)).toEqual([3, 0, 2]);
    tied.close();
  });

  it('gives zero vectors cosine distance 1 to everything', () => {
    const index = FeatureIndex.open(file, { blockRows: 97 });
    const fromZero = index.search(queries.subarray(6 * d), 5, 'cosine')[0]!;
    expect(fromZero).toEqual([0, 1, 2, 3, 4].map((i) => ({ index: i, distance: 1 })));
    const all = index.search(queries.subarray(0, d), n, 'cosine')[0]!;
    expect(all.find((h) => h.index === 42)?.distance).toBe(1);
    // Euclidean from the zero query is just the norm.
    const norm = index.search(queries.subarray(6 * d), n, 'euclidean')[0]!;
    expect(norm[0]).toEqual({ index: 42, distance: 0 });
    index.close();
  });

  it('returns all N rows when k > N, with the default block size', () => {
    const small = randomMatrix(3, 5, 'small');
    const index = FeatureIndex.open(writeGallery(small, 5));
    const hits = index.search(small.subarray(5, 10), 10, 'euclidean')[0]!;
    expectExact(hits, reference(small, 5, small.subarray(5, 10), 'euclidean'), 10);
    expect(hits[0]).toMatchObject({ index: 1 });
    expect(index.search(new Float32Array(0), 2, 'cosine')).toEqual([]);
    index.close();
  });

  it('rejects bad k, query shapes, metrics, files and use after close', () => {
    const index = FeatureIndex.open(file);
    const q = queries.subarray(0, d);
    expect(() => index.search(q, 0, 'euclidean')).toThrow(/k must be an integer ≥ 1, got 0/);
    expect(() => index.search(q, 2.5, 'euclidean')).toThrow(/k must be an integer/);
    expect(() => index.search(new Float32Array(d + 1), 1, 'cosine')).toThrow(
      /\[q, 75\] matrix: 76 values/,
    );
    expect(() => index.search(q, 1, 'manhattan' as Metric)).toThrow(/metric must be/);
    index.close();
    index.close();
    expect(() => index.search(q, 1, 'cosine')).toThrow(/closed/);
    expect(() => FeatureIndex.open(file, { blockRows: 0 })).toThrow(/blockRows/);
    const flat = path.join(tmp.dir, 'flat.npy');
    writeFileSync(flat, Buffer.concat([npyHeader([4]), Buffer.alloc(16)]));
    expect(() => FeatureIndex.open(flat)).toThrow(/expected a \[N, D\] matrix/);
    const short = path.join(tmp.dir, 'short.npy');
    writeFileSync(short, Buffer.concat([npyHeader([4, 4]), Buffer.alloc(60)]));
    expect(() => FeatureIndex.open(short)).toThrow(/truncated/);
  });
});

describe('float16', () => {
  it('decodes known half bit patterns', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x8001, -(2 ** -24)],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) {
      expect(halfToFloat(bits)).toBe(value);
      expect(floatToHalf(value)).toBe(bits);
    }
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0xfc01)).toBeNaN();
    expect(floatToHalf(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalf(NaN) & 0x3ff).not.toBe(0);
  });

  it('rounds to nearest even, overflowing to infinity and underflowing through subnormals', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // the tie with 65536 rounds to even = infinity
    expect(floatToHalf(-1e6)).toBe(0xfc00);
    expect(floatToHalf(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(floatToHalf(2 ** -25 * 1.01)).toBe(0x0001);
    expect(floatToHalf(1.5 * 2 ** -24)).toBe(0x0002); // subnormal tie → even
    expect(floatToHalf(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(floatToHalf(1e-10)).toBe(0x0000);
    expect(floatToHalf(-1e-10)).toBe(0x8000);
  });

  it('round-trips every non-NaN half exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      const back = floatToHalf(v);
      if (Number.isNaN(v) ? !Number.isNaN(halfToFloat(back)) : back !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('searches a float16 copy exactly over its decoded values, with high recall against float32', () => {
    const [n, d] = [2000, 130];
    const gallery = randomMatrix(n, d, 'half-gallery');
    const queries = randomMatrix(20, d, 'half-queries');
    const src = writeGallery(gallery, d);
    const dst = path.join(tmp.dir, 'half.npy');
    writeFloat16Copy(src, dst);
    expect(existsSync(`${dst}.partial`)).toBe(false);
    const full = FeatureIndex.open(src, { blockRows: 300 });
    const half = FeatureIndex.open(dst, { blockRows: 300 });
    expect([half.count, half.dims, half.dtype]).toEqual([n, d, '<f2']);
    const decoded = gallery.map((v) => halfToFloat(floatToHalf(v)));
    for (const metric of ['euclidean', 'cosine'] as const) {
      const exact = full.search(queries, 10, metric);
      const approx = half.search(queries, 10, metric);
      approx.forEach((hits, q) =>
        expectExact(hits, reference(decoded, d, queries.subarray(q * d, (q + 1) * d), metric), 10),
      );
      const ids = (r: Neighbour[][]) => r.map((hits) => hits.map((h) => h.index));
      expect(recallAtK(ids(exact), ids(approx), 10)).toBeGreaterThanOrEqual(0.9);
    }
    full.close();
    half.close();
  });

  it('refuses a non-float32 source without leaving a partial file', () => {
    const src = path.join(tmp.dir, 'half.npy');
    const dst = path.join(tmp.dir, 'again.npy');
    expect(() => writeFloat16Copy(src, dst)).toThrow(/expected a float32/);
    expect(existsSync(dst) || existsSync(`${dst}.partial`)).toBe(false);
  });
});

describe('recallAtK', () => {
  it('is the mean share of the exact top-k found in the approximate top-k', () => {
    expect(recallAtK([[1, 2, 3]], [[3, 9, 1]], 3)).toBeCloseTo(2 / 3);
    expect(recallAtK([[1, 2, 3, 4], [5]], [[2, 1, 7, 8], [6]], 2)).toBe(0.5);
    expect(() => recallAtK([[1]], [], 1)).toThrow(/queries/);
    expect(() => recallAtK([[1]], [[1]], 0)).toThrow(/k must be/);
  });
});
