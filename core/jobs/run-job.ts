import { transaction, type Db } from '../store/db.js';
import {
  addLog,
  discardAfterEpoch,
  finishRun,
  getRun,
  markRunning,
  markStarted,
  type RunStatus,
} from '../store/runs.js';
import type { BackendChoice } from '../engine/backends.js';
import type { JobHost, JobProcess, QueueState } from './host.js';
import { hostLease } from '../store/leases.js';
import { endActiveJob, startActiveJob } from '../store/active-jobs.js';
import { errorMessage, RefusedError } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import { workerMessageSchema, type JobSpec, type WorkerMessage } from '../schema/messages.js';
import { recordMessage } from './record-message.js';
import { judgeEpoch } from '../sweep/early-stop.js';

const describe = (err: unknown) => storageError(err)?.message ?? errorMessage(err);

/** SQLite gave up waiting for another connection's write lock (past the busy timeout). */
export const isBusy = (err: unknown) =>
  /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown } | null)?.code ?? ''));

export interface JobOptions {
  backend: BackendChoice;
  /** Every valid message, after it has been written to the database. */
  onMessage?: (message: WorkerMessage) => void;
  /** The GPU the scheduler gave the job: the worker sees only it (`CUDA_VISIBLE_DEVICES`). */
  gpu?: number | null;
  /** A remote job moved in its cluster's queue, after the run's status was written. */
  onQueueState?: (state: QueueState) => void;
  /** The run is resubmitted after an interruption (its host counts these). */
  resubmission?: boolean;
  /**
   * Threads for a training job (the scheduler's share of the cores); without it, engine.threads,
   * or for 'auto' the cores divided among the jobs running on this machine.
   */
  threads?: number;
}

/** How long a worker has to stop by itself after a cancel before it is killed. */
export const CANCEL_GRACE_MS = 10_000;

/** How long a write that found the database busy waits before it is tried again. */
export const WRITE_RETRY_MS = 1_000;

/** Another host has claimed the run (it is running, or queued there). */
export class RunClaimedError extends RefusedError {}

interface Write {
  op: () => void;
  done?: () => void;
  failed: (err: unknown) => void;
}

/**
 * A job in a worker process, whose reports this host writes to the database as they arrive.
 * A write that finds the database busy (another host's long write) waits in order and is
 * retried; the worker keeps running. A remote job (a cluster's) may also be taken over by a
 * host after the one that started it stopped ({@link RunningJob.attach}).
 */
