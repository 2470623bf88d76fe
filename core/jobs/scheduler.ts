import os from 'node:os';
import { BACKENDS, rung, type BackendChoice, type BackendName } from '../engine/backends.js';
import { hostLease } from '../store/leases.js';
import { addLog, finishRun, getRun, HELD_ELSEWHERE, type RunStatus } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { errorMessage, RefusedError } from '../util/errors.js';
import type { JobHost } from './host.js';
import { startTraining } from './launch.js';
import { jobMemoryBytes } from './memory.js';
import type { WorkerMessage } from '../schema/messages.js';
import { RunClaimedError, type RunningJob } from './run-job.js';

export interface SchedulerOptions {
  /** Jobs at once: one per GPU, or one on a CPU-only machine, unless set. */
  concurrency: number;
  /** GPUs to pin jobs to, one job per GPU: slot i runs on GPU i. 0 or unset: no pinning. */
  gpus?: number;
  /**
   * Free memory in bytes (os.freemem by default). A job starts only when its estimated peak fits
   * in it, except when nothing else runs, so that one job always can.
   */
  freeMemory?: () => number;
  backend: BackendChoice;
  /** Every worker message of every job, after it is stored (for live UIs). */
  onMessage?: (runId: number, message: WorkerMessage) => void;
  /** A run changed status. */
  onStatus?: (runId: number, status: RunStatus) => void;
}

/** A slot of the scheduler, held by one job: the GPU it runs on, if any. */
export interface Slot {
  readonly gpu: number | null;
  release(): void;
}

type Waiting =
  | { kind: 'train'; runId: number; resume: boolean }
  | {
      kind: 'job';
      bytes: number;
      resolve: (slot: Slot) => void;
      reject: (err: Error) => void;
    };

/**
 * Runs jobs at most `concurrency` at a time, in worker processes: queued training runs and,
 * through {@link acquire}, the other jobs (evaluations, index builds, embeddings), in the order
 * they asked. Each job gets a slot (and with GPUs, that slot's GPU alone) and starts only when
 * its memory fits. Queued runs belong to this host's lease: when it shuts down they are handed
 * back, and the next host to open the workbench picks them up ({@link recoverQueued}).
 */
