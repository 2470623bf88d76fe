import { transaction, type Db } from '../store/db.js';
import {
  addLog,
  finishRun,
  insertEvaluation,
  insertMetrics,
  markRunning,
  setParam,
  upsertCheckpoint,
  type RunStatus,
} from '../store/runs.js';
import type { BackendChoice } from '../engine/backends.js';
import { upsertIndex } from '../store/indexes.js';
import type { JobHost, JobProcess } from './host.js';
import { hostLease } from '../store/leases.js';
import { endActiveJob, startActiveJob } from '../store/active-jobs.js';
import { errorMessage, RefusedError } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import { workerMessageSchema, type JobSpec, type WorkerMessage } from '../schema/messages.js';

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
 * retried; the worker keeps running.
 */
export class RunningJob {
  readonly done: Promise<RunStatus>;
  private readonly process: JobProcess;
  private cancelRequested = false;
  private readonly writes: Write[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private busySince: number | null = null;

  constructor(
    private readonly db: Db,
    host: JobHost,
    readonly job: JobSpec,
    private readonly options: JobOptions,
  ) {
    const trains = job.kind === 'train';
    const gpu = options.gpu ?? null;
    const lease = hostLease(db);
    const unhold = lease.hold();
    // Claimed before any process starts, so that of two hosts only one ever runs it.
    if (
      trains &&
      !markRunning(db, job.runId, { hostId: lease.id, hostPid: process.pid, workerPid: null, gpu })
    ) {
      unhold();
      throw new RunClaimedError(
        `run ${job.runId} is already running or queued in another workbench process`,
      );
    }
    const activeId = startActiveJob(db, lease.id, job.kind, job.runId);
    try {
      this.process = host.start(
        gpu === null ? undefined : { env: { CUDA_VISIBLE_DEVICES: String(gpu) } },
      );
    } catch (err) {
      endActiveJob(db, activeId);
      if (trains)
        finishRun(db, job.runId, 'failed', {
          message: `the worker could not start: ${errorMessage(err)}`,
        });
      unhold();
      throw err;
    }
    if (trains)
      db.prepare('UPDATE runs SET worker_pid = ? WHERE id = ?').run(
        this.process.pid ?? null,
        job.runId,
      );
    if (gpu !== null)
      addLog(db, job.runId, 'info', `${job.kind} job on GPU ${gpu} (CUDA_VISIBLE_DEVICES=${gpu})`);
    let finished: RunStatus | null = null;
    let failure: { message: string; stack?: string } | null = null;
    this.done = new Promise<RunStatus>((resolve) => {
      this.process.onMessage((raw) => {
        const parsed = workerMessageSchema.safeParse(raw);
        if (!parsed.success) {
          this.write(
            () =>
              addLog(
                db,
                job.runId,
                'warn',
                `ignored a malformed message from the worker: ${parsed.error.issues[0]?.message}`,
              ),
            () => {},
          );
          return;
        }
        const message = parsed.data;
        if (message.type === 'done') finished = message.status;
        if (message.type === 'error') failure = message.error;
        // One transaction per message: whatever the worker reported is committed before it can die.
        this.write(
          () => this.record(message),
          (err) => {
            // The database refused the write (a full disk, say): stop the job rather than train
            // on unrecorded; the transaction rolled back, so what was stored before stays whole.
            failure = { message: `the host could not store the job's progress: ${describe(err)}` };
            this.process.kill();
          },
          () => options.onMessage?.(message),
        );
      });
      this.process.onExit((_code, reason) => {
        clearTimeout(this.killTimer);
        let status: RunStatus;
        if (finished) status = finished;
        else if (this.cancelRequested) status = 'cancelled';
        else {
          status = 'failed';
          failure ??= { message: `the training process ${reason} before finishing` };
        }
        const settle = () => {
          unhold();
          resolve(failure && !trains ? 'failed' : status);
        };
        this.write(
          () => {
            endActiveJob(db, activeId);
            if (trains)
              finishRun(
                db,
                job.runId,
                status,
                status === 'failed' ? (failure ?? undefined) : undefined,
              );
            else if (failure)
              addLog(
                db,
                job.runId,
                'error',
                `${job.kind} failed: ${(failure as { message: string }).message}`,
              );
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
    this.process.send({ type: 'start', job, backend: options.backend });
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

  /** Kills the worker at once (host shutdown). */
  kill(): void {
    this.process.kill();
  }

  private record(message: WorkerMessage): void {
    const runId = this.job.runId;
    switch (message.type) {
      case 'started': {
        const device = message.engine.detail;
        if (this.job.kind === 'train') {
          this.db
            .prepare(
              'UPDATE runs SET backend = ?, engine_package = ?, engine_version = ?, device = ?, worker_pid = ? WHERE id = ?',
            )
            .run(
              message.engine.backend,
              message.engine.package,
              message.engine.version,
              device,
              message.pid,
              runId,
            );
          // The thread count auto (0) came to, where the engine trains on threads it was given.
          if (message.threads) setParam(this.db, runId, 'engine.threads', message.threads);
        }
        addLog(
          this.db,
          runId,
          'info',
          `engine: ${message.engine.backend} (${message.engine.package} ${message.engine.version}, ${device})`,
        );
        if (message.engine.adapter) {
          const a = message.engine.adapter;
          addLog(
            this.db,
            runId,
            'info',
            `adapter: ${a.description} (vendor ${a.vendor}, architecture ${a.architecture}${a.software ? ', software' : ''})`,
          );
        }
        for (const s of message.skipped)
          addLog(this.db, runId, 'info', `skipped ${s.backend}: ${s.reason}`);
        return;
      }
      case 'metrics':
        insertMetrics(this.db, runId, message.metrics);
        return;
      case 'evaluation':
        insertEvaluation(this.db, runId, message);
        return;
      case 'checkpoint':
        upsertCheckpoint(this.db, runId, message);
        return;
      case 'epoch':
        this.db
          .prepare('UPDATE runs SET epochs_done = ? WHERE id = ?')
          .run(message.epochsDone, runId);
        return;
      case 'log':
        addLog(this.db, runId, message.level, message.message);
        return;
      case 'error':
        addLog(this.db, runId, 'error', message.error.message);
        return;
      case 'index':
        if (this.job.kind === 'features') {
          const { checkpointEpoch, checkpointSha256, split, count, dims, path, idsPath } = message;
          upsertIndex(this.db, {
            runId,
            checkpoint: this.job.checkpoint,
            checkpointEpoch,
            checkpointSha256,
            split,
            count,
            dims,
            dtype: 'float32',
            path,
            idsPath,
          });
        }
        return;
      case 'progress':
      case 'embedding':
      case 'done':
        return;
    }
  }
}
