import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../core/data/import.js';
import { selectBackend } from '../../core/engine/backends.js';
import { datasetPayload } from '../../core/jobs/payload.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { runTraining } from '../../core/train/trainer.js';
import { ROOT, tempDir } from '../helpers/cli.js';

/** Tensors must not pile up across epochs: a leak of one tensor per step ends a long run. */
const home = tempDir('svw-home-');
let wb: Workbench;

beforeAll(async () => {
  wb = openWorkbench(home.dir);
  await importDataset(
    wb.db,
    path.join(ROOT, 'demo/cifar10-demo'),
    { name: 'tiny', maxPerClass: 8 },
    wb.paths,
  );
  tf.enableProdMode();
  await selectBackend('wasm');
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

describe('training memory', () => {
  it('keeps the number of live tensors constant from epoch to epoch', async () => {
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
