import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downsampledSeries } from '../../core/store/metric-series.js';
import { insertMetrics } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { seedExperiments } from '../../bench/seed-experiments.js';
import { tempDir } from '../helpers/cli.js';

const home = tempDir('svw-series-');
let wb: Workbench;
let run: number;

beforeAll(() => {
  wb = openWorkbench(home.dir);
  [run] = seedExperiments(wb.db, 1, { stepPoints: 10_000, epochs: 30 }) as [number];
  // A spike and a dip that a reduced curve must keep.
  wb.db
    .prepare(
      `UPDATE metrics SET value = 50 WHERE run_id = ? AND key = 'train_loss' AND step = 4321`,
    )
    .run(run);
  wb.db
    .prepare(
      `UPDATE metrics SET value = -5 WHERE run_id = ? AND key = 'train_loss' AND step = 8765`,
    )
    .run(run);
  insertMetrics(wb.db, run, [{ key: 'lr', step: 1, epoch: 0, value: 0.01, wallTime: 1 }]);
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

describe('metric series reduced in SQLite', () => {
  it('keeps at most maxPoints, in step order, with every spike and dip', () => {
    const [loss] = downsampledSeries(wb.db, run, ['train_loss'], 1000);
    expect(loss!.total).toBe(10_000);
    expect(loss!.points.length).toBeLessThanOrEqual(1000);
    expect(loss!.points.length).toBeGreaterThan(900);
    const steps = loss!.points.map((p) => p.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(loss!.points).toContainEqual(expect.objectContaining({ step: 4321, value: 50 }));
    expect(loss!.points).toContainEqual(expect.objectContaining({ step: 8765, value: -5 }));
    // Each kept point is a real one, with its own epoch and time.
    const first = loss!.points[0]!;
    expect(first.epoch).toBeCloseTo((first.step / 10_000) * 30, 9);
  });

  it('returns a short series whole, and only the keys asked for', () => {
    const series = downsampledSeries(wb.db, run, ['val_top1_error', 'lr'], 1000);
    expect(series.map((s) => [s.key, s.points.length, s.total])).toEqual([
      ['lr', 1, 1],
      ['val_top1_error', 30, 30],
    ]);
    expect(downsampledSeries(wb.db, run, undefined, 1000).map((s) => s.key)).toEqual([
      'lr',
      'train_loss',
      'val_top1_error',
    ]);
  });
});
