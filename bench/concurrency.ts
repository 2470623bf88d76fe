import { runTrainingChildren, type ChildReport, type ChildSpec } from './child-jobs.js';
import type { BenchResult } from './result.js';

/**
 * Two training jobs at once, each in its own process as the scheduler runs them: the images/s
 * of one job alone, then the summed images/s of two started together. The wasm engine uses one
 * thread per process, so on two idle cores the sum should approach twice one job.
 */
export async function benchConcurrency(backend: string, quick: boolean): Promise<BenchResult[]> {
  const spec: ChildSpec = {
    backend,
    preset: 'alexnet-cifar',
    batch: 128,
    steps: quick ? 3 : 12,
    threads: 1,
  };
  const name = `train ${spec.preset}`;
  const single = aggregate(await runTrainingChildren(1, spec));
  const pair = aggregate(await runTrainingChildren(2, spec));
  return [
    { name: `${name}, 1 job`, backend, batch: spec.batch, jobs: 1, ...single },
    {
      name: `${name}, 2 jobs at once (sum)`,
      backend,
      batch: spec.batch,
      jobs: 2,
      ...pair,
      scaling: Math.round((pair.imagesPerSec / single.imagesPerSec) * 100) / 100,
    },
  ];
}

/**
 * All images over the time until the last job finished: a job that ends early does not count
 * as still running. msPerBatch is the slowest job's median step.
 */
function aggregate(reports: ChildReport[]): { imagesPerSec: number; msPerBatch: number } {
  const images = reports.reduce((s, r) => s + r.images, 0);
  const wallMs = Math.max(...reports.map((r) => r.elapsedMs));
  return {
    imagesPerSec: Math.round((images / (wallMs / 1000)) * 10) / 10,
    msPerBatch: Math.round(Math.max(...reports.map((r) => r.msPerStep))),
  };
}