export class Scheduler {
  private readonly waiting: Waiting[] = [];
  private readonly active = new Map<number, RunningJob>();
  private readonly free: number[];
  private reserved = 0;
  private baseline = 0;
  private held = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly wb: Workbench,
    private readonly host: JobHost,
    private readonly options: SchedulerOptions,
  ) {
    this.free = Array.from({ length: Math.max(1, options.concurrency) }, (_, i) => i);
  }

  private get lease() {
    return hostLease(this.wb.db);
  }

  /**
   * Queues a run (a new one, or one to resume) and starts it when a slot is free. Refused when
   * another live host has it running or queued.
   */
  enqueue(runId: number, resume = false): void {
    if (this.active.has(runId) || this.queuedIds.includes(runId)) return;
    const claimed = this.wb.db
      .prepare(
        `UPDATE runs SET status = 'queued', error = NULL, host_id = @host
         WHERE id = @id AND status != 'running' AND NOT ${HELD_ELSEWHERE}`,
      )
      .run({ id: runId, host: this.lease.id, now: Date.now() / 1000 }).changes;
    if (!claimed && getRun(this.wb.db, runId))
      throw new RefusedError(
        `run ${runId} is already running or queued in another workbench process`,
      );
    this.waiting.push({ kind: 'train', runId, resume });
    this.options.onStatus?.(runId, 'queued');
    this.pump();
  }

  /**
   * Queues the runs another host had queued when it closed or died (their lease has lapsed), in
   * the order they were created. Returns their ids.
   */
  recoverQueued(): number[] {
    const orphans = this.wb.db
      .prepare(
        `SELECT id, started_at IS NOT NULL AS started FROM runs r
         WHERE status = 'queued' AND host_id IS NOT NULL AND host_id != ?
         AND NOT EXISTS (SELECT 1 FROM host_leases l WHERE l.id = r.host_id AND l.renewed_at + l.ttl_s >= ?)
         ORDER BY id`,
      )
      .all(this.lease.id, Date.now() / 1000) as { id: number; started: number }[];
    const taken: number[] = [];
    for (const { id, started } of orphans) {
      try {
        this.enqueue(id, Boolean(started));
        taken.push(id);
      } catch (err) {
        if (!(err instanceof RefusedError)) throw err;
      }
    }
    return taken;
  }

  /** Cancels a queued run at once, or asks a running one to stop. Returns false if neither. */
  cancel(runId: number): boolean {
    const index = this.waiting.findIndex((w) => w.kind === 'train' && w.runId === runId);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      finishRun(this.wb.db, runId, 'cancelled');
      this.options.onStatus?.(runId, 'cancelled');
      this.settle();
      return true;
    }
    const job = this.active.get(runId);
    job?.cancel();
    return Boolean(job);
  }

  /**
   * Waits for a free slot for a job other than training (it then counts against the limit);
   * the caller starts the job on `slot.gpu` and releases the slot when it ends.
   */
  acquire(bytes = 0): Promise<Slot> {
    if (this.closed) return Promise.reject(new RefusedError('the workbench is shutting down'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ kind: 'job', bytes, resolve, reject });
      this.pump();
    });
  }

  /** Runs `start`'s job in a slot, releasing it when the job ends; resolves to the job. */
  async run(bytes: number, start: (slot: Slot) => RunningJob): Promise<RunningJob> {
    const slot = await this.acquire(bytes);
    let job: RunningJob;
    try {
      job = start(slot);
    } catch (err) {
      slot.release();
      throw err;
    }
    void job.done.finally(() => slot.release());
    return job;
  }

  get runningIds(): number[] {
    return [...this.active.keys()];
  }

  get queuedIds(): number[] {
    return this.waiting.flatMap((w) => (w.kind === 'train' ? [w.runId] : []));
  }

  /** Jobs holding a slot now, training or other. */
  get busySlots(): number {
    return this.held;
  }

  /** Resolves when nothing is running or queued. */
  idle(): Promise<void> {
    if (this.held === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Kills every worker (host shutdown); their runs end failed with the reason. Queued runs stay
   * queued, handed back with a note, for the next host that opens the workbench.
   */
  shutdown(): void {
    this.closed = true;
    const queued = this.queuedIds;
    for (const w of this.waiting.splice(0))
      if (w.kind === 'job') w.reject(new RefusedError('the workbench is shutting down'));
    for (const runId of queued) {
      try {
        addLog(
          this.wb.db,
          runId,
          'info',
          'the workbench closed before this run started; it starts when the workbench opens again',
        );
      } catch {
        // The note is a courtesy; the run's lease lapses either way.
      }
    }
    for (const job of this.active.values()) job.kill();
    this.settle();
  }

  private take(gpuSlot: number, bytes: number): Slot {
    this.held++;
    this.reserved += bytes;
    let released = false;
    return {
      gpu: this.options.gpus ? gpuSlot % this.options.gpus : null,
      release: () => {
        if (released) return;
        released = true;
        this.held--;
        this.reserved -= bytes;
        this.free.push(gpuSlot);
        this.free.sort((a, b) => a - b);
        this.pump();
        this.settle();
      },
    };
  }

  /**
   * Whether a job of `bytes` fits beside the running ones (always, when none runs). Memory is
   * read when the first job starts, and every job's estimate is reserved against it, since jobs
   * started together have not allocated yet when the next one is considered.
   */
  private fits(bytes: number): boolean {
    if (this.held === 0) {
      this.baseline = (this.options.freeMemory ?? os.freemem)();
      return true;
    }
    return this.reserved + bytes <= this.baseline;
  }

  private bytesOf(w: Waiting): number {
    if (w.kind === 'job') return w.bytes;
    const run = getRun(this.wb.db, w.runId);
    try {
      return run ? jobMemoryBytes(JSON.parse(run.config)) : 0;
    } catch {
      return 0;
    }
  }

  private pump(): void {
    while (this.free.length > 0 && this.waiting.length > 0 && !this.closed) {
      const next = this.waiting[0]!;
      const bytes = this.bytesOf(next);
      if (!this.fits(bytes)) break;
      this.waiting.shift();
      const slot = this.take(this.free.shift()!, bytes);
      if (next.kind === 'job') {
        next.resolve(slot);
        continue;
      }
      this.startRun(next.runId, next.resume, slot);
    }
    this.settle();
  }

  private startRun(runId: number, resume: boolean, slot: Slot): void {
    const run = getRun(this.wb.db, runId);
    if (!run) {
      slot.release();
      return;
    }
    let job: RunningJob;
    try {
      job = startTraining(this.wb, this.host, run, resume, {
        backend: this.options.backend,
        gpu: slot.gpu,
        onMessage: (m) => this.options.onMessage?.(runId, m),
      });
    } catch (err) {
      // Another host got there first: the run is its to run and to report.
      if (!(err instanceof RunClaimedError)) {
        finishRun(this.wb.db, runId, 'failed', { message: errorMessage(err) });
        this.options.onStatus?.(runId, 'failed');
      }
      slot.release();
      return;
    }
    this.active.set(runId, job);
    this.options.onStatus?.(runId, 'running');
    void job.done.then((status) => {
      this.active.delete(runId);
      this.options.onStatus?.(runId, status);
      slot.release();
    });
  }

  private settle(): void {
    if (this.held === 0 && this.waiting.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * Jobs at once, by the policy of the rung the engine probe names (core/engine/<rung>.ts): one
 * per GPU; without one, one per core for the single-threaded rungs (wasm, cpu), since each such
 * job keeps exactly one core busy; otherwise one, since libtensorflow spreads a single job over
 * every core already. An engine that cannot be worked out gets one.
 */
export async function defaultConcurrency(
  detect: () => Promise<unknown[] | null>,
  engine: () => Promise<string>,
  cores: number = os.availableParallelism(),
): Promise<number> {
  const gpus = (await detect())?.length ?? 0;
  const backend = await engine().catch(() => 'unknown');
  if (!(BACKENDS as readonly string[]).includes(backend)) return Math.max(1, gpus);
  return rung(backend as BackendName).concurrency({ gpus, cores });
}
