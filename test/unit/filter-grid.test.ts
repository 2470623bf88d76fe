import { describe, expect, it } from 'vitest';
import { filterGrid } from '../../core/model/kernels.js';

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
