import type { JobSpec, WorkerMessage } from '../schema/messages.js';
import type { Db } from '../store/db.js';
import { upsertIndex } from '../store/indexes.js';
import {
  addLog,
  insertEvaluation,
  insertMetrics,
  setParam,
  upsertCheckpoint,
} from '../store/runs.js';

/** Writes what one worker message says about its job's run; call inside a transaction. */
export function recordMessage(db: Db, job: JobSpec, message: WorkerMessage): void {
  const runId = job.runId;
  switch (message.type) {
    case 'started':
      if (job.kind === 'train') {
        db.prepare(
          'UPDATE runs SET backend = ?, engine_package = ?, engine_version = ?, device = ?, worker_pid = ? WHERE id = ?',
        ).run(
          message.engine.backend,
          message.engine.package,
          message.engine.version,
          message.engine.detail,
          message.pid,
          runId,
        );
        // The thread count auto (0) came to, where the engine trains on threads it was given.
        if (message.threads) setParam(db, runId, 'engine.threads', message.threads);
      }
      addLog(
        db,
        runId,
        'info',
        `engine: ${message.engine.backend} (${message.engine.package} ${message.engine.version}, ${message.engine.detail})`,
      );
      if (message.engine.adapter) {
        const a = message.engine.adapter;
        addLog(
          db,
          runId,
          'info',
          `adapter: ${a.description} (vendor ${a.vendor}, architecture ${a.architecture}${a.software ? ', software' : ''})`,
        );
      }
      for (const s of message.skipped)
        addLog(db, runId, 'info', `skipped ${s.backend}: ${s.reason}`);
      return;
    case 'metrics':
      insertMetrics(db, runId, message.metrics);
      return;
    case 'evaluation':
      insertEvaluation(db, runId, message);
      return;
    case 'checkpoint':
      upsertCheckpoint(db, runId, message);
      return;
    case 'epoch':
      db.prepare('UPDATE runs SET epochs_done = ? WHERE id = ?').run(message.epochsDone, runId);
      return;
    case 'log':
      addLog(db, runId, message.level, message.message);
      return;
    case 'error':
      addLog(db, runId, 'error', message.error.message);
      return;
    case 'index':
      if (job.kind === 'features') {
        const { checkpointEpoch, checkpointSha256, split, count, dims, path, idsPath } = message;
        upsertIndex(db, {
          runId,
          checkpoint: job.checkpoint,
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
    case 'analysis-progress':
    case 'analysis':
    case 'done':
      return;
  }
}
