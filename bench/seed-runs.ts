import { transaction, type Db } from '../core/store/db.js';
import { ensureExperiment } from '../core/store/runs.js';

/**
 * Fills a workbench database with `count` completed runs in four experiments, each with four
 * params and four latest metrics, as a long-lived workbench would hold (for benchmarks and
 * the UI's 10,000-run test). Returns the ids in insertion order.
 */
export function seedRuns(db: Db, count: number): number[] {
  const ids: number[] = [];
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
    for (let i = 0; i < count; i++) {
      const id = Number(
        run.run(experiments[i % 4], `run-${i}`, new Date(1e12 + i * 1000).toISOString())
          .lastInsertRowid,
      );
      ids.push(id);
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
  return ids;
}
