import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { tapModel } from '../model/alexnet.js';
import { KeyedDropout } from './dropout.js';
import type { Optimizer, Param } from './optimizer.js';

/** A network set up for training steps: its logits (fc8) model, trainable weights and dropout. */
export interface Trainee {
  logits: tfl.LayersModel;
  params: Param[];
  dropout: KeyedDropout;
  /** Input side in pixels and number of classes. */
  crop: number;
  classes: number;
  /** The run's seed, which keys the dropout masks with the step. */
  seed: number;
}

/** The model's trainable weights as the optimizer sees them (biases marked for caffeBias). */
export function trainableParams(model: tfl.LayersModel): Param[] {
  return model.trainableWeights.map((w) => ({
    name: w.name,
    variable: w.read() as tf.Variable,
    isBias: w.name.endsWith('/bias'),
  }));
}

export function trainee(
  model: tfl.LayersModel,
  shape: { inputSize: number; classes: number },
  seed: number,
): Trainee {
  return {
    logits: tapModel(model, 'fc8'),
    params: trainableParams(model),
    dropout: new KeyedDropout(model),
    crop: shape.inputSize,
    classes: shape.classes,
    seed,
  };
}

/** Rows `offset` … `offset + labels.length − 1` of a batch of `total` images, at step `step`. */
export interface Share {
  /** float32 [rows, crop, crop, 3]. */
  x: Float32Array;
  labels: number[];
  offset: number;
  total: number;
  step: number;
}

/** What a share contributes to its batch's step. */
export interface ShareResult {
  /** The share's mean loss × rows / total: the shares of a batch add up to its mean loss. */
  loss: number;
  wrong: number;
  /** Gradients of that loss, keyed by variable name: they too add up to the batch's. */
  grads: tf.NamedTensorMap;
}

/**
 * Forward and backward pass over a share of a batch, without updating anything. The loss is
 * weighted by the share's part of the batch, so that summing every share's gradients gives the
 * gradients of the whole batch's mean loss (exactly so up to the order of float additions: the
 * network has no batch statistics, and dropout masks are keyed by the image's batch row).
 */
export async function shareGradients(t: Trainee, share: Share): Promise<ShareResult> {
  const rows = share.labels.length;
  const weight = rows / share.total;
  t.dropout.setStep(t.seed, share.step, share.offset);
  let out: tf.Tensor | null = null;
  const input = tf.tensor4d(share.x, [rows, t.crop, t.crop, 3]);
  const target = tf.tidy(() => tf.oneHot(tf.tensor1d(share.labels, 'int32'), t.classes));
  const { value, grads } = tf.variableGrads(
    () => {
      const y = t.logits.apply(input, { training: true }) as tf.Tensor;
      out = tf.keep(y);
      const loss = tf.losses.softmaxCrossEntropy(target, y) as tf.Scalar;
      return weight === 1 ? loss : tf.mul(loss, weight);
    },
    t.params.map((p) => p.variable),
  );
  // Read asynchronously: the webgpu backend cannot read synchronously in Node.
  const loss = (await value.data())[0]!;
  const predicted = tf.tidy(() => tf.argMax(out!, 1));
  const p = await predicted.data();
  let wrong = 0;
  share.labels.forEach((label, i) => {
    if (p[i] !== label) wrong++;
  });
  tf.dispose([input, target, value, out!, predicted]);
  return { loss, wrong, grads };
}

/** What a training step reports: the batch's mean loss and how many images it got wrong. */
export interface StepResult {
  loss: number;
  wrong: number;
}

/**
 * Runs training steps, on this thread alone ({@link LocalStepper}) or on several
 * (./shards.ts). A non-finite loss leaves the weights as they were.
 */
export interface Stepper {
  /** Threads each step runs on. */
  readonly threads: number;
  /**
   * One SGD step on a batch at learning rate `lr`: `x` float32 [labels.length, crop, crop, 3];
   * `step` is the run's step number, which keys the dropout masks.
   */
  step(batch: { x: Float32Array; labels: number[]; step: number }, lr: number): Promise<StepResult>;
  /** Stops any threads; the model and optimizer stay the caller's. */
  close(): Promise<void>;
}

/** Steps on this thread. */
export class LocalStepper implements Stepper {
  readonly threads = 1;

  constructor(
    private readonly t: Trainee,
    private readonly optimizer: Optimizer,
  ) {}

  async step(batch: { x: Float32Array; labels: number[]; step: number }, lr: number) {
    const total = batch.labels.length;
    const { loss, wrong, grads } = await shareGradients(this.t, { ...batch, offset: 0, total });
    if (Number.isFinite(loss)) this.optimizer.apply(grads, lr);
    tf.dispose(Object.values(grads));
    return { loss, wrong };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
