import { renameSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { BatchLoader, epochPlan } from '../data/batches.js';
import { DatasetCache } from '../data/dataset.js';
import { decodeSquare } from '../image/decode.js';
import { resolveMean, writeEvalCrops } from '../data/transform.js';
import type { EmbedJob, FeaturesJob, WorkerMessage } from '../schema/messages.js';
import { tapModel } from '../model/alexnet.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import type { RunConfig } from '../schema/run-config.js';
import { evalSpec } from '../train/trainer.js';
import { NpyWriter } from '../util/npy.js';
import { FeatureIndex } from './search.js';

type Emit = (message: WorkerMessage) => void;

/** Images an index build runs through the network at a time. */
export const FEATURE_BATCH = 64;

/** The dataset image ids of a split, in index row order. */
export function splitIds(dataset: FeaturesJob['dataset'], split: FeaturesJob['split']): number[] {
  if (split === 'train') return dataset.trainIdx;
  if (split === 'val') return dataset.valIdx;
  return [...dataset.trainIdx, ...dataset.valIdx].sort((a, b) => a - b);
}

/**
 * `svw index build`, in a worker: fc7 activations (post-ReLU) of every image of a split, centre
 * crop as in evaluation, streamed into an .npy that appears only when complete, plus the image
 * ids of its rows.
 */
export async function runFeatureExtraction(
  job: FeaturesJob & { config: RunConfig },
  emit: Emit,
): Promise<void> {
  const { bundle, state } = await loadCheckpoint(job.checkpointDir);
  const features = tapModel(bundle.model, 'fc7');
  const dims = job.config.model.fc[1];
  const ids = splitIds(job.dataset, job.split);
  const spec = evalSpec(job.config, false);
  const loader = new BatchLoader(job.dataset.dir, job.dataset.size, spec, 2);
  const writer = new NpyWriter(job.outPath, ids.length, dims);
  const crop = job.config.model.inputSize;
  try {
    const plan = epochPlan(ids, FEATURE_BATCH, { shuffle: false, seed: 0, epoch: 0 });
    let done = 0;
    for await (const batch of loader.batches(plan, 'features')) {
      const n = batch.indices.length;
      const out = tf.tidy(
        () => features.predict(tf.tensor4d(batch.x, [n, crop, crop, 3])) as tf.Tensor,
      );
      writer.append((await out.data()) as Float32Array);
      out.dispose();
      done += n;
      emit({
        type: 'progress',
        epoch: 0,
        epochs: 1,
        batch: done,
        batches: ids.length,
        step: state.step,
        loss: 0,
        imagesPerSec: 0,
        phase: 'eval',
      });
    }
    writeFileSync(`${job.idsPath}.tmp`, JSON.stringify(ids));
    renameSync(`${job.idsPath}.tmp`, job.idsPath);
    writer.close();
    // Stored once here, so that no search has to read the whole gallery for them.
    FeatureIndex.storeNorms(job.outPath);
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    await loader.close();
    bundle.model.dispose();
  }
  emit({
    type: 'index',
    checkpointEpoch: state.epoch,
    checkpointSha256: bundle.weightsSha256,
    split: job.split,
    count: ids.length,
    dims,
    path: job.outPath,
    idsPath: job.idsPath,
  });
}

/**
 * fc7 features of image files from outside the dataset: decoded to the dataset's image size and
 * centre-cropped with its mean subtracted, exactly as the dataset's own images are for an index.
 */
export async function runEmbedding(
  job: EmbedJob & { config: RunConfig },
  emit: Emit,
): Promise<void> {
  const { bundle } = await loadCheckpoint(job.checkpointDir);
  const features = tapModel(bundle.model, 'fc7');
  const spec = evalSpec(job.config, false);
  const cache = new DatasetCache(job.dataset.dir, job.dataset.size);
  const mean = resolveMean(spec, cache, cache.stats());
  cache.close();
  const per = spec.crop * spec.crop * 3;
  const input = new Float32Array(job.files.length * per);
  for (const [i, file] of job.files.entries()) {
    writeEvalCrops(await decodeSquare(file, job.dataset.size), spec, mean, input, i * per);
  }
  const out = tf.tidy(
    () =>
      features.predict(
        tf.tensor4d(input, [job.files.length, spec.crop, spec.crop, 3]),
      ) as tf.Tensor2D,
  );
  const rows = (await out.array()) as number[][];
  out.dispose();
  bundle.model.dispose();
  emit({
    type: 'embedding',
    dims: job.config.model.fc[1],
    checkpointSha256: bundle.weightsSha256,
    features: rows,
  });
}
