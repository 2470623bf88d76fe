import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transaction } from '../core/store/db.js';
import { listRuns } from '../core/store/run-list.js';
import { ensureExperiment } from '../core/store/runs.js';
import { openWorkbench } from '../core/store/workbench.js';
import type { BenchResult } from './result.js';

const RUNS = 10_000;

/** How long the run list takes with 10,000 runs: all of them, and a filtered, sorted page. */
export function benchRunList(): BenchResult[] {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-'));
  const wb = openWorkbench(home);
  try {
    const db = wb.db;
    transaction(db, () => {
      const experiments = [0, 1, 2, 3].map((i) => ensureExperiment(db, `exp-${i}`));
      const run = db.prepare(
        `INSERT INTO runs (experiment_id, name, preset, status, created_at, seed, config_hash, config, epochs_total, epochs_done)
         VALUES (?, ?, 'alexnet-cifar', 'completed', ?, 0, 'h', '{}', 30, 30)`,
      );
      const param = db.prepare('INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)');
      const metric = db.prepare(
        'INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value) VALUES (?, ?, ?, 1, 1, ?, ?)',
      );
      for (let i = 0; i < RUNS; i++) {
        const id = Number(
          run.run(experiments[i % 4], `run-${i}`, new Date(1e12 + i * 1000).toISOString())
            .lastInsertRowid,
        );
        const lr = 10 ** -(1 + (i % 4));
        for (const [key, value] of [
          ['optim.lr', lr],
          ['batchSize', 32 << (i % 3)],
          ['epochs', 30],
          ['optim.momentum', 0.9],
        ] as const) {
          param.run(id, key, String(value), value);
        }
        for (const key of ['val_top1_error', 'val_top5_error', 'val_loss', 'epoch_train_loss']) {
          const v = ((i * 7919) % 1000) / 1000;
          metric.run(id, key, v, v, v);
        }
      }
    });
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
