import { demoAvailable, DEMO_DATASET, prepareDemo } from '../jobs/demo.js';
import { requireRun } from '../jobs/launch.js';
import { findDataset } from '../store/datasets.js';
import { deleteRuns, extendEpochs } from '../store/manage.js';
import { addNote, setTag, type RunRow } from '../store/runs.js';
import { exportCheckpoint } from '../train/export.js';
import { NotFoundError, RefusedError, UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import type { Handlers } from './dispatch.js';

/** The methods that change runs: start, cancel, resume, delete, tag, note, export, demo. */
export function runActionsApi(ctx: ServiceContext, imports: Set<string>) {
  const { db } = ctx.wb;
  const { scheduler } = ctx;
  /** Refuses a run this host (or another sharing the home) is running or has queued. */
  const requireIdle = (run: RunRow) => {
    if (run.status === 'running' || scheduler.runningIds.includes(run.id))
      throw new RefusedError(`run ${run.id} is already running`);
    if (scheduler.queuedIds.includes(run.id))
      throw new RefusedError(`run ${run.id} is already queued`);
  };
  let demo: Promise<unknown> = Promise.resolve();

  const handlers: Pick<
    Handlers,
    | 'startRun'
    | 'cancelRun'
    | 'resumeRun'
    | 'deleteRun'
    | 'tagRun'
    | 'noteRun'
    | 'exportRun'
    | 'startDemo'
  > = {
    startRun: ({ id }) => {
      const run = requireRun(ctx.wb, id);
      requireIdle(run);
      if (run.status !== 'queued')
        throw new RefusedError(
          `run ${id} is ${run.status}; resume it to continue from its last checkpoint`,
        );
      scheduler.enqueue(id);
      return { ok: true };
    },

    cancelRun: ({ id }) => {
      const run = requireRun(ctx.wb, id);
      if (scheduler.cancel(id)) return { ok: true };
      throw new RefusedError(
        run.status === 'running'
          ? `run ${id} is running in another workbench process; stop it there`
          : `run ${id} is not running`,
      );
    },

    resumeRun: ({ id, epochs }) => {
      const run = requireRun(ctx.wb, id);
      requireIdle(run);
      if (epochs !== undefined) extendEpochs(ctx.wb, run, epochs);
      const total = epochs ?? run.epochsTotal;
      if (run.status === 'completed' && run.epochsDone >= total)
        throw new RefusedError(
          `run ${id} has done all its ${total} epochs; resume it with more epochs`,
        );
      scheduler.enqueue(id, true);
      return { ok: true };
    },

    deleteRun: ({ id }) => {
      const run = requireRun(ctx.wb, id);
      // A run waiting in this host's queue is taken out first; a running one is refused.
      if (scheduler.queuedIds.includes(id)) scheduler.cancel(id);
      deleteRuns(ctx.wb, [requireRun(ctx.wb, run.id)]);
      ctx.progress.drop(id);
      ctx.emit({ type: 'runs-changed' });
      return { ok: true };
    },

    tagRun: ({ id, key, value }) => {
      requireRun(ctx.wb, id);
      setTag(db, id, key, value);
      return { ok: true };
    },

    noteRun: ({ id, text }) => {
      requireRun(ctx.wb, id);
      if (!text.trim()) throw new UserError('the note is empty');
      addNote(db, id, text.trim());
      return { ok: true };
    },

    exportRun: ({ id, ...request }) => {
      const { out, checkpoint, files, bytes } = exportCheckpoint(
        ctx.wb,
        requireRun(ctx.wb, id),
        request,
      );
      return { out, checkpoint, files, bytes };
    },

    startDemo: ({ epochs }) => {
      if (!demoAvailable()) throw new NotFoundError('the bundled demo dataset is not installed');
      // One demo set-up at a time, so two clicks cannot import the sample twice.
      const next = demo.then(async () => {
        if (imports.has(DEMO_DATASET))
          throw new RefusedError(`the dataset '${DEMO_DATASET}' is being imported`);
        const isNew = !findDataset(db, DEMO_DATASET);
        imports.add(DEMO_DATASET);
        try {
          const ids = await prepareDemo(ctx.wb, { epochs });
          if (isNew) ctx.emit({ type: 'datasets-changed' });
          ctx.emit({ type: 'runs-changed' });
          scheduler.enqueue(ids.runId);
          return ids;
        } finally {
          imports.delete(DEMO_DATASET);
        }
      });
      demo = next.catch(() => undefined);
      return ctx.track(next);
    },
  };
  return handlers;
}
