import os from 'node:os';
import { runTrainingChildren, type ChildReport, type ChildSpec } from './child-jobs.js';
import type { BenchResult } from './result.js';

/** At most this many jobs at once, so that a many-core machine does not run out of memory. */
const MAX_JOBS = 4;

/**
 * What the scheduler chooses between when several training jobs wait: as many single-threaded
 * jobs at once as there are cores, each in its own process as the scheduler runs them, against
 * one job on that many threads (which is what running them one after another would give). One
 * job on one thread is the baseline; `scaling` is each figure over it.
 */
export async function benchConcurrency(
  backend: string,
  quick: boolean,
  parallel: boolean,
): Promise<BenchResult[]> {
  const jobs = Math.max(2, Math.min(MAX_JOBS, os.availableParallelism()));
  const spec: ChildSpec = {
    backend,
    preset: 'alexnet-cifar',
    batch: 128,
    steps: quick ? 3 : 12,
    threads: 1,
  };
  const name = `train ${spec.preset}`;
  const single = aggregate(await runTrainingChildren(1, spec));
  const several = aggregate(await runTrainingChildren(jobs, spec));
  // Engines that are not data-parallel (libtensorflow, GPUs) train a job on one engine only.
  const wide = parallel
    ? aggregate(await runTrainingChildren(1, { ...spec, threads: jobs }))
    : null;
  const scaling = (r: { imagesPerSec: number }) =>
    Math.round((r.imagesPerSec / single.imagesPerSec) * 100) / 100;
  return [
    {
      name: `${name}, 1 job on 1 thread`,
      backend,
      batch: spec.batch,
      jobs: 1,
      threads: 1,
      ...single,
    },
    {
      name: `${name}, ${jobs} jobs at once on 1 thread each (sum)`,
      backend,
      batch: spec.batch,
      jobs,
      threads: 1,
      ...several,
      scaling: scaling(several),
    },
    ...(wide
      ? [
          {
            name: `${name}, 1 job on ${jobs} threads`,
            backend,
            batch: spec.batch,
            jobs: 1,
            threads: jobs,
            ...wide,
            scaling: scaling(wide),
          },
        ]
      : []),
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
