import { createVersion, datasetVersions, versionDiff } from '../store/dataset-versions.js';
import { getRun } from '../store/runs.js';
import { NotFoundError, UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import { requireDataset } from './datasets-api.js';
import type { Handlers } from './dispatch.js';

/** The most changed images a diff returns. */
const MAX_DIFF = 5000;

/** Dataset versions: listing them, what one changes, and making one from a review's actions. */
export function datasetVersionsApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const handlers: Pick<
    Handlers,
    'datasetVersions' | 'datasetVersionDiff' | 'createDatasetVersion'
  > = {
    datasetVersions: ({ id }) => {
      requireDataset(db, id);
      return datasetVersions(db, id);
    },

    datasetVersionDiff: ({ id, version }) => {
      requireDataset(db, id);
      return versionDiff(db, id, version).slice(0, MAX_DIFF);
    },

    createDatasetVersion: ({ id, parent, changes, note, sourceRunId }) => {
      requireDataset(db, id);
      if (sourceRunId !== undefined) {
        const run = getRun(db, sourceRunId);
        if (!run) throw new NotFoundError(`no run ${sourceRunId}`);
        if (run.datasetId !== id) throw new UserError(`run ${sourceRunId} is not on dataset ${id}`);
      }
      const version = createVersion(db, id, { parent, changes, note, sourceRunId });
      ctx.emit({ type: 'datasets-changed' });
      return { version };
    },
  };
  return handlers;
}
