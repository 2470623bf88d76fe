import os from 'node:os';
import { runTrainingChildren } from './child-jobs.js';
import type { BenchResult } from './result.js';

const PRESET = 'alexnet-paper';
const BATCH = 32;

/**
 * Peak memory of training the paper's network at batch 32: measured in a child process of its
 * own, so the figure is that job's alone (the bench's parent has built other models), on one
 * thread and, where the engine's threads are data-parallel, on every core (each thread holds its
 * own copy of the weights). Reports the
 * child's peak RSS and the live tensors of its main thread once training is steady (weights
 * plus momentum).
 */
export async function benchMemory(
  backend: string,
  quick: boolean,
  parallel: boolean,
): Promise<BenchResult[]> {
  const cores = os.availableParallelism();
  const results: BenchResult[] = [];
  for (const threads of parallel && cores > 1 ? [1, cores] : [1]) {
    const [report] = await runTrainingChildren(1, {
      backend,
      preset: PRESET,
      batch: BATCH,
      steps: quick ? 2 : 3,
      threads,
    });
    const r = report!;
    const first = r.tensors[0]!;
    const last = r.tensors.at(-1)!;
    if (first !== last) {
      process.stderr.write(`warning: live tensors went from ${first} to ${last} while training\n`);
    }
    results.push({
      name: `memory: train ${PRESET} (own process)`,
      backend,
      batch: BATCH,
      threads,
      imagesPerSec: Math.round(r.imagesPerSec * 100) / 100,
      msPerBatch: Math.round(r.msPerStep),
      peakRssMB: Math.round(r.peakRssMB),
      tensorBytes: r.tensorBytes,
      tensors: last,
    });
  }
  return results;
}
