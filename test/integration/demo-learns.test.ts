import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { svwJson, tempDir } from '../helpers/cli.js';

/**
 * The paper's recipe learns: `svw demo` trains alexnet-cifar on the bundled sample (1,000 train
 * and 200 val images) with SGD, momentum 0.9, weight decay 0.0005, learning rate 0.01 and the
 * paper's augmentation, as a new user's first run does. Four epochs (about a minute of one
 * core) must take the validation error clearly below chance (90% on 10 classes) and the
 * training loss below chance level (ln 10 ≈ 2.30).
 */
const home = tempDir('svw-demo-learns-');
const env = { SVW_HOME: home.dir };
afterAll(() => home.cleanup());

const EPOCHS = 4;
// About a minute of one core; the rest of the suite shares the machine meanwhile.
const BUDGET_MS = 15 * 60_000;

describe('the demo, trained with the paper’s SGD recipe', () => {
  it(
    'learns well below chance in a few epochs',
    () => {
      const result = svwJson<{ runId: number; status: string }>(
        ['demo', '--epochs', String(EPOCHS), '--backend', 'wasm', '--json'],
        env,
      );
      expect(result.status).toBe('completed');
      const db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
      try {
        const params = Object.fromEntries(
          (
            db.prepare('SELECT key, value FROM params WHERE run_id = ?').all(result.runId) as {
              key: string;
              value: string;
            }[]
          ).map((p) => [p.key, p.value]),
        );
        expect(params).toMatchObject({
          'optim.type': 'sgd',
          'optim.lr': '0.01',
          'optim.momentum': '0.9',
          'optim.weightDecay': '0.0005',
          'schedule.type': 'plateau',
          'data.randomCrop': 'true',
          'data.flip': 'true',
          'data.pcaSigma': '0.1',
          'data.mean': 'image',
          batchSize: '64',
        });
        const series = (key: string) =>
          (
            db
              .prepare('SELECT value FROM metrics WHERE run_id = ? AND key = ? ORDER BY epoch')
              .all(result.runId, key) as { value: number }[]
          ).map((m) => m.value);
        const valError = series('val_top1_error');
        const trainLoss = series('epoch_train_loss');
        expect(valError).toHaveLength(EPOCHS);
        expect(Math.min(...valError)).toBeLessThanOrEqual(0.8);
        expect(trainLoss.at(-1)!).toBeLessThan(Math.log(10));
        expect(trainLoss.at(-1)!).toBeLessThan(trainLoss[0]! - 0.5);
      } finally {
        db.close();
      }
    },
    BUDGET_MS,
  );
});
