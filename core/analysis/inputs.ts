import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readIndexIds } from '../retrieval/retrieval-eval.js';
import { readRows } from '../retrieval/search.js';
import type { AnalysisJob } from '../schema/messages.js';
import { readNpyInfo } from '../util/npy.js';
import { sharedRows, type SharedRows } from './knn-graph.js';
import { softmaxRows } from './label-errors.js';

/** The indexed images of an analysis, one matrix row each, with what the run knows of them. */
export interface AnalysisRows {
  matrix: SharedRows;
  ids: number[];
  labels: Int32Array;
  train: boolean[];
}

/**
 * Loads the index parts into one shared matrix [images, dims], with each row's image id, its
 * label in the run's dataset version, and whether it is a train image. Rows of images the
 * version no longer has are left out.
 */
export function loadRows(job: AnalysisJob): AnalysisRows {
  const { dataset } = job;
  const labelOf = new Map<number, { label: number; train: boolean }>();
  dataset.trainIdx.forEach((id, i) =>
    labelOf.set(id, { label: dataset.trainLabels[i]!, train: true }),
  );
  dataset.valIdx.forEach((id, i) =>
    labelOf.set(id, { label: dataset.valLabels[i]!, train: false }),
  );
  const parts = job.parts.map((p) => ({
    ...p,
    ids: readIndexIds(p.idsPath),
    info: readNpyInfo(p.path),
  }));
  const dims = parts[0]!.info.shape[1]!;
  const keep = parts.map((p) => p.ids.map((id) => labelOf.has(id)));
  const count = keep.flat().filter(Boolean).length;
  const matrix = sharedRows(count, dims);
  const ids: number[] = [];
  let row = 0;
  for (const [pi, part] of parts.entries()) {
    if (part.info.shape[1] !== dims)
      throw new Error(`${part.path} has ${part.info.shape[1]} features per image, not ${dims}`);
    const values = readRows(part.path, 0, part.ids.length);
    part.ids.forEach((id, i) => {
      if (!keep[pi]![i]) return;
      matrix.data.set(values.subarray(i * dims, (i + 1) * dims), row++ * dims);
      ids.push(id);
    });
  }
  return {
    matrix,
    ids,
    labels: Int32Array.from(ids, (id) => labelOf.get(id)!.label),
    train: ids.map((id) => labelOf.get(id)!.train),
  };
}

/**
 * The network's softmax for each row [rows, classes]: fc8 applied to the stored fc7 features,
 * which is what the model computes from them (dropout is off at inference).
 */
export function softmaxFromFeatures(
  model: tfl.LayersModel,
  m: SharedRows,
  classes: number,
): Float32Array {
  const fc8 = model.getLayer('fc8');
  const out = new Float32Array(m.rows * classes);
  const block = 4096;
  for (let start = 0; start < m.rows; start += block) {
    const n = Math.min(block, m.rows - start);
    const logits = tf.tidy(() => {
      const x = tf.tensor2d(m.data.subarray(start * m.dims, (start + n) * m.dims), [n, m.dims]);
      return fc8.apply(x) as tf.Tensor2D;
    });
    out.set(logits.dataSync(), start * classes);
    logits.dispose();
  }
  return softmaxRows(out, classes);
}

/** Each row's most probable class and its probability. */
export function predictions(probs: Float32Array, classes: number) {
  const rows = probs.length / classes;
  const predicted = new Array<number>(rows);
  const confidence = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probs[r * classes + c]! > probs[r * classes + best]!) best = c;
    predicted[r] = best;
    confidence[r] = probs[r * classes + best]!;
  }
  return { predicted, confidence };
}
