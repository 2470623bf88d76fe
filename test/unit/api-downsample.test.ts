import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../core/api/downsample.js';
import { filterGrid } from '../../core/model/kernels.js';

describe('downsampleMinMax', () => {
  it('returns a short series whole and keeps every bucket’s lowest and highest point', () => {
    const id = (v: number) => v;
    expect(downsampleMinMax([3, 1, 2], 10, id)).toEqual([3, 1, 2]);
    const series = Array.from({ length: 1000 }, (_, i) => i % 10);
    series[123] = 99;
    series[777] = -99;
    const out = downsampleMinMax(series, 20, id);
    expect(out).toHaveLength(20);
    expect(out).toContain(99);
    expect(out).toContain(-99);
    // Each of the 10 buckets of 100 points gives its min and max.
    expect(out.filter((v) => v === 0).length + out.filter((v) => v < 0).length).toBe(10);
  });

  it('never returns more than maxPoints, for odd sizes too', () => {
    for (const [n, max] of [
      [101, 10],
      [12345, 999],
      [11, 10],
    ] as const) {
      const out = downsampleMinMax(
        Array.from({ length: n }, (_, i) => Math.sin(i)),
        max,
        (v) => v,
      );
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.length).toBeGreaterThan(max / 2);
    }
  });
});

describe('filterGrid', () => {
  it('normalises each filter on its own and tiles them with 1 px gaps, scaled to ≥ 33 px', () => {
    // [kh, kw, 3, out] = [11, 11, 3, 5]: filter f holds the value f·1000 + position.
    const out = 5;
    const kernel = new Float32Array(11 * 11 * 3 * out).map(
      (_, i) => (i % out) * 1000 + Math.floor(i / out),
    );
    const grid = filterGrid(kernel, [11, 11, 3, out]);
    // ⌈√5⌉ = 3 columns, 2 rows of 33 px cells (scale 3).
    expect(grid).toMatchObject({ width: 3 * 33 + 4, height: 2 * 33 + 3 });
    const px = (x: number, y: number) => [
      ...grid.data.subarray((y * grid.width + x) * 3, (y * grid.width + x) * 3 + 3),
    ];
    for (let f = 0; f < out; f++) {
      const left = 1 + (f % 3) * 34;
      const top = 1 + Math.floor(f / 3) * 34;
      expect(px(left, top)[0]).toBe(0); // every filter's own minimum is black
      expect(px(left + 32, top + 32)[2]).toBe(255); // and its own maximum white
      expect(px(left + 2, top)).toEqual(px(left, top)); // nearest-neighbour ×3
    }
    expect(px(0, 0)).toEqual([255, 255, 255]);
    expect(() => filterGrid(kernel, [11, 11, 1, out * 3])).toThrow(/\[kh, kw, 3, out\]/);
  });
});
