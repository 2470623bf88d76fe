import type { Statement } from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { transaction } from '../../core/store/db.js';
import { COMPARE_POINTS, metricSeries } from '../../core/store/metric-series.js';
import { discardAfterEpoch, finishRun, insertMetrics, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-series-');
const wb = openWorkbench(home.dir);
afterAll(() => {
  wb.close();
  home.cleanup();
});

const datasetId = seedDataset(wb, 'tiny');
const { config } = prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' });
const runId = insertRun(wb.db, { experiment: 'x', datasetId, config });

// A long per-step series with one spike and one dip, and a short per-epoch one.
const N = 100_000;
const loss = (i: number) => (i === 12_345 ? 99 : i === 77_777 ? -99 : Math.abs(Math.sin(i)));
transaction(wb.db, () => {
  insertMetrics(
    wb.db,
    runId,
    Array.from({ length: N }, (_, i) => ({
      key: 'train_loss',
      step: i,
      epoch: i / 1000,
      value: loss(i),
      wallTime: 1e9 + i,
    })),
  );
  // A stepped learning rate logged twice a step: ties in every range, and within a step.
  insertMetrics(
    wb.db,
    runId,
    Array.from({ length: 20_000 }, (_, i) => ({
      key: 'lr',
      step: Math.floor(i / 2),
      epoch: i / 2000,
      value: i % 7 === 0 ? 0.1 : 0.01 / 10 ** Math.floor(i / 6000),
      wallTime: 1e9 + i,
    })),
  );
  insertMetrics(
    wb.db,
    runId,
    Array.from({ length: 100 }, (_, e) => ({
      key: 'val_top1_error',
      step: (e + 1) * 1000 - 1,
      epoch: e + 1,
      value: 1 / (e + 2),
      wallTime: 1e9 + e,
    })),
  );
});

/** Counts the rows SQLite hands back to JavaScript while `fn` runs. */
function rowsRead<T>(fn: () => T): { result: T; rows: number } {
  let rows = 0;
  const prepare = wb.db.prepare.bind(wb.db);
  const spy = vi.spyOn(wb.db, 'prepare').mockImplementation((sql: string) => {
    const statement = prepare(sql) as Statement<unknown[], unknown>;
    const all = statement.all.bind(statement);
    const get = statement.get.bind(statement);
    statement.all = (...args: unknown[]) => {
      const found = all(...args);
      rows += found.length;
      return found;
    };
    statement.get = (...args: unknown[]) => {
      const found = get(...args);
      if (found !== undefined) rows++;
      return found;
    };
    return statement;
  });
  try {
    return { result: fn(), rows };
  } finally {
    spy.mockRestore();
  }
}

describe('metric series downsampled in SQL', () => {
  it('returns a short series whole, and only the keys asked for', () => {
    const [val] = metricSeries(wb.db, runId, ['val_top1_error'], 2000);
    expect(val!.key).toBe('val_top1_error');
    expect(val!.total).toBe(100);
    expect(val!.points.map((p) => p.epoch)).toEqual(Array.from({ length: 100 }, (_, e) => e + 1));
    expect(val!.points[0]).toEqual({ step: 999, epoch: 1, value: 0.5, time: 1e9 });
    expect(metricSeries(wb.db, runId, undefined, 2000).map((s) => s.key)).toEqual([
      'lr',
      'train_loss',
      'val_top1_error',
    ]);
  });

  it('keeps a long series’ first and last points, its spikes and dips, and each range’s extremes', () => {
    const max = 200;
    const { result, rows } = rowsRead(() => metricSeries(wb.db, runId, ['train_loss'], max));
    const [series] = result;
    expect(series!.total).toBe(N);
    const points = series!.points;
    expect(points.length).toBeLessThanOrEqual(max);
    expect(points.length).toBeGreaterThan(max / 2);
    expect(points[0]).toEqual({ step: 0, epoch: 0, value: 0, time: 1e9 });
    expect(points.at(-1)!.step).toBe(N - 1);
    const steps = points.map((p) => p.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(points.find((p) => p.value === 99)?.step).toBe(12_345);
    expect(points.find((p) => p.value === -99)?.step).toBe(77_777);
    // Every point is a real one, with its own epoch and time.
    for (const p of points)
      expect(p).toEqual({
        step: p.step,
        epoch: p.step / 1000,
        value: loss(p.step),
        time: 1e9 + p.step,
      });
    // Each of the 99 step ranges keeps its lowest and highest value.
    const width = Math.ceil(N / 99);
    for (let from = 0; from < N; from += width) {
      const values = Array.from({ length: Math.min(width, N - from) }, (_, i) => loss(from + i));
      const kept = points
        .filter((p) => p.step >= from && p.step < from + width)
        .map((p) => p.value);
      expect(kept).toContain(Math.min(...values));
      expect(kept).toContain(Math.max(...values));
    }
    // Only what is kept, and a few aggregates, come out of SQLite: never the 100,000 points.
    expect(rows).toBeLessThan(5 * max);
  });

  it('reduces a series in one grouped query exactly as the range queries do, ties included', () => {
    for (const key of ['train_loss', 'lr'])
      for (const max of [200, 1000]) {
        const ranges = metricSeries(wb.db, runId, [key], max, 0);
        const grouped = metricSeries(wb.db, runId, [key], max, N);
        expect(grouped).toEqual(ranges);
      }
    // Only the kept points come out of SQLite, besides its key, its count and its two ends.
    const { result, rows } = rowsRead(() => metricSeries(wb.db, runId, ['val_top1_error'], 20));
    expect(result[0]!.total).toBe(100);
    expect(result[0]!.points.length).toBeLessThanOrEqual(20);
    expect(rows).toBeLessThanOrEqual(1 + 1 + 2 + 2 * 9);
    const whole = rowsRead(() => metricSeries(wb.db, runId, ['val_top1_error'], 100));
    expect(whole.result[0]!.points).toHaveLength(100);
    expect(whole.rows).toBe(1 + 1 + 100);
  });
});

describe('chart reductions of runs that have ended', () => {
  const ended = insertRun(wb.db, { experiment: 'x', datasetId, config });
  const points = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) => ({
      key: 'train_loss',
      step: from + k,
      epoch: (from + k) / 1000,
      value: loss(from + k),
      wallTime: 1e9 + from + k,
    }));
  transaction(wb.db, () => {
    insertMetrics(wb.db, ended, points(0, 5000));
    insertMetrics(wb.db, ended, [{ key: 'lr', step: 0, epoch: 0, value: 0.01, wallTime: 1e9 }]);
  });
  const kept = () =>
    wb.db
      .prepare(
        'SELECT key, max_points AS max, total FROM series_cache WHERE run_id = ? ORDER BY 1, 2',
      )
      .all(ended);

  it('keeps nothing while the run goes on, then Compare’s reduction of each long series as it ends', () => {
    const before = metricSeries(wb.db, ended, undefined, COMPARE_POINTS);
    expect(kept()).toEqual([]);
    finishRun(wb.db, ended, 'completed');
    expect(kept()).toEqual([{ key: 'train_loss', max: COMPARE_POINTS, total: 5000 }]);
    // Read back from the kept reduction: the same points, and no long series' rows leave SQLite
    // (its two keys, that it has ended, the kept reduction, the short series' count and point).
    const { result, rows } = rowsRead(() => metricSeries(wb.db, ended, undefined, COMPARE_POINTS));
    expect(result).toEqual(before);
    expect(rows).toBe(2 + 1 + 1 + 1 + 1);
  });

  it('keeps other small reductions when first read, never large ones', () => {
    const at300 = metricSeries(wb.db, ended, ['train_loss'], 300);
    expect(metricSeries(wb.db, ended, ['train_loss'], 300, 0)).toEqual(at300);
    metricSeries(wb.db, ended, ['train_loss'], 4000);
    expect(kept()).toEqual([
      { key: 'train_loss', max: 300, total: 5000 },
      { key: 'train_loss', max: COMPARE_POINTS, total: 5000 },
    ]);
  });

  it('drops them when the run writes metrics again, and when it forgets epochs to resume', () => {
    insertMetrics(wb.db, ended, points(5000, 5001));
    expect(kept()).toEqual([]);
    const [grown] = metricSeries(wb.db, ended, ['train_loss'], COMPARE_POINTS);
    expect(grown!.total).toBe(5001);
    expect(grown!.points.at(-1)!.step).toBe(5000);
    finishRun(wb.db, ended, 'interrupted');
    expect(kept()).toHaveLength(1);
    transaction(wb.db, () => discardAfterEpoch(wb.db, ended, 2));
    expect(kept()).toEqual([]);
    expect(metricSeries(wb.db, ended, ['train_loss'], COMPARE_POINTS)[0]!.total).toBe(2001);
  });
});
