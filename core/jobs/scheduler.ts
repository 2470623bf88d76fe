import os from 'node:os';
import { BACKENDS, rung, type BackendChoice, type BackendName } from '../engine/backends.js';
import { hostLease } from '../store/leases.js';
import { addLog, finishRun, getRun, HELD_ELSEWHERE, type RunStatus } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { errorMessage, RefusedError, UserError } from '../util/errors.js';
import type { JobHost, QueueState } from './host.js';
import { RemoteJobs } from './remote-jobs.js';
import { startTraining } from './launch.js';
import { jobMemoryBytes } from './memory.js';
import type { WorkerMessage } from '../schema/messages.js';
import { validateRunConfig, type RunConfig } from '../schema/run-config.js';
import { AUTO_THREADS } from '../train/threads.js';
import { RunClaimedError, type RunningJob } from './run-job.js';

export interface SchedulerOptions {
  /** Jobs at once: one per GPU, or one on a CPU-only machine, unless set. */
  concurrency: number;
  /** GPUs to pin jobs to, one job per GPU: slot i runs on GPU i. 0 or unset: no pinning. */
  gpus?: number;
  /**
   * The slots are CPU cores and the engine trains a job on several of them as data-parallel
   * shards (wasm, cpu): a training job takes one slot per thread. Its threads are engine.threads,
   * or for auto (0) the free cores divided among the jobs ready to start ({@link autoThreads}).
   */
  dataParallel?: boolean;
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
  /**
   * The host of a cluster profile, for runs sent there (`runs.cluster`); without it such runs
   * fail with the reason. Remote hosts take none of this machine's slots.
   */
  hostFor?: (cluster: string) => JobHost;
  /** The remote hosts whose orphaned jobs {@link Scheduler.reattach} takes over. */
  remoteHosts?: () => JobHost[];
  /** A run on a cluster moved in its queue (`PENDING (Resources)`, `RUNNING`). */
  onQueueState?: (runId: number, state: QueueState) => void;
}

/** A slot of the scheduler, held by one job: the GPU it runs on, if any. */
export interface Slot {
  readonly gpu: number | null;
  release(): void;
}

/** What a remote job holds of this machine: nothing. */
const NO_SLOT: Slot = { gpu: null, release: () => {} };

type Waiting =
  | { kind: 'train'; runId: number; resume: boolean; resubmission: boolean }
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
 *
 * Runs sent to a cluster (`runs.cluster`) go to that cluster's remote host at once, without a
 * slot: its own queue decides when they start. They outlive this host: at shutdown they are
 * left running, and {@link reattach} takes over those a stopped host left. An interrupted one
 * (preempted, timed out, node failure) is resubmitted to resume when its host says it may be.
 */
