import { getSweep, markSweepCancelled, sweepRunIds } from '../store/sweeps.js';
import { getRun } from '../store/runs.js';
import { ablationCsv, ablationMarkdown } from '../sweep/ablation-export.js';
import { ABLATION_VARIANTS, ablationTable, createAblation } from '../sweep/ablation.js';
import { createSweep } from '../sweep/create.js';
import { sweepDetail, sweepSummaries } from '../sweep/summary.js';
import { NotFoundError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import type { Handlers } from './dispatch.js';

/** Sweeps and the ablation study: create, list, show, cancel, tabulate. */
export function sweepsApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const queued = (created: { sweepId: number; runIds: number[] }, start: boolean) => {
    ctx.emit({ type: 'runs-changed' });
    // Queued together, so that auto threads share the cores among them; a cluster's trials go
    // out as one job array.
    if (start) ctx.scheduler.enqueueAll(created.runIds.map((id) => ({ id })));
    return created;
  };
  const handlers: Pick<
    Handlers,
    'createSweep' | 'listSweeps' | 'getSweep' | 'cancelSweep' | 'createAblation' | 'ablationTable'
  > = {
    createSweep: ({ datasetId, datasetVersion, preset, experiment, name, on, start, ...spec }) =>
      queued(
        createSweep(db, {
          dataset: datasetId,
          version: datasetVersion,
          preset,
          experiment,
          name,
          on,
          spec,
        }),
        start,
      ),

    listSweeps: () => sweepSummaries(db),

    getSweep: ({ id }) => sweepDetail(db, id),

    cancelSweep: ({ id }) => {
      if (!getSweep(db, id)) throw new NotFoundError(`no sweep ${id}`);
      markSweepCancelled(db, id);
      let cancelled = 0;
      for (const runId of sweepRunIds(db, id)) {
        const status = getRun(db, runId)?.status;
        if ((status === 'queued' || status === 'running') && ctx.scheduler.cancel(runId))
          cancelled++;
      }
      ctx.emit({ type: 'runs-changed' });
      return { cancelled };
    },

    createAblation: ({ datasetId, datasetVersion, start, ...request }) =>
      queued(
        createAblation(db, { dataset: datasetId, version: datasetVersion, ...request }),
        start,
      ),

    ablationTable: ({ id }) => {
      const table = ablationTable(db, id);
      const notes = ABLATION_VARIANTS.map((v) => ({
        name: v.name,
        label: v.label,
        note: v.paper.note,
      }));
      return { ...table, notes, csv: ablationCsv(table), markdown: ablationMarkdown(table) };
    },
  };
  return handlers;
}
