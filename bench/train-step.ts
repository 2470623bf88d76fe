import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { buildAlexNet } from '../core/model/alexnet.js';
import { presetConfig, type PresetName } from '../core/schema/model-config.js';
import { defaultRunConfig } from '../core/schema/run-config.js';
import { Optimizer } from '../core/train/optimizer.js';
import { ShardedStepper } from '../core/train/shards.js';
import { LocalStepper, trainee, type Stepper } from '../core/train/step.js';

/** A model with random inputs and labels, stepped the way the trainer steps a run. */
export interface BenchModel {
  /** Parameters of the whole network (model.countParams()). */
  params: number;
  /** Threads a training step runs on. */
  threads: number;
  /** One SGD step on the batch: forward, backward, the paper's momentum and weight decay. */
  train(): Promise<void>;
  /** Logits of the batch, read back to the CPU (inference mode, no dropout), on one thread. */
  forward(): Promise<void>;
  dispose(): Promise<void>;
}

/** `n` pixels from N(0, 50²), seeded, made in JavaScript. */
export function randomPixels(n: number, seed: number): Float32Array {
  const random = seedrandom(String(seed));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box–Muller: two normal draws from two uniform ones.
    const r = 50 * Math.sqrt(-2 * Math.log(1 - random()));
    const a = 2 * Math.PI * random();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Builds a preset's network with random data, batch `batch`, trained by the trainer's own
 * steppers (core/train/step.ts, and core/train/shards.ts for more than one thread) and Optimizer
 * with the default settings (momentum 0.9, weight decay 5e-4).
 */
export async function createBenchModel(
  preset: PresetName,
  batch: number,
  threads = 1,
): Promise<BenchModel> {
  const config = presetConfig(preset);
  const model = buildAlexNet(config, { seed: 1 });
  const t = trainee(model, config, 1);
  const optim = defaultRunConfig(config).optim;
  const optimizer = new Optimizer(optim, t.params);
  const stepper: Stepper =
    threads > 1
      ? await ShardedStepper.start(t, optimizer, { threads, model: config, seed: 1 })
      : new LocalStepper(t, optimizer);
  // A small rate keeps random labels from driving the weights to infinity over many steps.
  const lr = optim.lr / 10;
  const shape: [number, number, number, number] = [batch, config.inputSize, config.inputSize, 3];
  // Made on the CPU: a GPU backend cannot read a tensor back synchronously.
  const pixels = randomPixels(
    shape.reduce((a, b) => a * b),
    1,
  );
  const labels = Array.from({ length: batch }, (_, i) => (i * 7919) % config.classes);
  // Made on the first forward pass, so a training-only process holds just weights and momentum.
  let x: tf.Tensor4D | null = null;
  let step = 0;

  return {
    params: model.countParams(),
    threads: stepper.threads,
    async train() {
      await stepper.step({ x: pixels, labels, step: step++ }, lr);
    },
    async forward() {
      x ??= tf.tensor4d(pixels, shape);
      const y = t.logits.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    },
    async dispose() {
      await stepper.close();
      x?.dispose();
      optimizer.dispose();
      model.dispose();
    },
  };
}
