import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetPayload } from '../../core/jobs/payload.js';
import { prepareRun } from '../../core/train/prepare.js';
import { runTraining } from '../../core/train/trainer.js';
import { tinyTrainingHome } from '../helpers/tiny-training.js';

/**
 * A job on several threads trains data-parallel shards of every batch (real worker threads with
 * engines of their own); its losses must be the one-thread job's, step by step. Dropout stays
 * on: its masks are keyed by the image's row in the batch, so the shards drop the same units.
 */
const home = tinyTrainingHome(4);

/** The train_loss of every step of a short run on `threads` threads. */
async function losses(threads: number): Promise<number[]> {
  const wb = home.wb();
  const { config, dataset } = prepareRun(wb.db, {
    dataset: 'tiny',
    preset: 'alexnet-cifar',
    epochs: 1,
    // Small fully connected layers keep this quick; 40 training images at batch 13 leave a last
    // batch of one, fewer images than threads.
    settings: ['batch=13', 'fc=64,64', 'dropout=0.5'],
  });
  const out: number[] = [];
  const status = await runTraining({
    config,
    dataset: datasetPayload(wb.db, wb.paths, dataset.id),
    runDir: path.join(home.dir, 'runs', `threads-${threads}`),
    resumeFrom: null,
    threads,
    emit: (m) => {
      if (m.type === 'metrics')
        for (const p of m.metrics) if (p.key === 'train_loss') out.push(p.value);
    },
    cancelled: () => false,
  });
  expect(status).toBe('completed');
  return out;
}

describe('training on several threads', () => {
  it('gives the same loss at every step as one thread', async () => {
    const one = await losses(1);
    const two = await losses(2);
    expect(one).toHaveLength(4);
    expect(two).toHaveLength(one.length);
    two.forEach((loss, i) => expect(Math.abs(loss - one[i]!)).toBeLessThanOrEqual(1e-4));
    // The steps learned something: not the same loss every time.
    expect(new Set(one.map((l) => l.toFixed(4))).size).toBeGreaterThan(1);
  });
});
