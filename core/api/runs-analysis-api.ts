import { runImportanceOffThread } from '../analysis/run-importance.js';
import { combineFilters } from '../filter/format.js';
import { FilterSyntaxError } from '../filter/parse.js';
import { filteredRunIds } from '../store/run-list.js';
import { fieldCatalog, runColumns } from '../store/run-values.js';
import { UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import { MAX_COLUMN_RUNS } from './contract.js';
import type { Handlers } from './dispatch.js';

/** The methods that read many runs together: parallel coordinates, brushes and importance. */
export function runsAnalysisApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const handlers: Pick<Handlers, 'runFields' | 'runColumns' | 'brushFilter' | 'paramImportance'> = {
    runFields: (input) => {
      const { ids, total } = filteredRunIds(db, input);
      // Without a filter or ids every run counts, which the catalogue reads without a join.
      const all = input.filter === undefined && input.ids === undefined;
      return { ...fieldCatalog(db, all ? undefined : ids), total };
    },

    runColumns: ({ fields, limit, ...set }) => {
      const { ids, total } = filteredRunIds(db, { ...set, limit: limit ?? MAX_COLUMN_RUNS });
      return { ids, total, columns: runColumns(db, ids, fields) };
    },

    brushFilter: ({ base, selections }) => {
      let filter: string;
      try {
        filter = combineFilters(base ?? '', selections);
      } catch (err) {
        if (err instanceof FilterSyntaxError) throw new UserError(`bad --filter:\n${err.message}`);
        throw new UserError((err as Error).message);
      }
      return { filter, count: filteredRunIds(db, { filter }).total };
    },

    paramImportance: (input) => ctx.track(runImportanceOffThread(db, input)),
  };
  return handlers;
}
