import { describe, expect, it } from 'vitest';
import {
  buildConfusion,
  rowNormalise,
  rowShare,
  topConfusions,
} from '../../renderer/src/lib/confusion';
import {
  FULL_VIEW,
  cellAt,
  clampView,
  focusCell,
  intensity,
  maxZoom,
  paintCells,
  panBy,
  rampColor,
  zoomAt,
} from '../../renderer/src/lib/heatmap';

// 3 classes: 0 → 0 ×8, 0 → 1 ×2; 1 → 1 ×5, 1 → 2 ×5; 2 → 2 ×4 (a duplicate triple adds up).
const triples = [0, 0, 8, 0, 1, 2, 1, 1, 5, 1, 2, 5, 2, 2, 3, 2, 2, 1];

describe('confusion aggregation', () => {
  it('normalises each row by its images', () => {
    const m = buildConfusion(triples, 3);
    expect([...m.rowTotals]).toEqual([10, 10, 4]);
    expect(rowShare(m, 0, 1)).toBeCloseTo(0.2, 12);
    const norm = rowNormalise(m);
    expect([...norm.slice(0, 3)]).toEqual([0.8, 0.2, 0]);
    expect(norm[2 * 3 + 2]).toBe(1);
  });

  it('lists the top confusions by count without the diagonal', () => {
    const top = topConfusions(buildConfusion(triples, 3), 10);
    expect(top.map((c) => [c.trueIdx, c.predIdx, c.count])).toEqual([
      [1, 2, 5],
      [0, 1, 2],
    ]);
    expect(top[0]!.share).toBeCloseTo(0.5, 12);
  });

  it('drops triples naming classes that do not exist', () => {
    const m = buildConfusion([0, 5, 3, 0, 0, 1], 2);
    expect([...m.rowTotals]).toEqual([1, 0]);
  });

  it('works for 1,000 classes from sparse triples', () => {
    const n = 1000;
    const sparse: number[] = [];
    for (let t = 0; t < n; t++) sparse.push(t, t, 40, t, (t + 1) % n, 10);
    sparse.push(17, 400, 30);
    const m = buildConfusion(sparse, n);
    expect(m.counts).toHaveLength(n * n);
    expect(rowShare(m, 17, 400)).toBeCloseTo(30 / 80, 12);
    const top = topConfusions(m, 5);
    expect(top[0]).toMatchObject({ trueIdx: 17, predIdx: 400, count: 30 });
    expect(top.every((c) => c.trueIdx !== c.predIdx)).toBe(true);
    const rgba = new Uint8ClampedArray(n * n * 4);
    paintCells(m, 'log', rgba);
    // An empty cell is white, the diagonal dark.
    expect([...rgba.slice(4 * 5, 4 * 5 + 3)]).toEqual([255, 255, 255]);
    expect(rgba[0]!).toBeLessThan(100);
  });
});

describe('heatmap colours', () => {
  it('maps zero to white and the full share to the darkest colour on both scales', () => {
    expect(intensity(0, 'linear')).toBe(0);
    expect(intensity(0, 'log')).toBe(0);
    expect(intensity(1, 'log')).toBe(1);
    expect(rampColor(0)).toEqual([255, 255, 255]);
    expect(rampColor(1)).toEqual([8, 48, 107]);
  });

  it('lifts small shares on the log scale but keeps them visible on both', () => {
    expect(intensity(0.01, 'log')).toBeCloseTo(0.5, 12);
    expect(intensity(0.01, 'linear')).toBeGreaterThan(0);
    expect(intensity(0.01, 'log')).toBeGreaterThan(intensity(0.01, 'linear'));
  });
});

describe('heatmap viewport', () => {
  const n = 1000;
  const size = 500;

  it('maps pixels to cells at full view and when zoomed', () => {
    expect(cellAt(FULL_VIEW, 0, 0, n, size)).toEqual({ row: 0, col: 0 });
    expect(cellAt(FULL_VIEW, 499.9, 1, n, size)).toEqual({ row: 2, col: 999 });
    expect(cellAt(FULL_VIEW, 500, 1, n, size)).toBeNull();
    expect(cellAt({ zoom: 10, x: 100, y: 200 }, 5, 5, n, size)).toEqual({ row: 201, col: 101 });
  });

  it('zooms about the pointer, keeping the cell under it', () => {
    const before = cellAt(FULL_VIEW, 300, 120, n, size);
    const v = zoomAt(FULL_VIEW, 4, 300, 120, n, size);
    expect(v.zoom).toBe(4);
    expect(cellAt(v, 300, 120, n, size)).toEqual(before);
  });

  it('clamps zoom and pan to the matrix', () => {
    expect(zoomAt(FULL_VIEW, 0.5, 10, 10, n, size)).toEqual(FULL_VIEW);
    expect(zoomAt(FULL_VIEW, 1e6, 10, 10, n, size).zoom).toBe(maxZoom(n));
    expect(panBy(FULL_VIEW, 100, 100, n, size)).toEqual(FULL_VIEW);
    const v = panBy({ zoom: 2, x: 0, y: 0 }, -10_000, -10_000, n, size);
    expect(v).toEqual({ zoom: 2, x: 500, y: 500 });
    expect(clampView({ zoom: 2, x: -3, y: 900 }, n)).toEqual({ zoom: 2, x: 0, y: 500 });
  });

  it('focuses a cell by centring it', () => {
    const v = focusCell(FULL_VIEW, 500, 200, n);
    const mid = cellAt(v, size / 2, size / 2, n, size);
    expect(mid).toEqual({ row: 500, col: 200 });
  });
});