export class Scheduler {
  private readonly waiting: Waiting[] = [];
  private readonly active = new Map<number, RunningJob>();
  /** Remote jobs other than training (evaluations, index builds) this host follows. */
  private readonly remote: RemoteJobs;
  private readonly slots: number;
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
    this.slots = Math.max(1, options.concurrency);
    this.free = Array.from({ length: this.slots }, (_, i) => i);
    this.remote = new RemoteJobs(wb, {
      backend: options.backend,
      remoteHosts: options.remoteHosts,
      onMessage: options.onMessage,
      onQueueState: (runId, state) => this.queueState(runId, state),
      followRun: (runId, job) => this.follow(runId, job),
      follows: (runId) => this.active.has(runId),
      ended: () => this.settle(),
    });
  }

  private get lease() {
    return hostLease(this.wb.db);
  }

  /**
   * Queues a run (a new one, or one to resume) and starts it when a slot is free. Refused when
   * another live host has it running or queued.
   */
  enqueue(runId: number, resume = false, resubmission = false): void {
    try {
      this.queue(runId, resume, resubmission);
    } finally {
      this.pump();
    }
  }

  /**
   * Queues several runs before starting any, so that auto threads share the cores among them
   * (a sweep) instead of giving the first all of them. Refused runs are skipped; the first
   * refusal is thrown once the others are queued.
   */
  enqueueAll(runs: readonly { id: number; resume?: boolean }[]): void {
    let refused: unknown = null;
    for (const { id, resume } of runs) {
      try {
        this.queue(id, resume ?? false);
      } catch (err) {
        refused ??= err;
      }
    }
    this.pump();
    if (refused) throw refused;
  }

  private queue(runId: number, resume: boolean, resubmission = false): void {
    if (this.active.has(runId) || this.queuedIds.includes(runId)) return;
    const host = this.remoteHostOf(runId);
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
    this.options.onStatus?.(runId, 'queued');
    // A cluster's run goes to its queue at once, which decides when it starts.
    if (host) return this.startRun(runId, resume, null, host, resubmission);
    this.waiting.push({ kind: 'train', runId, resume, resubmission });
  }

  /** The remote host a run is sent to, or null when it runs on this machine. */
  private remoteHostOf(runId: number): JobHost | null {
    const cluster = getRun(this.wb.db, runId)?.cluster ?? null;
    if (cluster === null) return null;
    if (!this.options.hostFor)
      throw new RefusedError(
        `run ${runId} is for cluster '${cluster}', which this host cannot reach`,
      );
    return this.options.hostFor(cluster);
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
         AND NOT EXISTS (SELECT 1 FROM cluster_jobs c WHERE c.run_id = r.id AND c.ended_at IS NULL)
         ORDER BY id`,
      )
      .all(this.lease.id, Date.now() / 1000) as { id: number; started: number }[];
    const taken: number[] = [];
    try {
      for (const { id, started } of orphans) {
        try {
          this.queue(id, Boolean(started));
          taken.push(id);
        } catch (err) {
          if (err instanceof RefusedError) continue;
          // Its cluster's profile is gone: said on the run, which the user may send elsewhere.
          if (!(err instanceof UserError)) throw err;
          finishRun(this.wb.db, id, 'failed', { message: errorMessage(err) });
          this.options.onStatus?.(id, 'failed');
        }
      }
    } finally {
      this.pump();
    }
    return taken;
  }

  /**
   * Follows again the remote jobs a stopped host left running (its lease lapsed, or its process
   * is gone), each from where that host stopped reading it. `only` picks runs. Returns the runs
   * taken over.
   */
  reattach(only: (runId: number) => boolean = () => true): number[] {
    return this.closed ? [] : this.remote.reattach(only);
  }

  private queueState(runId: number, state: QueueState): void {
    this.options.onStatus?.(runId, state.status);
    this.options.onQueueState?.(runId, state);
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

  /**
   * Runs `start`'s job on `host`: in a slot of this machine, or at once on a remote host (whose
   * queue decides), which leaves it running at shutdown. Resolves to the job.
   */
  async runOn(
    host: JobHost,
    bytes: number,
    start: (slot: Slot) => RunningJob,
  ): Promise<RunningJob> {
    if (!host.remote) return this.run(bytes, start);
    if (this.closed) throw new RefusedError('the workbench is shutting down');
    const job = start(NO_SLOT);
    this.remote.track(job);
    return job;
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

  /** Resolves when nothing is running or queued (remote jobs included). */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get isIdle(): boolean {
    return (
      this.held === 0 &&
      this.waiting.length === 0 &&
      this.active.size === 0 &&
      this.remote.size === 0
    );
  }

  /**
   * Kills every worker of this machine (host shutdown); their runs end failed with the reason.
   * Queued runs stay queued, handed back with a note, for the next host that opens the
   * workbench; remote jobs go on in their cluster, for the next host to follow.
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
    for (const [runId, job] of this.active) {
      // A cluster's job goes on in its cluster, and the next host takes it over. A sweep's
      // running trials are interrupted, to resume with the sweep when a host opens the
      // workbench again; other runs end failed, killed with the host.
      if (job.remote) job.detach();
      else if (getRun(this.wb.db, runId)?.sweepId != null)
        job.interrupt(
          'the workbench closed while this sweep trial ran; it resumes from its last checkpoint when the workbench opens again',
        );
      else job.kill();
    }
    this.remote.detachAll();
    this.settle();
  }

  private take(slots: number[], bytes: number): Slot {
    this.held++;
    this.reserved += bytes;
    let released = false;
    return {
      gpu: this.options.gpus ? slots[0]! % this.options.gpus : null,
      release: () => {
        if (released) return;
        released = true;
        this.held--;
        this.reserved -= bytes;
        this.free.push(...slots);
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

  /** The stored config of a queued run, or null when it is gone or unreadable (the start fails then). */
  private configOf(runId: number): RunConfig | null {
    const run = getRun(this.wb.db, runId);
    try {
      return run ? validateRunConfig(JSON.parse(run.config)) : null;
    } catch {
      return null;
    }
  }

  /** Slots (threads) the job at the head of the queue takes. */
  private threadsOf(w: Waiting): number {
    if (w.kind === 'job' || !this.options.dataParallel) return 1;
    const setting = this.configOf(w.runId)?.engine.threads ?? AUTO_THREADS;
    if (setting !== AUTO_THREADS) return Math.min(setting, this.slots);
    return autoThreads(this.free.length, this.waiting.length);
  }

  private bytesOf(w: Waiting, threads: number): number {
    if (w.kind === 'job') return w.bytes;
    const config = this.configOf(w.runId);
    return config ? jobMemoryBytes(config, threads) : 0;
  }

  private pump(): void {
    while (this.free.length > 0 && this.waiting.length > 0 && !this.closed) {
      const next = this.waiting[0]!;
      const threads = this.threadsOf(next);
      // A job asking for more threads than are free waits for them, and the queue behind it.
      if (threads > this.free.length) break;
      const bytes = this.bytesOf(next, threads);
      if (!this.fits(bytes)) break;
      this.waiting.shift();
      const slot = this.take(this.free.splice(0, threads), bytes);
      if (next.kind === 'job') {
        next.resolve(slot);
        continue;
      }
      this.startRun(next.runId, next.resume, slot, this.host, next.resubmission, threads);
    }
    this.settle();
  }

  /** Starts a training job: in `slot` on `threads` of this machine's cores, or remotely. */
  private startRun(
    runId: number,
    resume: boolean,
    slot: Slot | null,
    host: JobHost,
    resubmission: boolean,
    threads?: number,
  ): void {
    const run = getRun(this.wb.db, runId);
    if (!run) {
      slot?.release();
      return;
    }
    let job: RunningJob;
    try {
      job = startTraining(this.wb, host, run, resume, {
        backend: this.options.backend,
        gpu: slot?.gpu ?? null,
        resubmission,
        threads,
        onMessage: (m) => this.options.onMessage?.(runId, m),
        onQueueState: (state) => this.queueState(runId, state),
      });
    } catch (err) {
      // Another host got there first: the run is its to run and to report.
      if (!(err instanceof RunClaimedError)) {
        finishRun(this.wb.db, runId, 'failed', { message: errorMessage(err) });
        this.options.onStatus?.(runId, 'failed');
      }
      slot?.release();
      this.settle();
      return;
    }
    this.options.onStatus?.(runId, host.remote ? 'queued' : 'running');
    this.follow(runId, job, slot);
  }

  /** Keeps a training job in the active set until it ends; an interrupted one may go again. */
  private follow(runId: number, job: RunningJob, slot: Slot | null = null): void {
    this.active.set(runId, job);
    void job.done.then((status) => {
      this.active.delete(runId);
      this.options.onStatus?.(runId, status);
      slot?.release();
      if (status === 'interrupted' && job.resubmit && !this.closed) {
        try {
          this.enqueue(runId, true, true);
        } catch (err) {
          addLog(this.wb.db, runId, 'error', `could not resubmit: ${errorMessage(err)}`);
        }
      }
      this.settle();
    });
  }

  private settle(): void {
    if (this.isIdle) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * The threads of an auto training job when `free` cores are free and `ready` jobs wait (this
 * one included): the free cores split evenly among as many of them as can start, so a job alone
 * gets every core and a sweep runs one single-threaded job per core. Two jobs on one thread each
 * train more images per second in all than two jobs one after the other on two threads each
 * (README, Performance: `npm run bench -- --only concurrency`), so waiting jobs are given cores
 * of their own rather than a share of a bigger job's.
 */
export function autoThreads(free: number, ready: number): number {
  return Math.max(1, Math.floor(free / Math.max(1, Math.min(ready, free))));
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

/**
 * Whether the scheduler's slots are cores that a training job takes one per thread: without GPUs,
 * on a rung that runs a job's threads as data-parallel shards (wasm, cpu).
 */
export async function dataParallelSlots(
  gpus: number,
  engine: () => Promise<string>,
): Promise<boolean> {
  if (gpus > 0) return false;
  const backend = await engine().catch(() => 'unknown');
  return (BACKENDS as readonly string[]).includes(backend)
    ? rung(backend as BackendName).dataParallel === true
    : false;
}
