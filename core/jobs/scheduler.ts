import os from 'node:os';
import type { BackendChoice } from '../engine/backends.js';
import { finishRun, getRun, type RunStatus } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { errorMessage } from '../util/errors.js';
import type { JobHost } from './host.js';
import { startTraining } from './launch.js';
import type { WorkerMessage } from '../schema/messages.js';
import type { RunningJob } from './run-job.js';

export interface SchedulerOptions {
  /** Jobs at once: one per GPU, or one on a CPU-only machine, unless set. */
  concurrency: number;
  backend: BackendChoice;
  /** Every worker message of every job, after it is stored (for live UIs). */
  onMessage?: (runId: number, message: WorkerMessage) => void;
  /** A run changed status. */
  onStatus?: (runId: number, status: RunStatus) => void;
}

interface Queued {
  runId: number;
  resume: boolean;
}

/**
 * Runs queued training jobs, at most `concurrency` at a time, in worker processes. The host
 * that owns the scheduler is the only writer of the database.
 */
export class Scheduler {
  private readonly queue: Queued[] = [];
  private readonly active = new Map<number, RunningJob>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly wb: Workbench,
    private readonly host: JobHost,
    private readonly options: SchedulerOptions,
  ) {}

  /** Queues a run (a new one, or one to resume) and starts it when a slot is free. */
  enqueue(runId: number, resume = false): void {
    if (this.active.has(runId) || this.queue.some((q) => q.runId === runId)) return;
    this.wb.db
      .prepare(
        `UPDATE runs SET status = 'queued', error = NULL WHERE id = ? AND status != 'running'`,
      )
      .run(runId);
    this.queue.push({ runId, resume });
    this.options.onStatus?.(runId, 'queued');
    this.pump();
  }

  /** Cancels a queued run at once, or asks a running one to stop. Returns false if neither. */
  cancel(runId: number): boolean {
    const index = this.queue.findIndex((q) => q.runId === runId);
    if (index >= 0) {
      this.queue.splice(index, 1);
      finishRun(this.wb.db, runId, 'cancelled');
      this.options.onStatus?.(runId, 'cancelled');
      this.settle();
      return true;
    }
    const job = this.active.get(runId);
    job?.cancel();
    return Boolean(job);
  }

  get runningIds(): number[] {
    return [...this.active.keys()];
  }

  get queuedIds(): number[] {
    return this.queue.map((q) => q.runId);
  }

  /** Resolves when nothing is running or queued. */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Kills every worker (host shutdown); their runs end failed with the reason. */
  shutdown(): void {
    this.queue.length = 0;
    for (const job of this.active.values()) job.kill();
  }

  private pump(): void {
    while (this.active.size < this.options.concurrency && this.queue.length > 0) {
      const { runId, resume } = this.queue.shift()!;
      const run = getRun(this.wb.db, runId);
      if (!run) continue;
      let job: RunningJob;
      try {
        job = startTraining(this.wb, this.host, run, resume, {
          backend: this.options.backend,
          onMessage: (m) => this.options.onMessage?.(runId, m),
        });
      } catch (err) {
        finishRun(this.wb.db, runId, 'failed', { message: errorMessage(err) });
        this.options.onStatus?.(runId, 'failed');
        continue;
      }
      this.active.set(runId, job);
      this.options.onStatus?.(runId, 'running');
      void job.done.then((status) => {
        this.active.delete(runId);
        this.options.onStatus?.(runId, status);
        this.pump();
        this.settle();
      });
    }
    this.settle();
  }

  private settle(): void {
    if (this.active.size === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * Jobs at once: one per GPU; without one, one per core when the engine is single-threaded in
 * Node (wasm, cpu), since each such job keeps exactly one core busy; otherwise one, since
 * libtensorflow spreads a single job over every core already.
 */
export async function defaultConcurrency(
  detect: () => Promise<unknown[] | null>,
  engine: () => Promise<string>,
  cores: number = os.availableParallelism(),
): Promise<number> {
  const gpus = (await detect())?.length ?? 0;
  if (gpus > 0) return gpus;
  const backend = await engine().catch(() => 'unknown');
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, cores) : 1;
}
