import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetCache } from '../../core/data/dataset.js';
import { BACKENDS, type BackendName } from '../../core/engine/backends.js';
import { buildAlexNet } from '../../core/model/alexnet.js';
import { insertRun } from '../../core/store/runs.js';
import { findDataset } from '../../core/store/datasets.js';
import { runIndexes } from '../../core/store/indexes.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { saveCheckpoint } from '../../core/train/checkpoint.js';
import { prepareRun } from '../../core/train/prepare.js';
import { runPreprocessing } from '../../core/train/trainer.js';
import { ROOT, svw, svwJson, tempDir } from '../helpers/cli.js';

/**
 * Retrieval never compares features of two networks: a run's checkpoint is replaced (as the
 * next epoch of training replaces `last`) after its indexes were built, and every kind of
 * query must then refuse, or build again, rather than mix them.
 */
const tmp = tempDir('svw-retrieval-ckpt-');
const env = { SVW_HOME: tmp.dir };
const json = <T>(...args: string[]) => svwJson<T>([...args, '--json', '--backend', 'wasm'], env);
let valImage = { idx: 0, path: '' };

/** Writes run 1's last checkpoint: a network of its own seed, as of `epoch`. */
async function writeLastCheckpoint(seed: number, epoch: number): Promise<void> {
  const wb = openWorkbench(tmp.dir);
  try {
    const run = wb.db
      .prepare('SELECT config, dataset_id AS datasetId FROM runs WHERE id = 1')
      .get() as {
      config: string;
      datasetId: number;
    };
    const config = JSON.parse(run.config) as ReturnType<typeof prepareRun>['config'];
    const dataset = findDataset(wb.db, run.datasetId)!;
    const cache = new DatasetCache(wb.paths.dataset(dataset.id), dataset.imageSize);
    const { preprocessing, meanImage } = runPreprocessing(config, cache);
    cache.close();
    const model = buildAlexNet(config.model, { seed });
    const labels = Array.from({ length: config.model.classes }, (_, i) => `class${i}`);
    await saveCheckpoint(
      wb.paths.run(1),
      'last',
      { model, config: config.model, labels, preprocessing, meanImage },
      { steps: epoch, tensors: [] },
      {
        epoch,
        step: epoch,
        schedule: { lr: 0.01, drops: 0, best: null, badEpochs: 0 },
        valTop1Error: null,
        bestValTop1Error: null,
      },
    );
    model.dispose();
  } finally {
    wb.close();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  svwJson(
    [
      'dataset',
      'import',
      path.join(ROOT, 'demo/cifar10-demo'),
      '--name',
      'demo',
      '--max-per-class',
      '12',
      '--json',
    ],
    env,
  );
  const wb = openWorkbench(tmp.dir);
  try {
    const { config, dataset } = prepareRun(wb.db, { dataset: 'demo', preset: 'alexnet-cifar' });
    insertRun(wb.db, { experiment: 'retrieval', datasetId: dataset.id, config });
    valImage = wb.db
      .prepare(`SELECT idx, path FROM dataset_images WHERE split = 'val' ORDER BY idx LIMIT 1`)
      .get() as typeof valImage;
  } finally {
    wb.close();
  }
  await writeLastCheckpoint(1, 1);
});
afterAll(() => tmp.cleanup());

interface Index {
  split: string;
  checkpointEpoch: number;
  checkpointSha256: string;
}

describe('retrieval after the checkpoint has been replaced', () => {
  let train: Index;
  let val: Index;

  it('records which weights each index came from', () => {
    train = json<Index>('index', 'build', '1', '--split', 'train', '--checkpoint', 'last');
    val = json<Index>('index', 'build', '1', '--split', 'val', '--checkpoint', 'last');
    expect(train.checkpointEpoch).toBe(1);
    expect(train.checkpointSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(val.checkpointSha256).toBe(train.checkpointSha256);
  });

  it('refuses a query file embedded by another network than the gallery’s', async () => {
    await writeLastCheckpoint(2, 2);
    const r = svw(['search', '1', '--image', valImage.path, '--checkpoint', 'last'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /run 1's train index was built from its last checkpoint of epoch 1, which has since been replaced \(it is now epoch 2\)/,
    );
    expect(r.stderr).toMatch(/hint: rebuild it: svw index build 1 --split train --checkpoint last/);
  });

  it('takes a query row only from an index of the gallery’s own network', () => {
    // Both epoch-1 indexes: one network, so the val row may query the train gallery.
    const before = json<{ neighbors: unknown[] }>(
      'search',
      '1',
      '--dataset-image',
      String(valImage.idx),
      '--checkpoint',
      'last',
    );
    expect(before.neighbors).toHaveLength(8);
    // The train gallery rebuilt from epoch 2; the val index still holds epoch 1's features.
    const rebuilt = json<Index>('index', 'build', '1', '--split', 'train', '--checkpoint', 'last');
    expect(rebuilt.checkpointEpoch).toBe(2);
    expect(rebuilt.checkpointSha256).not.toBe(train.checkpointSha256);
    const r = svw(
      ['search', '1', '--dataset-image', String(valImage.idx), '--checkpoint', 'last'],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/in none of run 1's indexes of the epoch 2 last checkpoint/);
    expect(r.stderr).toMatch(/hint: build one with: svw index build 1 --split all/);
  });

  it('retrieval-eval builds a stale index again instead of mixing it with a current one', () => {
    const r = svw(
      ['retrieval-eval', '1', '--checkpoint', 'last', '--backend', 'wasm', '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /run 1's val index was built from its last checkpoint of epoch 1, which has since been replaced \(it is now epoch 2\): building it again/,
    );
    expect(r.stderr).not.toMatch(/train index/); // the train index was current
    const wb = openWorkbench(tmp.dir);
    const indexes = runIndexes(wb.db, 1);
    wb.close();
    expect(indexes.map((i) => [i.split, i.checkpointEpoch])).toEqual([
      ['train', 2],
      ['val', 2],
    ]);
    expect(new Set(indexes.map((i) => i.checkpointSha256)).size).toBe(1);
  });

  it('with --backend auto, every job says which engine it took and why faster ones were skipped', () => {
    /** The engine line, then a `skipped` line for every rung above it on the ladder. */
    const expectEngineReport = (stderr: string, prefix = '') => {
      const chosen = new RegExp(`^${prefix}engine: (\\S+) \\(`, 'm').exec(stderr)?.[1];
      expect(BACKENDS, stderr).toContain(chosen);
      for (const faster of BACKENDS.slice(0, BACKENDS.indexOf(chosen as BackendName)))
        expect(stderr).toMatch(new RegExp(`^${prefix}  skipped ${faster}: \\S`, 'm'));
    };
    const ok = (...args: string[]) => {
      const r = svw(args, env);
      expect(r.code, r.stderr).toBe(0);
      return r.stderr;
    };
    expectEngineReport(ok('index', 'build', '1', '--split', 'val', '--checkpoint', 'last'));
    expectEngineReport(ok('search', '1', '--image', valImage.path, '--checkpoint', 'last'));
    expectEngineReport(ok('eval', '1', '--checkpoint', 'last'));
    const train = ok('train', '--dataset', 'demo', '--preset', 'alexnet-cifar', '--epochs', '1');
    expectEngineReport(train, 'run 2: ');
  });
});
