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
import { benchPaired } from './paired.js';
import {
  benchPytorchCuda,
  compareWithReference,
  formatComparison,
  PytorchSession,
} from './reference.js';
import { benchRunCurves } from './run-curves.js';
import { benchRunList } from './store.js';
import { benchScale } from './scale.js';
import { benchRetrieval } from './retrieval.js';
import { formatResult, type BenchResult as Result, type Comparison } from './result.js';
import { time } from './timing.js';
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

const USAGE = `usage: npm run bench -- [options]
  --backend NAME       auto (default), tensorflow-gpu, webgpu, tensorflow, wasm or cpu
  --batch N            the model cases at batch N instead of their own (128 and 16)
  --quick              one warm-up and one timed repetition: a smoke test
  --only GROUP         only this group (repeatable): ${GROUPS.join(', ')}
  --preset NAME        model cases of this preset only (repeatable)
  --threads N          train the model cases on N threads (repeatable; default 1, 2 and every core)
  --reference pytorch  PyTorch on this CPU at the same thread counts, in alternating rounds
  --reference pytorch-cuda
                       PyTorch on the GPU (CUDA), after our figures
  --rounds N           alternations of each side against PyTorch on the CPU (default 5)
  --help               this text
Figures on stderr, all of them as JSON on stdout. README "Benchmarks" says what each group times.
`;

/** The command line, or a UserError naming what is wrong with it. */
function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        backend: { type: 'string', default: 'auto' },
        quick: { type: 'boolean', default: false },
        preset: { type: 'string', multiple: true },
        only: { type: 'string', multiple: true },
        reference: { type: 'string' },
        threads: { type: 'string', multiple: true },
        batch: { type: 'string' },
        rounds: { type: 'string', default: '5' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    // parseArgs explains an unknown flag or a missing value in one sentence.
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) {
      throw new UserError(`${(err as Error).message} (npm run bench -- --help)`);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const { values } = parseCommandLine();
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
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
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds > 0))
    throw new UserError(`--rounds must be a positive integer, not '${values.rounds}'`);
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
  let comparisons: Comparison[] | undefined;
  // --batch replaces each model case's own batch (the paper's 128 on a GPU, say).
  const cases = CASES.map((c) => ({ ...c, batch: batch ?? c.batch })).filter(
    ({ preset }) => wanted('model') && (!values.preset || values.preset.includes(preset)),
  );
  if (reference && cases.length === 0) {
    process.stderr.write('the PyTorch reference compares the model cases: add --only model\n');
  }
  // Against PyTorch on the CPU: both sides in alternating rounds (./paired.ts).
  const session = reference === 'pytorch' && cases.length ? PytorchSession.start() : null;
  if (session) {
    process.stderr.write(
      `benchmarking ${cases.map((c) => c.preset).join(' and ')} on ${threads.join(', ')} thread(s) against PyTorch ${session.torch} (${session.python}), alternating…\n`,
    );
    try {
      const paired = await benchPaired(
        { cases, backend, threads, rounds: values.quick ? 1 : rounds, quick: values.quick },
        session,
      );
      modelResults.push(...paired.ours);
      results.push(...paired.ours, ...paired.reference);
      comparisons = paired.comparisons;
    } finally {
      await session.close();
    }
  } else {
    for (const { preset, batch } of cases) {
      process.stderr.write(
        `benchmarking ${preset} at batch ${batch} on ${threads.join(', ')} thread(s)…\n`,
      );
      modelResults.push(...(await benchPreset(preset, batch, backend, threads, values.quick)));
    }
    results.push(...modelResults);
  }
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

  // On a GPU (bench/gpu-check.sh), PyTorch CUDA after ours: the GPU's speed does not drift.
  if (reference === 'pytorch-cuda' && cases.length) {
    const compared = cases
      .filter(({ preset }) => modelResults.some((r) => r.name === `train ${preset}`))
      .map(({ preset, batch }) => ({
        preset,
        batches: [batch],
        params: modelResults.find((r) => r.name === `train ${preset}`)!.params!,
      }));
    const figures = await benchPytorchCuda(compared, values.quick);
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
