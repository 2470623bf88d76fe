import { transaction, type Db } from '../store/db.js';
import {
  addLog,
  finishRun,
  insertEvaluation,
  insertMetrics,
  markRunning,
  upsertCheckpoint,
  type RunStatus,
} from '../store/runs.js';
import type { BackendChoice } from '../engine/backends.js';
import { upsertIndex } from '../store/indexes.js';
import type { JobHost, JobProcess } from './host.js';
import { errorMessage } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import { workerMessageSchema, type JobSpec, type WorkerMessage } from '../schema/messages.js';

const describe = (err: unknown) => storageError(err)?.message ?? errorMessage(err);

export interface JobOptions {
  backend: BackendChoice;
  /** Every valid message, after it has been written to the database. */
  onMessage?: (message: WorkerMessage) => void;
}

/** How long a worker has to stop by itself after a cancel before it is killed. */
export const CANCEL_GRACE_MS = 10_000;

/** A job in a worker process, whose reports this host writes to the database as they arrive. */
export class RunningJob {
  readonly done: Promise<RunStatus>;
  private readonly process: JobProcess;
  private cancelRequested = false;

  constructor(
    private readonly db: Db,
    host: JobHost,
    readonly job: JobSpec,
    private readonly options: JobOptions,
  ) {
    this.process = host.start();
    const trains = job.kind === 'train';
    if (trains) markRunning(db, job.runId, process.pid, this.process.pid ?? null);
    let finished: RunStatus | null = null;
    let failure: { message: string; stack?: string } | null = null;
    this.done = new Promise<RunStatus>((resolve) => {
      this.process.onMessage((raw) => {
        const parsed = workerMessageSchema.safeParse(raw);
        if (!parsed.success) {
          addLog(
            db,
            job.runId,
            'warn',
            `ignored a malformed message from the worker: ${parsed.error.issues[0]?.message}`,
          );
          return;
        }
        const message = parsed.data;
        if (message.type === 'done') finished = message.status;
        if (message.type === 'error') failure = message.error;
        try {
          // One transaction per message: whatever the worker reported is committed before it can die.
          transaction(db, () => this.record(message));
        } catch (err) {
          // The database refused the write (a full disk, say): stop the job rather than train on
          // unrecorded; the transaction rolled back, so what was stored before stays whole.
          failure = { message: `the host could not store the job's progress: ${describe(err)}` };
          this.process.kill();
          return;
        }
        options.onMessage?.(message);
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
        try {
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
        } catch (err) {
          // Left 'running', the run is marked interrupted when the workbench next opens.
          process.stderr.write(
            `svw: could not record how run ${job.runId} ended: ${describe(err)}\n`,
          );
        }
        resolve(failure && !trains ? 'failed' : status);
      });
    });
    this.process.send({ type: 'start', job, backend: options.backend });
  }

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
      case 'started':
        if (this.job.kind === 'train') {
          this.db
            .prepare(
              'UPDATE runs SET backend = ?, engine_package = ?, engine_version = ?, device = ?, worker_pid = ? WHERE id = ?',
            )
            .run(
              message.engine.backend,
              message.engine.package,
              message.engine.version,
              message.engine.detail,
              message.pid,
              runId,
            );
        }
        addLog(
          this.db,
          runId,
          'info',
          `engine: ${message.engine.backend} (${message.engine.package} ${message.engine.version}, ${message.engine.detail})`,
        );
        for (const s of message.skipped)
          addLog(this.db, runId, 'info', `skipped ${s.backend}: ${s.reason}`);
        return;
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
          const { checkpointEpoch, split, count, dims, path, idsPath } = message;
          upsertIndex(this.db, {
            runId,
            checkpoint: this.job.checkpoint,
            checkpointEpoch,
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
