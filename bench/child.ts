import * as tf from '@tensorflow/tfjs-core';
import { parseBackendChoice, selectBackend } from '../core/engine/backends.js';
import type { ChildMessage, ChildSpec } from './child-jobs.js';
import { createBenchModel } from './train-step.js';

/**
 * A benchmark child process (started by child-jobs.ts): trains one preset on random data so
 * that its memory and speed are its own, waiting for the parent's start signal before timing.
 */

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as ChildSpec;
  tf.enableProdMode();
  await selectBackend(parseBackendChoice(spec.backend));
  const model = await createBenchModel(spec.preset, spec.batch, spec.threads);
  await model.train();
  const started = new Promise<void>((resolve) => process.once('message', () => resolve()));
  await send({ type: 'ready' });
  await started;

  const t0 = performance.now();
  const stepMs: number[] = [];
  const tensors: number[] = [];
  for (let i = 0; i < spec.steps; i++) {
    const s0 = performance.now();
    await model.train();
    stepMs.push(performance.now() - s0);
    tensors.push(tf.memory().numTensors);
  }
  const elapsedMs = performance.now() - t0;
  const tensorBytes = tf.memory().numBytes;
  await model.dispose();
  const images = spec.batch * spec.steps;
  stepMs.sort((a, b) => a - b);
  await send({
    type: 'done',
    report: {
      imagesPerSec: images / (elapsedMs / 1000),
      elapsedMs,
      images,
      msPerStep: stepMs[Math.floor(stepMs.length / 2)]!,
      // maxRSS is in kilobytes.
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      tensors,
      tensorBytes,
    },
  });
  process.disconnect();
}

main().catch(async (err: unknown) => {
  await send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
