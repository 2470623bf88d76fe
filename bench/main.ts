import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { parseBackendChoice, selectBackend, describeSelection } from '../core/engine/backends.js';
import { buildAlexNet, tapModel } from '../core/model/alexnet.js';
import { presetConfig, type PresetName } from '../core/model/config.js';
import { benchData } from './data.js';
import { benchRunList } from './store.js';
import { benchRetrieval } from './retrieval.js';
import type { BenchResult as Result } from './result.js';

const CASES: { preset: PresetName; batch: number }[] = [
  { preset: 'alexnet-cifar', batch: 128 },
  { preset: 'alexnet-paper', batch: 16 },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Times `step` after one warm-up call, repeating until `minMs` has passed (at least `minReps` times). */
async function time(step: () => Promise<void>, minReps: number, minMs: number): Promise<number> {
  await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || performance.now() - start < minMs) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function benchPreset(
  preset: PresetName,
  batch: number,
  backend: string,
  quick: boolean,
): Promise<Result[]> {
  const config = presetConfig(preset);
  const model = buildAlexNet(config, { seed: 1 });
  const logits = tapModel(model, 'fc8');
  const x = tf.randomNormal([batch, config.inputSize, config.inputSize, 3], 0, 50, 'float32', 1);
  const labels = tf.oneHot(
    tf.randomUniform([batch], 0, config.classes, 'int32', 2) as tf.Tensor1D,
    config.classes,
  );
  const optimizer = tf.train.momentum(0.001, 0.9);
  const reps = quick ? 1 : 3;
  const minMs = quick ? 0 : 5_000;

  const forwardMs = await time(
    async () => {
      const y = logits.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    },
    reps,
    minMs,
  );
  const trainMs = await time(
    async () => {
      const loss = optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(labels, logits.apply(x, { training: true }) as tf.Tensor),
        true,
      );
      await loss!.data();
      loss!.dispose();
    },
    reps,
    minMs,
  );
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  const result = (kind: string, ms: number): Result => ({
    name: `${kind} ${preset}`,
    backend,
    batch,
    imagesPerSec: Math.round((batch / (ms / 1000)) * 100) / 100,
    msPerBatch: Math.round(ms),
  });
  return [result('forward', forwardMs), result('train', trainMs)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'auto' },
      quick: { type: 'boolean', default: false },
      preset: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
    },
  });
  tf.enableProdMode();
  const selection = await selectBackend(parseBackendChoice(values.backend));
  for (const line of describeSelection(selection)) process.stderr.write(line + '\n');
  const results: Result[] = [];
  const wanted = (group: string) => !values.only || values.only.includes(group);
  if (wanted('store')) {
    process.stderr.write('benchmarking the run list…\n');
    results.push(...benchRunList());
  }
  if (wanted('retrieval')) {
    process.stderr.write('benchmarking nearest-neighbour search…\n');
    results.push(...(await benchRetrieval(values.quick)));
  }
  if (wanted('data')) {
    process.stderr.write('benchmarking import and the batch pipeline…\n');
    results.push(...(await benchData(selection.engine.backend, values.quick)));
  }
  for (const { preset, batch } of CASES) {
    if (!wanted('model') || (values.preset && !values.preset.includes(preset))) continue;
    process.stderr.write(`benchmarking ${preset} at batch ${batch}…\n`);
    results.push(...(await benchPreset(preset, batch, selection.engine.backend, values.quick)));
  }
  process.stderr.write(
    '\n' +
      results
        .map(
          (r) =>
            `${r.name.padEnd(56)} ${r.backend.padEnd(14)} ${r.imagesPerSec ? `batch ${String(r.batch).padStart(5)} ${r.imagesPerSec.toFixed(1).padStart(8)} img/s ${String(r.msPerBatch).padStart(6)} ms/batch` : `${String(r.msPerBatch).padStart(36)} ms`}${r.waitPercent === undefined ? '' : `  waiting ${r.waitPercent}%`}`,
        )
        .join('\n') +
      '\n',
  );
  process.stdout.write(JSON.stringify({ results }, null, 2) + '\n');
}

await main();
