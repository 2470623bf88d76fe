import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { randomPixels } from '../../bench/train-step.js';
import { buildAlexNet } from '../../core/model/alexnet.js';
import { applyModelSettings } from '../../core/schema/apply-settings.js';
import { presetConfig, type ModelConfig, type PresetName } from '../../core/schema/model-config.js';
import { defaultRunConfig, type OptimConfig } from '../../core/schema/run-config.js';
import { predictBatch } from '../../core/train/evaluate.js';
import { Optimizer, type Param } from '../../core/train/optimizer.js';
import { LocalStepper, trainee } from '../../core/train/step.js';

/** A preset with `--set` settings applied (`conv1.filters=8`, `fc=16,16`…). */
export function tinyConfig(preset: PresetName, settings: string[]): ModelConfig {
  return applyModelSettings(presetConfig(preset), settings);
}

/** A network on the current backend, stepped by the trainer's own stepper and Optimizer. */
export interface Stepper {
  model: tfl.LayersModel;
  logits: tfl.LayersModel;
  params: Param[];
  /** One SGD step on the batch, with dropout masks keyed by `seed`. */
  step(batch: Batch, lr: number, seed: string): Promise<{ loss: number; wrong: number }>;
  /** The weights, read back, in the model's order. */
  weights(): Promise<Float32Array[]>;
  dispose(): void;
}

export interface Batch {
  x: Float32Array;
  labels: number[];
}

/** `n` images of random pixels with labels 0, 1, 2… for `config`'s input. */
export function randomBatch(config: ModelConfig, n: number, seed: number): Batch {
  return {
    x: randomPixels(n * config.inputSize * config.inputSize * 3, seed),
    labels: Array.from({ length: n }, (_, i) => i % config.classes),
  };
}

export function stepper(config: ModelConfig, optim: Partial<OptimConfig> = {}, seed = 1): Stepper {
  const model = buildAlexNet(config, { seed });
  const t = trainee(model, config, seed);
  const { logits, params } = t;
  const optimizer = new Optimizer({ ...defaultRunConfig(config).optim, ...optim }, params);
  const local = new LocalStepper(t, optimizer);
  return {
    model,
    logits,
    params,
    step(batch, lr, dropoutSeed) {
      // Dropout masks are keyed by (seed, step): the same text gives the same masks anywhere.
      const step = [...dropoutSeed].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 0);
      return local.step({ x: batch.x, labels: batch.labels, step: step >>> 0 }, lr);
    },
    weights: () => Promise.all(params.map((p) => p.variable.data() as Promise<Float32Array>)),
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Evaluation's kernels (core/train/evaluate.ts): softmax, crops averaged, top-5. */
export async function evaluateBatch(
  logits: tfl.LayersModel,
  batch: Batch,
  config: ModelConfig,
): Promise<void> {
  const n = batch.labels.length;
  const out = predictBatch(logits, batch.x, n, 1, config.inputSize, config.classes);
  await Promise.all(out.map((t) => t.data()));
  tf.dispose(out);
}
