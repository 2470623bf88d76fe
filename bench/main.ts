import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  describeSelection,
  parseBackendChoice,
  rung,
  selectBackend,
} from '../core/engine/backends.js';
import type { PresetName } from '../core/schema/model-config.js';
import { UserError } from '../core/util/errors.js';
import { benchCluster } from './cluster.js';
import { benchAnalysis } from './analysis.js';
import { benchConcurrency } from './concurrency.js';
import { benchData } from './data.js';
import { benchMemory } from './memory.js';
import { benchPytorch, compareWithReference, formatComparison } from './reference.js';
import { benchRunCurves } from './run-curves.js';
import { benchRunList } from './store.js';
import { benchScale } from './scale.js';
import { benchRetrieval } from './retrieval.js';
import { formatResult, type BenchResult as Result, type Comparison } from './result.js';
import { createBenchModel } from './train-step.js';

const CASES: { preset: PresetName; batch: number }[] = [
  { preset: 'alexnet-cifar', batch: 128 },
  { preset: 'alexnet-paper', batch: 16 },
];

const GROUPS = [
  'store',
  'scale',
  'retrieval',
  'analysis',
  'data',
  'model',
  'memory',
  'concurrency',
  'cluster',
] as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Times `step` after one warm-up call, repeating until `minMs` has passed (at least `minReps` times). */
async function time(
  step: () => void | Promise<void>,
  minReps: number,
  minMs: number,
): Promise<number> {
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

/**
 * Forward (inference, one thread) and training images/s of a preset, training on each of
 * `threads` threads (data-parallel shards where the engine runs one thread per engine).
 */
async function benchPreset(
  preset: PresetName,
  batch: number,
  backend: string,
  threads: number[],
  quick: boolean,
): Promise<Result[]> {
  const reps = quick ? 1 : 3;
  const minMs = quick ? 0 : 5_000;
  const results: Result[] = [];
  for (const count of threads) {
    const model = await createBenchModel(preset, batch, count);
    const result = (kind: string, ms: number, threads: number): Result => ({
      name: `${kind} ${preset}`,
      backend,
      batch,
      imagesPerSec: Math.round((batch / (ms / 1000)) * 100) / 100,
      msPerBatch: Math.round(ms),
      params: model.params,
      threads,
    });
    if (count === 1)
      results.push(result('forward', await time(() => model.forward(), reps, minMs), 1));
    results.push(result('train', await time(() => model.train(), reps, minMs), model.threads));
    await model.dispose();
  }
  return results;
}

/** 1, 2 and every core, without repeats: the thread counts the model cases train on. */
function threadCounts(cores: number, only: string[] | undefined): number[] {
  if (only) return only.map((t) => parseThreads(t, cores));
  return [...new Set([1, Math.min(2, cores), cores])];
}

function parseThreads(text: string, cores: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > cores)
    throw new UserError(
      `--threads ${text}: expected a whole number from 1 to ${cores} (the cores)`,
    );
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'auto' },
      quick: { type: 'boolean', default: false },
      preset: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
      reference: { type: 'string' },
      threads: { type: 'string', multiple: true },
      batch: { type: 'string' },
    },
  });
  for (const group of values.only ?? []) {
    if (!(GROUPS as readonly string[]).includes(group))
      throw new UserError(`unknown group '${group}' (choose ${GROUPS.join(', ')})`);
  }
  const reference = values.reference;
  if (reference !== undefined && reference !== 'pytorch' && reference !== 'pytorch-cuda')
    throw new UserError(`unknown reference '${reference}' (pytorch or pytorch-cuda)`);
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0))
    throw new UserError(`--batch must be a positive integer, not '${values.batch}'`);
  const cores = os.availableParallelism();
  tf.enableProdMode();
  const selection = await selectBackend(parseBackendChoice(values.backend));
  const backend = selection.engine.backend;
  for (const line of describeSelection(selection)) process.stderr.write(line + '\n');
  // Threads are data-parallel engines, for the engines that run on one thread (wasm, cpu).
  const parallel = rung(backend).dataParallel === true;
  if (values.threads && !parallel)
    throw new UserError(`--threads: the ${backend} engine trains a job on one engine, not threads`);
  const threads = parallel ? threadCounts(cores, values.threads) : [1];
  if (selection.engine.adapter?.software)
    process.stderr.write(
      'note: a software adapter runs the webgpu engine here: its figures show that it works, not how fast a GPU is\n',
    );
  const loadBefore = os.loadavg();
  const results: Result[] = [];
  const wanted = (group: (typeof GROUPS)[number]) => !values.only || values.only.includes(group);
  if (wanted('store')) {
    process.stderr.write('benchmarking the run list and a long run’s curves…\n');
    results.push(...benchRunList(), ...benchRunCurves());
  }
  if (wanted('scale')) {
    process.stderr.write(
      'benchmarking many experiments: 100k runs, the compare chart, brushing…\n',
    );
    results.push(...(await benchScale(values.quick)));
  }
  if (wanted('retrieval')) {
    process.stderr.write('benchmarking nearest-neighbour search…\n');
    results.push(...(await benchRetrieval(values.quick)));
  }
  if (wanted('analysis')) {
    process.stderr.write('benchmarking the neighbour graph, UMAP and the map…\n');
    results.push(...(await benchAnalysis(values.quick)));
  }
  if (wanted('data')) {
    process.stderr.write('benchmarking import and the batch pipeline…\n');
    results.push(...(await benchData(backend, values.quick)));
  }
  const modelResults: Result[] = [];
  // --batch replaces each model case's own batch (the paper's 128 on a GPU, say).
  const cases = CASES.map((c) => ({ ...c, batch: batch ?? c.batch }));
  for (const { preset, batch } of cases) {
    if (!wanted('model') || (values.preset && !values.preset.includes(preset))) continue;
    process.stderr.write(
      `benchmarking ${preset} at batch ${batch} on ${threads.join(', ')} thread(s)…\n`,
    );
    modelResults.push(...(await benchPreset(preset, batch, backend, threads, values.quick)));
  }
  results.push(...modelResults);
  if (wanted('memory')) {
    process.stderr.write(
      'benchmarking peak memory of training alexnet-paper at batch 32 on 1 and all threads…\n',
    );
    results.push(...(await benchMemory(backend, values.quick, parallel)));
  }
  if (wanted('concurrency')) {
    process.stderr.write(
      'benchmarking alexnet-cifar training: one job, several at once, one on several threads…\n',
    );
    results.push(...(await benchConcurrency(backend, values.quick, parallel)));
  }
  if (wanted('cluster')) {
    process.stderr.write('benchmarking jobs on a Slurm cluster against local ones…\n');
    results.push(...(await benchCluster(backend, values.quick)));
  }

  let comparisons: Comparison[] | undefined;
  if (reference) {
    const compared = cases
      .filter(({ preset }) => modelResults.some((r) => r.name === `train ${preset}`))
      .map(({ preset, batch }) => ({
        preset,
        batches: [batch],
        params: modelResults.find((r) => r.name === `train ${preset}`)!.params!,
      }));
    if (compared.length === 0) {
      process.stderr.write('the PyTorch reference compares the model cases: add --only model\n');
    }
    const device = reference === 'pytorch-cuda' ? 'cuda' : 'cpu';
    const figures = compared.length
      ? await benchPytorch(compared, threads, values.quick, device)
      : [];
    results.push(...figures);
    comparisons = compareWithReference(modelResults, figures);
  }

  process.stderr.write('\n' + results.map(formatResult).join('\n') + '\n');
  if (comparisons?.length) {
    const label = reference === 'pytorch-cuda' ? 'PyTorch CUDA' : undefined;
    process.stderr.write('\n' + formatComparison(comparisons, label) + '\n');
  }
  const machine = {
    cpus: cores,
    // 1-minute load averages before and after: the machine may be shared.
    loadAverage: [loadBefore[0], os.loadavg()[0]].map((l) => Math.round(l! * 100) / 100),
  };
  process.stdout.write(
    JSON.stringify({ machine, engine: selection.engine, results, comparisons }, null, 2) + '\n',
  );
}

try {
  await main();
} catch (err) {
  // A mistyped flag deserves one line, not a stack trace.
  if (!(err instanceof UserError)) throw err;
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 2;
}
