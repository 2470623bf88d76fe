import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize } from '../core/api/runs-api.js';
import { listRuns } from '../core/store/run-list.js';
import { openWorkbench } from '../core/store/workbench.js';
import type { BenchResult } from './result.js';
import { seedRuns } from './seed-runs.js';

const RUNS = 10_000;

/**
 * How long the run list takes with 10,000 runs: all of them, all of them as the UI gets them
 * (with tags and retrieval precision), and a filtered, sorted page.
 */
export function benchRunList(): BenchResult[] {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-'));
  const wb = openWorkbench(home);
  try {
    const db = wb.db;
    seedRuns(db, RUNS);
    // What the UI's list shows beside each run: a tag and a retrieval precision.
    db.exec(`INSERT INTO tags SELECT id, 'batch', 'b' || (id % 7) FROM runs`);
    db.exec(`INSERT INTO latest_metrics SELECT id, 'retrieval_p_at_5', 0.5, 1, 1, 0.4, (id % 10) / 10.0
      FROM runs`);
    const time = (name: string, fn: () => unknown): BenchResult => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        fn();
        times.push(performance.now() - t0);
      }
      const ms = times.sort((a, b) => a - b)[2]!;
      return {
        name,
        backend: 'sqlite',
        batch: RUNS,
        imagesPerSec: 0,
        msPerBatch: Math.round(ms * 10) / 10,
      };
    };
    return [
      time('run list: all 10,000 runs with latest metrics', () => listRuns(db, {})),
      time('run list API: 10,000 runs with tags and retrieval P@k', () =>
        summarize(db, listRuns(db, {})),
      ),
      time('run list: filter + sort by metric, first 50', () =>
        listRuns(db, {
          filter: 'params.optim.lr > 0.001 and metrics.val_top1_error < 0.5',
          sort: 'metrics.val_top1_error',
          limit: 50,
        }),
      ),
    ];
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
  }
}