export class RunningJob {
  readonly done: Promise<RunStatus>;
  /** Its worker runs elsewhere and outlives this host (see JobHost.remote). */
  readonly remote: boolean;
  /** Set when `done` resolves to 'interrupted': the host may resubmit the run to resume. */
  resubmit = false;
  private readonly process: JobProcess;
  private cancelRequested = false;
  private readonly writes: Write[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private busySince: number | null = null;
  private detachNow: () => void = () => {};

  /** Follows a remote job that a host which has stopped left running (already claimed). */
  static attach(
    db: Db,
    host: JobHost,
    job: JobSpec,
    process: JobProcess,
    options: JobOptions,
  ): RunningJob {
    return new RunningJob(db, host, job, options, process);
  }
  /** Set when the run's sweep stops it (ASHA): the epoch it stops at, and why. */
  private pruned: { epoch: number; reason: string } | null = null;
  /** Set when the host stops the job to close, meaning to resume it when it opens again. */
  private interruption: string | null = null;

  constructor(
    private readonly db: Db,
    host: JobHost,
    readonly job: JobSpec,
    private readonly options: JobOptions,
    attached?: JobProcess,
  ) {
    const trains = job.kind === 'train';
    const gpu = options.gpu ?? null;
    this.remote = Boolean(host.remote);
    const lease = hostLease(db);
    const unhold = lease.hold();
    // Claimed before any process starts, so that of two hosts only one ever runs it.
    const claim = { hostId: lease.id, hostPid: process.pid, workerPid: null, gpu };
    if (trains && !attached && !markRunning(db, job.runId, { ...claim, queued: this.remote })) {
      unhold();
      throw new RunClaimedError(
        `run ${job.runId} is already running or queued in another workbench process`,
      );
    }
    const activeId = startActiveJob(db, lease.id, job.kind, job.runId);
    try {
      const start = {
        ...(gpu === null ? {} : { env: { CUDA_VISIBLE_DEVICES: String(gpu) } }),
        ...(options.resubmission ? { resubmission: true } : {}),
      };
      this.process = attached ?? host.start(Object.keys(start).length ? start : undefined);
    } catch (err) {
      endActiveJob(db, activeId);
      if (trains)
        finishRun(db, job.runId, 'failed', {
          message: `the worker could not start: ${errorMessage(err)}`,
        });
      unhold();
      throw err;
    }
    if (trains && !attached)
      db.prepare('UPDATE runs SET worker_pid = ? WHERE id = ?').run(
        this.process.pid ?? null,
        job.runId,
      );
    if (gpu !== null)
      addLog(db, job.runId, 'info', `${job.kind} job on GPU ${gpu} (CUDA_VISIBLE_DEVICES=${gpu})`);
    let finished: RunStatus | null = null;
    let failure: { message: string; stack?: string } | null = null;
    let ended = false;
    this.done = new Promise<RunStatus>((resolve) => {
      this.process.onMessage((raw, receipt) => {
        if (ended) return;
        const parsed = workerMessageSchema.safeParse(raw);
        if (!parsed.success) {
          this.write(
            () => {
              addLog(
                db,
                job.runId,
                'warn',
                `ignored a malformed message from the worker: ${parsed.error.issues[0]?.message}`,
              );
              receipt?.();
            },
            () => {},
          );
          return;
        }
        const message = parsed.data;
        if (message.type === 'done') finished = message.status;
        if (message.type === 'error') failure = message.error;
        // One transaction per message: whatever the worker reported is committed before it can die.
        let verdict: { prune: string } | null = null;
        this.write(
          () => {
            recordMessage(db, job, message);
            // Once pruned, the epochs a run finishes while it stops are not judged again.
            if (message.type === 'epoch' && job.kind === 'train' && !this.pruned)
              verdict = judgeEpoch(db, job.runId, message.epochsDone);
            receipt?.();
          },
          (err) => {
            // The database refused the write (a full disk, say): stop the job rather than train
            // on unrecorded; the transaction rolled back, so what was stored before stays whole.
            failure = { message: `the host could not store the job's progress: ${describe(err)}` };
            this.process.kill();
          },
          () => {
            options.onMessage?.(message);
            if (verdict && message.type === 'epoch') this.prune(message.epochsDone, verdict.prune);
          },
        );
      });
      this.process.onQueueState?.((state) => {
        if (!trains || ended) return;
        this.write(
          () => void markStarted(db, job.runId, state),
          () => {},
          () => options.onQueueState?.(state),
        );
      });
      this.detachNow = () => {
        if (ended) return;
        ended = true;
        clearTimeout(this.killTimer);
        this.process.detach?.();
        this.write(
          () => endActiveJob(db, activeId),
          () => {},
          () => {
            unhold();
            resolve(getRun(db, job.runId)?.status ?? 'running');
          },
        );
      };
      this.process.onExit((_code, reason, outcome, receipt) => {
        if (ended) return;
        ended = true;
        clearTimeout(this.killTimer);
        let status: RunStatus;
        const stopped = finished === 'cancelled' || (!finished && this.cancelRequested);
        if (finished === 'completed') status = 'completed';
        else if (this.pruned && stopped && !failure) status = 'pruned';
        else if (outcome?.status === 'interrupted') {
          status = 'interrupted';
          failure = { message: outcome.message };
          this.resubmit = Boolean(outcome.resubmit) && trains;
        } else if (this.interruption && !finished) status = 'interrupted';
        else if (finished) status = finished;
        else if (this.cancelRequested || outcome?.status === 'cancelled') status = 'cancelled';
        else {
          status = 'failed';
          failure ??= {
            message: outcome?.message ?? `the training process ${reason} before finishing`,
          };
        }
        const settle = () => {
          unhold();
          resolve(!trains && (failure || status === 'interrupted') ? 'failed' : status);
        };
        this.write(
          () => {
            endActiveJob(db, activeId);
            if (trains && status === 'pruned' && this.pruned) {
              // The run ends at the rung's epoch: the steps the worker took past it are dropped.
              discardAfterEpoch(db, job.runId, this.pruned.epoch);
              finishRun(db, job.runId, status, { message: this.pruned.reason });
            } else if (trains && status === 'interrupted' && this.interruption !== null)
              finishRun(db, job.runId, status, { message: this.interruption });
            else if (trains)
              finishRun(
                db,
                job.runId,
                status,
                status === 'failed' || status === 'interrupted'
                  ? (failure ?? undefined)
                  : undefined,
              );
            else if (failure)
              addLog(
                db,
                job.runId,
                'error',
                `${job.kind} failed: ${(failure as { message: string }).message}`,
              );
            // The run's error is cleared when it is resubmitted: the log keeps why it stopped.
            if (outcome?.status === 'interrupted') addLog(db, job.runId, 'warn', outcome.message);
            if (status === 'cancelled' && outcome?.status === 'cancelled')
              addLog(db, job.runId, 'info', outcome.message);
            receipt?.();
          },
          (err) => {
            // Left 'running', the run is marked interrupted once this host's lease lapses.
            process.stderr.write(
              `svw: could not record how run ${job.runId} ended: ${describe(err)}\n`,
            );
            settle();
          },
          settle,
        );
      });
    });
    if (!attached) this.process.send({ type: 'start', job, backend: options.backend });
  }

  /** Queues a write (in a transaction of its own) behind any that wait for a busy database. */
  private write(op: () => void, failed: (err: unknown) => void, done?: () => void): void {
    this.writes.push({ op, failed, done });
    this.flush();
  }

  private flush(): void {
    if (this.retryTimer) return;
    while (this.writes.length > 0) {
      const next = this.writes[0]!;
      try {
        transaction(this.db, next.op);
      } catch (err) {
        if (isBusy(err)) {
          if (this.busySince === null) {
            this.busySince = Date.now();
            process.stderr.write(
              `svw: the database is busy with another process's write; run ${this.job.runId}'s progress waits and is written when it is free\n`,
            );
          }
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.flush();
          }, RunningJob.retryMs);
          return;
        }
        this.writes.shift();
        next.failed(err);
        continue;
      }
      this.busySince = null;
      this.writes.shift();
      next.done?.();
    }
  }

  /** Writes waiting for the database (0 unless it was busy). */
  get pendingWrites(): number {
    return this.writes.length;
  }

  static retryMs = WRITE_RETRY_MS;

  private killTimer: NodeJS.Timeout | undefined;

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Asks the worker to stop after its current step; kills it if it has not within the grace time. */
  cancel(graceMs = CANCEL_GRACE_MS): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    this.process.send({ type: 'cancel' });
    this.killTimer = setTimeout(() => this.process.kill(), graceMs);
  }

  /**
   * Stops the run because its sweep pruned it at the end of `epoch`: the worker stops as on a
   * cancel (after its current step), and the run ends `pruned` with the reason.
   */
  prune(epoch: number, reason: string): void {
    if (this.pruned || this.cancelRequested) return;
    this.pruned = { epoch, reason };
    this.cancel();
  }

  /** Kills the worker at once (host shutdown). */
  kill(): void {
    this.process.kill();
  }

  /**
   * Stops following a remote job without ending it (host shutdown): it goes on in its cluster
   * and the next host takes it over. `done` resolves with the run's status as it stands.
   */
  detach(): void {
    this.detachNow();
  }

  /**
   * Kills the worker at once, ending the run `interrupted` (resumable from its last checkpoint)
   * rather than failed: the host closes, and means to carry on with it when it opens again.
   */
  interrupt(reason: string): void {
    this.interruption = reason;
    this.process.kill();
  }
}
