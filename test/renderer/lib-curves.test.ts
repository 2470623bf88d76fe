import { describe, expect, it } from 'vitest';
import { buildCurve, toXY } from '../../renderer/src/lib/curves';
import { lttb, type XY } from '../../renderer/src/lib/lttb';
import { debiasedEma } from '../../renderer/src/lib/smoothing';
import { series } from './run-detail-fixtures';

describe('debiasedEma', () => {
  it('starts at the first raw value', () => {
    expect(debiasedEma([4.2, 1, 9], 0.9)[0]).toBeCloseTo(4.2, 12);
  });

  it('keeps a constant series constant', () => {
    for (const v of debiasedEma(Array(50).fill(3), 0.95)) expect(v).toBeCloseTo(3, 12);
  });

  it('matches a hand computation', () => {
    // w = 0.5: s = 0.5, 1.75, 3.375; debiased by 1 − 0.5^t: 1, 2.333…, 3.857…
    const s = debiasedEma([1, 3, 5], 0.5);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(1.75 / 0.75, 12);
    expect(s[2]).toBeCloseTo(3.375 / 0.875, 12);
  });

  it('returns the raw values with weight 0 and steps over gaps', () => {
    expect(debiasedEma([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = debiasedEma([2, NaN, 2], 0.9);
    expect(s[1]).toBeNaN();
    expect(s[2]).toBeCloseTo(2, 12);
  });
});

describe('lttb', () => {
  const line = (n: number): XY[] =>
    Array.from({ length: n }, (_, i) => ({ x: i, y: Math.sin(i / 50) }));

  it('keeps the first and last points and returns the threshold count', () => {
    const pts = line(10_000);
    const out = lttb(pts, 500);
    expect(out).toHaveLength(500);
    expect(out[0]).toBe(pts[0]);
    expect(out[out.length - 1]).toBe(pts[pts.length - 1]);
    for (let i = 1; i < out.length; i++) expect(out[i]!.x).toBeGreaterThan(out[i - 1]!.x);
  });

  it('keeps a one-point spike', () => {
    const pts = line(10_000);
    pts[4321] = { x: 4321, y: 50 };
    expect(lttb(pts, 200).some((p) => p.y === 50)).toBe(true);
  });

  it('leaves a short series as it is', () => {
    const pts = line(20);
    expect(lttb(pts, 100)).toBe(pts);
  });
});

describe('curves', () => {
  it('plots against epoch, step or minutes of wall time', () => {
    const pts = series('train_loss', 3).points;
    expect(toXY(pts, 'step', 0).map((p) => p.x)).toEqual([1, 2, 3]);
    expect(toXY(pts, 'epoch', 0).map((p) => p.x)).toEqual([1 / 40, 2 / 40, 3 / 40]);
    expect(toXY(pts, 'time', 1_700_000_000)[2]!.x).toBeCloseTo(2 / 60, 12);
  });

  it('smooths only when asked and reduces both curves to the width', () => {
    const pts = series('train_loss', 5000).points;
    const plain = buildCurve(pts, {
      axis: 'step',
      t0: 0,
      smoothing: 0.9,
      smooth: false,
      maxPoints: 300,
    });
    expect(plain.smoothed).toBeNull();
    expect(plain.raw).toHaveLength(300);
    const smooth = buildCurve(pts, {
      axis: 'step',
      t0: 0,
      smoothing: 0.9,
      smooth: true,
      maxPoints: 300,
    });
    expect(smooth.smoothed).toHaveLength(300);
    expect(smooth.smoothed![0]!.y).toBeCloseTo(pts[0]!.value, 12);
  });
});
