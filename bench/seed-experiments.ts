import seedrandom from 'seedrandom';
import { transaction, type Db } from '../core/store/db.js';
import { cacheChartSeries, COMPARE_POINTS } from '../core/store/metric-series.js';
import { ensureExperiment } from '../core/store/runs.js';

/**
 * Fills a workbench database with finished runs of a hyperparameter search, as they would be
 * after training, for the views and benchmarks of many experiments (parallel coordinates,
 * importance, grouped curves, the compare chart): varied params, a validation error that
 * depends on the learning rate (best near 0.01) and the dropout rate, and, when asked, curves.
 */
export interface SeedOptions {
  /** Params per run: eight meaningful ones, then constant fillers up to this many. */
  params?: number;
  /** Points of the per-step `train_loss` curve of each run (0: none). */
  stepPoints?: number;
  /** Epochs of the per-epoch `val_top1_error` curve (0: none). */
  epochs?: number;
  experiment?: string;
  seed?: string;
}

export function seedExperiments(db: Db, count: number, options: SeedOptions = {}): number[] {
  const { params = 8, stepPoints = 0, epochs = 0, experiment = 'search', seed = 'seed' } = options;
  const random = seedrandom(seed);
  const ids: number[] = [];
  transaction(db, () => {
    const experimentId = ensureExperiment(db, experiment);
    const run = db.prepare(
      `INSERT INTO runs (experiment_id, name, preset, status, created_at, started_at, ended_at, seed,
        config_hash, config, epochs_total, epochs_done)
       VALUES (?, ?, 'alexnet-cifar', 'completed', ?, ?, ?, ?, 'h', '{}', ?, ?)`,
    );
    const param = db.prepare('INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)');
    const latest = db.prepare(
      'INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const point = db.prepare(
      'INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < count; i++) {
      const lr = 10 ** (-4 + 3 * random());
      const dropout = Math.round(random() * 70) / 100;
      const runSeed = Math.floor(random() * 5);
      const values: [string, string | number][] = [
        ['optim.lr', Number(lr.toPrecision(4))],
        ['batchSize', [32, 64, 128][Math.floor(random() * 3)]!],
        ['model.dropout', dropout],
        ['optim.momentum', Number((0.8 + 0.19 * random()).toFixed(3))],
        ['optim.weightDecay', Number((10 ** (-5 + 2 * random())).toPrecision(3))],
        ['seed', runSeed],
        ['model.lrn.mode', ['paper', 'caffe', 'off'][Math.floor(random() * 3)]!],
        ['data.flip', random() < 0.5 ? 'true' : 'false'],
      ];
      for (let k = values.length; k < params; k++) values.push([`extra.setting${k + 1}`, k]);
      const top1 = Math.min(
        0.95,
        0.3 + 0.08 * (Math.log10(lr) + 2) ** 2 + 0.1 * Math.abs(dropout - 0.5) + 0.03 * random(),
      );
      const time = 1.7e9 + i * 600;
      const id = Number(
        run.run(
          experimentId,
          `trial-${i + 1}`,
          new Date(time * 1000).toISOString(),
          new Date(time * 1000).toISOString(),
          new Date((time + 550) * 1000).toISOString(),
          runSeed,
          Math.max(epochs, 1),
          Math.max(epochs, 1),
        ).lastInsertRowid,
      );
      ids.push(id);
      for (const [key, value] of values)
        param.run(id, key, String(value), typeof value === 'number' ? value : null);
      const finals: [string, number][] = [
        ['val_top1_error', top1],
        ['val_top5_error', top1 * 0.45],
        ['epoch_train_loss', top1 * 3],
      ];
      for (const [key, value] of finals)
        latest.run(id, key, value, stepPoints, epochs, value, value);
      let [last, low, high] = [0, Infinity, -Infinity];
      for (let s = 0; s < stepPoints; s++) {
        const progress = (s + 1) / stepPoints;
        const loss = top1 * 3 + 2.3 * Math.exp(-4 * progress) + 0.15 * (random() - 0.5);
        point.run(
          id,
          'train_loss',
          s + 1,
          progress * Math.max(epochs, 1),
          loss,
          time + progress * 550,
        );
        [last, low, high] = [loss, Math.min(low, loss), Math.max(high, loss)];
      }
      // As the store keeps it for every series a run reports: the curve reader starts here.
      if (stepPoints > 0) latest.run(id, 'train_loss', last, stepPoints, epochs, low, high);
      for (let e = 1; e <= epochs; e++) {
        const value = top1 + (0.9 - top1) * Math.exp((-4 * e) / epochs);
        point.run(
          id,
          'val_top1_error',
          Math.round((e / epochs) * stepPoints),
          e,
          value,
          time + (550 * e) / epochs,
        );
      }
    }
  });
  // As each run's end leaves them: its long series reduced for Compare.
  if (stepPoints > COMPARE_POINTS) for (const id of ids) cacheChartSeries(db, id);
  return ids;
}
