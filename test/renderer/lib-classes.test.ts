import { describe, expect, it } from 'vitest';
import {
  bestIndex,
  keepRuns,
  paramDiffers,
  visibleParams,
} from '../../renderer/src/lib/compare-result';
import { compareDatasets } from '../../renderer/src/lib/compare-curves';
import {
  classDiff,
  classErrors,
  searchClasses,
  sortWorstFirst,
  topChanges,
} from '../../renderer/src/lib/per-class';
import { compareResult, evaluation, series } from './run-detail-fixtures';

describe('per-class errors', () => {
  const e = evaluation(['cat', 'dog', 'Bird', 'ship', 'catamaran'], [0.3, 0.6, null, 0.1, 0.3]);

  it('sorts worst first, classes without images last, ties by name', () => {
    expect(sortWorstFirst(classErrors(e)).map((r) => r.name)).toEqual([
      'dog',
      'cat',
      'catamaran',
      'ship',
      'Bird',
    ]);
  });

  it('searches names ignoring case and spaces', () => {
    const rows = classErrors(e);
    expect(searchClasses(rows, ' CAT ').map((r) => r.name)).toEqual(['cat', 'catamaran']);
    expect(searchClasses(rows, 'bird').map((r) => r.index)).toEqual([2]);
    expect(searchClasses(rows, '')).toHaveLength(5);
  });
});

describe('class diff', () => {
  const a = evaluation(['cat', 'dog', 'ship', 'frog', 'truck'], [0.5, 0.2, 0.3, 0.4, null]);
  // B lists classes in another order; `truck` is measured only by B.
  const b = evaluation(['dog', 'cat', 'frog', 'ship', 'truck'], [0.3, 0.1, 0.4, 0.25, 0.2]);

  it('sorts by change, most improved first, and counts better and worse', () => {
    const d = classDiff(a, b);
    expect(d.rows.map((r) => r.name)).toEqual(['cat', 'ship', 'frog', 'dog']);
    expect(d.rows[0]!.delta).toBeCloseTo(-0.4, 12);
    expect([d.better, d.worse, d.same]).toEqual([2, 1, 1]);
  });

  it('splits the largest improvements and regressions', () => {
    const { improvements, regressions } = topChanges(classDiff(a, b), 1);
    expect(improvements.map((r) => r.name)).toEqual(['cat']);
    expect(regressions.map((r) => r.name)).toEqual(['dog']);
  });
});

describe('compared params and metrics', () => {
  it('shows only differing params when asked', () => {
    const r = compareResult([1, 2, 3]);
    expect(visibleParams(r.params, false).map((p) => p.key)).toEqual(['batchSize', 'optim.lr']);
    expect(visibleParams(r.params, true).map((p) => p.key)).toEqual(['optim.lr']);
    expect(paramDiffers(['1', null])).toBe(true);
    expect(paramDiffers(['1', '1'])).toBe(false);
  });

  it('drops a run locally and recomputes what differs', () => {
    const r = compareResult([1, 2]);
    r.params.push({ key: 'seed', values: ['1', '2'], differs: true });
    r.params[1] = { key: 'optim.lr', values: ['0.01', '0.02'], differs: true };
    const kept = keepRuns(r, [2]);
    expect(kept.runs.map((x) => x.id)).toEqual([2]);
    expect(kept.params.every((p) => !p.differs)).toBe(true);
    expect(kept.metrics[0]!.values).toEqual([0.48]);
  });

  it('finds the best cell: lowest error, highest precision', () => {
    expect(bestIndex('val_top1_error', [0.4, null, 0.3, 0.35])).toBe(2);
    expect(bestIndex('retrieval_precision_at_5', [0.4, 0.6, null])).toBe(1);
    expect(bestIndex('val_loss', [null, null])).toBe(-1);
  });
});

describe('compare chart data', () => {
  it('reduces 50 runs of 10,000 points to at most the chart width each', () => {
    const runs = Array.from({ length: 50 }, (_, i) => ({
      id: i + 1,
      label: `run-${i + 1}`,
      points: series('train_loss', 10_000, (k) => 2 / (1 + k / 100) + ((k * (i + 1)) % 7) / 100)
        .points,
    }));
    const width = 640;
    const datasets = compareDatasets(runs, {
      metric: 'train_loss',
      axis: 'step',
      smoothing: 0.8,
      width,
    });
    // Smoothed only: with 50 runs the faint raw curves are left out.
    expect(datasets).toHaveLength(50);
    for (const d of datasets) {
      expect(d.data.length).toBeLessThanOrEqual(width);
      expect(d.data[0]!.x).toBe(1);
      expect(d.data[d.data.length - 1]!.x).toBe(10_000);
    }
    expect(new Set(datasets.map((d) => d.borderColor)).size).toBe(50);
  });

  it('draws raw and smoothed curves for a few runs, and never smooths epoch metrics', () => {
    const runs = [1, 2].map((id) => ({ id, label: `run-${id}`, points: series('x', 100).points }));
    expect(
      compareDatasets(runs, { metric: 'train_loss', axis: 'step', smoothing: 0.5, width: 50 }),
    ).toHaveLength(4);
    const epochLevel = compareDatasets(runs, {
      metric: 'val_top1_error',
      axis: 'epoch',
      smoothing: 0.5,
      width: 500,
    });
    expect(epochLevel).toHaveLength(2);
    expect(epochLevel[0]!.data.map((p) => p.y)).toEqual(runs[0]!.points.map((p) => p.value));
  });

  it('draws nothing for a run without the metric, and the others keep their colours', () => {
    const runs = [1, 2, 3].map((id) => ({
      id,
      label: `run-${id}`,
      points: id === 2 ? [] : series('x', 20).points,
    }));
    const all = compareDatasets(runs, { metric: 'lr', axis: 'step', smoothing: 0, width: 50 });
    expect(all.map((d) => d.label)).toEqual(['run-1', 'run-3']);
    const alone = compareDatasets([runs[2]!], {
      metric: 'lr',
      axis: 'step',
      smoothing: 0,
      width: 50,
    });
    expect(all[1]!.borderColor).not.toBe(alone[0]!.borderColor);
  });
});
