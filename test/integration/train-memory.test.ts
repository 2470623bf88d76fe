import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { datasetPayload } from '../../core/jobs/payload.js';
import { prepareRun } from '../../core/train/prepare.js';
import { runTraining } from '../../core/train/trainer.js';
import { tinyTrainingHome } from '../helpers/tiny-training.js';

/** Tensors must not pile up across epochs: a leak of one tensor per step ends a long run. */
const home = tinyTrainingHome(8);

describe('training memory', () => {
  it('keeps the number of live tensors constant from epoch to epoch', async () => {
    const wb = home.wb();
    const { config, dataset } = prepareRun(wb.db, {
      dataset: 'tiny',
      preset: 'alexnet-cifar',
      epochs: 4,
      settings: ['batch=16', 'fc=64,64'],
    });
    const counts: number[] = [];
    const status = await runTraining({
      config,
      dataset: datasetPayload(wb.db, wb.paths, dataset.id),
      runDir: path.join(home.dir, 'runs', 'memory'),
      resumeFrom: null,
      threads: 1,
      emit: (m) => {
        if (m.type === 'epoch') counts.push(tf.memory().numTensors);
      },
      cancelled: () => false,
    });
    expect(status).toBe('completed');
    expect(counts).toHaveLength(4);
    // The first epoch allocates the model, optimizer slots and constants; after that, nothing grows.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(counts[3]).toBe(counts[1]);
  });
});
