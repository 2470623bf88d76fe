import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { BatchLoader, epochPlan } from '../core/data/batches.js';
import { importDataset } from '../core/data/import.js';
import type { TransformSpec } from '../core/data/transform.js';
import { buildAlexNet, tapModel } from '../core/model/alexnet.js';
import { presetConfig } from '../core/schema/model-config.js';
import { openWorkbench } from '../core/store/workbench.js';
import { datasetImages } from '../core/store/datasets.js';
import type { BenchResult } from './result.js';

const SHARED = path.resolve(import.meta.dirname, '../../../shared/datasets');

const trainSpec = (crop: number): TransformSpec => ({
  kind: 'train',
  crop,
  randomCrop: true,
  flip: true,
  pcaSigma: 0.1,
  mean: 'image',
  scale: 1,
});

/** Import speed, batch preparation speed, and how long training waits for data. */
export async function benchData(backend: string, quick: boolean): Promise<BenchResult[]> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-'));
  const wb = openWorkbench(home);
  const results: BenchResult[] = [];
  try {
    let t0 = performance.now();
    const cifar = await importDataset(
      wb.db,
      path.join(SHARED, 'cifar10-small'),
      { name: 'cifar' },
      wb.paths,
    );
    const n = cifar.counts.train + cifar.counts.val;
    results.push(rate('import cifar10-small (32×32 JPEG)', 'sharp', n, n, performance.now() - t0));

    t0 = performance.now();
    const inet = await importDataset(
      wb.db,
      path.join(SHARED, 'imagenet-samples'),
      { name: 'inet', labels: 'filename' },
      wb.paths,
    );
    results.push(
      rate('import imagenet-samples (→256×256)', 'sharp', 100, 100, performance.now() - t0),
    );

    const cifarTrain = datasetImages(wb.db, cifar.id, 'train').map((i) => i.idx);
    results.push(
      await pipelineRate(
        'batches alexnet-cifar (24 of 32, all augmentations)',
        wb.paths.dataset(cifar.id),
        32,
        24,
        cifarTrain,
        128,
      ),
    );
    const inetAll = datasetImages(wb.db, inet.id).map((i) => i.idx);
    results.push(
      await pipelineRate(
        'batches alexnet-paper (227 of 256, all augmentations)',
        wb.paths.dataset(inet.id),
        256,
        227,
        inetAll,
        16,
      ),
    );

    results.push(await dataWait(wb.paths.dataset(cifar.id), cifarTrain, backend, quick ? 3 : 8));
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
  }
  return results;
}

function rate(
  name: string,
  backend: string,
  batch: number,
  images: number,
  ms: number,
): BenchResult {
  return {
    name,
    backend,
    batch,
    imagesPerSec: Math.round((images / (ms / 1000)) * 10) / 10,
    msPerBatch: Math.round((ms * batch) / images),
  };
}

/** Batches/s from the worker thread alone, nothing consuming them but the loop. */
async function pipelineRate(
  name: string,
  dir: string,
  size: number,
  crop: number,
  indices: number[],
  batch: number,
) {
  const loader = new BatchLoader(dir, size, trainSpec(crop), 2);
  const plan = epochPlan(indices, batch, { shuffle: true, seed: 1, epoch: 0 }).slice(0, 12);
  const t0 = performance.now();
  let images = 0;
  for await (const b of loader.batches(plan, 'bench')) images += b.indices.length;
  await loader.close();
  return rate(name, 'worker thread', batch, images, performance.now() - t0);
}

/**
 * Trains alexnet-cifar on real batches from the loader and measures how long each step waited
 * for its batch: with prefetching the wait should be near zero, the engine never idle.
 */
async function dataWait(
  dir: string,
  indices: number[],
  backend: string,
  steps: number,
): Promise<BenchResult> {
  const config = presetConfig('alexnet-cifar');
  const model = buildAlexNet(config, { seed: 1 });
  const logits = tapModel(model, 'fc8');
  const optimizer = tf.train.momentum(0.001, 0.9);
  const loader = new BatchLoader(dir, 32, trainSpec(24), 2);
  const plan = epochPlan(indices, 128, { shuffle: true, seed: 1, epoch: 0 }).slice(0, steps + 1);
  let waited = 0;
  let total = 0;
  let step = 0;
  let mark = performance.now();
  for await (const batch of loader.batches(plan, 'bench')) {
    const now = performance.now();
    if (step > 0) waited += now - mark; // the first batch has nothing to overlap with
    const t0 = performance.now();
    const n = batch.indices.length;
    const x = tf.tensor4d(batch.x, [n, 24, 24, 3]);
    const y = tf.oneHot(
      tf.tensor1d(
        batch.indices.map((i) => i % 10),
        'int32',
      ),
      10,
    );
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, logits.apply(x, { training: true }) as tf.Tensor),
      true,
    );
    await loss!.data();
    tf.dispose([x, y, loss!]);
    if (step > 0) total += performance.now() - t0 + (now - mark);
    step++;
    mark = performance.now();
  }
  await loader.close();
  optimizer.dispose();
  model.dispose();
  return {
    name: 'training waits for data (alexnet-cifar, batch 128)',
    backend,
    batch: 128,
    imagesPerSec: Math.round(((128 * (step - 1)) / (total / 1000)) * 10) / 10,
    msPerBatch: Math.round(total / (step - 1)),
    waitPercent: Math.round((waited / total) * 1000) / 10,
  };
}
