import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BatchLoader, epochPlan } from '../data/batches.js';
import { MAX_MISTAKES, type EvalMistake } from '../schema/messages.js';

export interface EvalResult {
  images: number;
  /** Mean cross-entropy of the (crop-averaged) softmax. */
  loss: number;
  top1Error: number;
  top5Error: number;
  /** Top-1 error per class, null where the class has no images. */
  perClassError: (number | null)[];
  perClassCount: number[];
  /** Sparse confusion matrix: (true, predicted, count) triples, flattened, rows in order. */
  confusion: number[];
  /** Up to MAX_MISTAKES misclassified images, the most confident wrong predictions first. */
  mistakes: EvalMistake[];
}

export interface EvalInput {
  loader: BatchLoader;
  /** Dataset image indices and their labels. */
  idx: number[];
  labels: number[];
  classes: number;
  /** Crops per image in the loader's batches (1 or 10); their softmax outputs are averaged. */
  crops: number;
  batchSize: number;
  onBatch?: (done: number, total: number) => void;
}

/**
 * The softmax of `x` ([n·crops, size, size, 3] pixels), averaged over each image's crops, [n,
 * classes], and its top-5 classes [n, 5].
 */
export function predictBatch(
  logits: tfl.LayersModel,
  x: Float32Array,
  n: number,
  crops: number,
  size: number,
  classes: number,
): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const out = logits.predict(tf.tensor4d(x, [n * crops, size, size, 3])) as tf.Tensor2D;
    const p = tf.mean(tf.reshape(tf.softmax(out), [n, crops, classes]), 1) as tf.Tensor2D;
    return [p, tf.topk(p, Math.min(5, classes)).indices as tf.Tensor2D];
  });
}

/** Top-1/top-5 error, loss, per-class error and confusion of `logits` (an fc8 model) over images. */
export async function evaluate(logits: tfl.LayersModel, input: EvalInput): Promise<EvalResult> {
  const { classes, crops } = input;
  const labelOf = new Map(input.idx.map((idx, i) => [idx, input.labels[i]!]));
  const plan = epochPlan(input.idx, input.batchSize, { shuffle: false, seed: 0, epoch: 0 });
  const counts = new Array<number>(classes).fill(0);
  const wrong = new Array<number>(classes).fill(0);
  const confusion = new Map<number, number>();
  const mistakes = new MostConfident(MAX_MISTAKES);
  let top5Wrong = 0;
  let lossSum = 0;
  let done = 0;
  const size = input.loader.spec.crop;
  for await (const batch of input.loader.batches(plan, 'eval')) {
    const n = batch.indices.length;
    const labels = batch.indices.map((i) => labelOf.get(i)!);
    const [probs, top] = predictBatch(logits, batch.x, n, crops, size, classes);
    const [p, t] = await Promise.all([probs.data(), top.array() as Promise<number[][]>]);
    tf.dispose([probs, top]);
    labels.forEach((label, i) => {
      lossSum += -Math.log(Math.max(p[i * classes + label]!, 1e-12));
      const predicted = t[i]![0]!;
      counts[label]!++;
      if (predicted !== label) {
        wrong[label]!++;
        const confidence = Math.min(1, Math.max(0, p[i * classes + predicted]!));
        mistakes.offer({ idx: batch.indices[i]!, label, predicted, confidence });
      }
      if (!t[i]!.includes(label)) top5Wrong++;
      const key = label * classes + predicted;
      confusion.set(key, (confusion.get(key) ?? 0) + 1);
    });
    done += n;
    input.onBatch?.(done, input.idx.length);
  }
  const images = input.idx.length;
  const totalWrong = wrong.reduce((a, b) => a + b, 0);
  return {
    images,
    loss: images ? lossSum / images : NaN,
    top1Error: images ? totalWrong / images : 0,
    top5Error: images ? top5Wrong / images : 0,
    perClassError: counts.map((c, i) => (c ? wrong[i]! / c : null)),
    perClassCount: counts,
    confusion: [...confusion.entries()]
      .sort((a, b) => a[0] - b[0])
      .flatMap(([key, count]) => [Math.floor(key / classes), key % classes, count]),
    mistakes: mistakes.sorted(),
  };
}

/**
 * Keeps the `limit` most confident mistakes of a pass over any number of images, in memory
 * bounded by 2·limit: the list is cut back whenever it doubles.
 */
class MostConfident {
  private items: EvalMistake[] = [];
  constructor(private readonly limit: number) {}

  offer(m: EvalMistake): void {
    this.items.push(m);
    if (this.items.length >= 2 * this.limit) this.items = this.sorted();
  }

  /** Most confident first; ties by image index so the result does not depend on batch order. */
  sorted(): EvalMistake[] {
    return this.items
      .sort((a, b) => b.confidence - a.confidence || a.idx - b.idx)
      .slice(0, this.limit);
  }
}
