import { fork, type ChildProcess } from 'node:child_process';
import { compiledModulePath } from '../core/util/module-path.js';
import type { PresetName } from '../core/schema/model-config.js';

/** What a benchmark child trains: a preset at a batch size for `steps` timed steps. */
export interface ChildSpec {
  backend: string;
  preset: PresetName;
  batch: number;
  steps: number;
  /** Threads each job trains on (data-parallel shards on wasm). */
  threads: number;
}

/** The child's report after its timed steps. */
export interface ChildReport {
  /** Images trained per second over the timed steps, from the start signal to the last step. */
  imagesPerSec: number;
  /** Milliseconds from the start signal to the end of the last step. */
  elapsedMs: number;
  images: number;
  /** Median milliseconds per step. */
  msPerStep: number;
  /** process.resourceUsage().maxRSS of the child, in MB. */
  peakRssMB: number;
  /** tf.memory() after each timed step: a constant count means nothing leaks. */
  tensors: number[];
  tensorBytes: number;
}

/** Messages a child sends: ready after the warm-up step, then its report (or an error). */
export type ChildMessage =
  { type: 'ready' } | { type: 'done'; report: ChildReport } | { type: 'error'; message: string };

/** The message the parent sends once every child is ready, so timed steps start together. */
export interface StartMessage {
  type: 'start';
}

/**
 * Trains `count` copies of `spec` in separate child processes (the product runs one process
 * per job). Each builds its model and takes a warm-up step; once all are ready they are told to
 * start at the same moment, so start-up and warm-up never overlap the timed steps.
 */
export async function runTrainingChildren(count: number, spec: ChildSpec): Promise<ChildReport[]> {
  const entry = compiledModulePath(import.meta.url, './child.js');
  const children: ChildProcess[] = [];
  const reports: Promise<ChildReport>[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(entry, [JSON.stringify(spec)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    let onReady: () => void = () => {};
    ready.push(new Promise<void>((resolve) => (onReady = resolve)));
    reports.push(
      new Promise<ChildReport>((resolve, reject) => {
        child.on('message', (m: ChildMessage) => {
          if (m.type === 'ready') onReady();
          else if (m.type === 'done') resolve(m.report);
          else reject(new Error(`benchmark child failed: ${m.message}`));
        });
        child.on('close', (code, signal) =>
          reject(new Error(`benchmark child exited early (${signal ?? `code ${code}`})`)),
        );
      }),
    );
  }
  try {
    // A child that dies before it is ready rejects its report; race so that error surfaces.
    await Promise.race([Promise.all(ready), Promise.all(reports)]);
    const start: StartMessage = { type: 'start' };
    for (const child of children) child.send(start);
    return await Promise.all(reports);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
