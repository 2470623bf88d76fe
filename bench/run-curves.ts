import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transaction, type Db } from '../core/store/db.js';
import { metricSeries } from '../core/store/metric-series.js';
import { openWorkbench } from '../core/store/workbench.js';
import type { BenchResult } from './result.js';
import { seedRuns } from './seed-runs.js';

/** Steps of a 90-epoch ImageNet run at batch 128 (about 10,000 an epoch). */
const STEPS = 900_000;
const KEYS = ['train_loss', 'train_top1_error', 'lr'];

/** Fills a run with per-step train_loss, train_top1_error and lr: 2.7M metric points. */
function seedLongRun(db: Db, runId: number): void {
  transaction(db, () => {
    const add = db.prepare(
      'INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let step = 0; step < STEPS; step++) {
      const epoch = step / 10_000;
      add.run(runId, KEYS[0], step, epoch, 6.9 / (1 + epoch) + Math.random() * 0.3, step);
      add.run(runId, KEYS[1], step, epoch, 1 / (1 + epoch / 10), step);
      add.run(runId, KEYS[2], step, epoch, 0.01 / 10 ** Math.floor(epoch / 30), step);
    }
    const latest = db.prepare(
      `INSERT OR REPLACE INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value)
       VALUES (?, ?, 0, ?, 90, 0, 1)`,
    );
    for (const key of KEYS) latest.run(runId, key, STEPS - 1);
  });
}

/**
 * A run's curves for the charts when it has 2.7M metric points (a 90-epoch ImageNet run): all
 * three series at the 5,000 points Run detail asks for, and one at the 1,000 points Compare
 * asks for each of up to 50 runs. Median of 5.
 */
export function benchRunCurves(): BenchResult[] {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-curves-'));
  const wb = openWorkbench(home);
  try {
    const [runId] = seedRuns(wb.db, 1);
    seedLongRun(wb.db, runId!);
    const time = (name: string, fn: () => unknown): BenchResult => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        fn();
        times.push(performance.now() - t0);
      }
      const ms = times.sort((a, b) => a - b)[2]!;
      return { name, backend: 'sqlite', batch: STEPS, imagesPerSec: 0, msPerBatch: Math.round(ms) };
    };
    return [
      time('run curves: 3 series of 900,000 points, 5,000 points each', () =>
        metricSeries(wb.db, runId!, undefined, 5000),
      ),
      time('run curves: 1 series of 900,000 points, 1,000 points', () =>
        metricSeries(wb.db, runId!, [KEYS[0]!], 1000),
      ),
    ];
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
  }
}
