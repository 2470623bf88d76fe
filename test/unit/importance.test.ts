import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { featureImportance, spearman } from '../../core/analysis/importance.js';

/** Runs whose error depends on the learning rate alone: best near 0.01, worse either side. */
function generatedRuns(count: number, seed = 'runs') {
  const random = seedrandom(seed);
  const lr: number[] = [];
  const momentum: number[] = [];
  const batch: number[] = [];
  const lrn: string[] = [];
  const error: number[] = [];
  for (let i = 0; i < count; i++) {
    const l = 10 ** (-4 + 3 * random());
    lr.push(l);
    momentum.push(0.8 + 0.19 * random());
    batch.push([32, 64, 128][Math.floor(random() * 3)]!);
    lrn.push(['paper', 'caffe', 'off'][Math.floor(random() * 3)]!);
    error.push(0.3 + 0.1 * (Math.log10(l) + 2) ** 2 + 0.01 * random());
  }
  return { lr, momentum, batch, lrn, error };
}

describe('featureImportance', () => {
  it('ranks the one param the metric depends on first and the noise params after it', () => {
    const runs = generatedRuns(60);
    const rows = featureImportance(
      [
        { name: 'optim.momentum', values: runs.momentum },
        { name: 'batchSize', values: runs.batch },
        { name: 'optim.lr', values: runs.lr },
        { name: 'model.lrn.mode', values: runs.lrn },
      ],
      runs.error,
    );
    expect(rows.map((r) => r.param)[0]).toBe('optim.lr');
    expect(rows[0]!.importance).toBeGreaterThan(0.8);
    for (const noise of rows.slice(1)) expect(noise.importance).toBeLessThan(0.1);
    expect(rows.reduce((s, r) => s + r.importance, 0)).toBeCloseTo(1, 6);
    // Unordered text has no rank correlation; numbers do.
    expect(rows.find((r) => r.param === 'model.lrn.mode')!.spearman).toBeNull();
    expect(Math.abs(rows.find((r) => r.param === 'optim.momentum')!.spearman!)).toBeLessThan(0.35);
  });

  it('gives the sign of a monotone dependence', () => {
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, [10, 20, 30, 40, 50, 60])).toBeCloseTo(1);
    expect(spearman(x, [6, 5, 4, 3, 2, 1])).toBeCloseTo(-1);
    // Ties share their mean rank; missing values drop out.
    expect(spearman([1, 1, 2, 2, NaN], [1, 1, 2, 2, 100])).toBeCloseTo(1);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });
});
