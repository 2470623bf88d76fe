import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedExperiments } from '../../bench/seed-experiments.js';
import { listRuns } from '../../core/store/run-list.js';
import { indexedPage } from '../../core/store/run-page.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { tempDir } from '../helpers/cli.js';

const home = tempDir('svw-page-');
let wb: Workbench;

beforeAll(() => {
  wb = openWorkbench(home.dir);
  seedExperiments(wb.db, 400);
  // Curves that rose and fell: each run's min below its latest value and its max above, by its own margins.
  wb.db
    .prepare(
      `UPDATE latest_metrics SET min_value = value - (run_id % 7) * 0.03, max_value = value + (run_id % 5) * 0.04
       WHERE key IN ('val_top1_error', 'val_top5_error')`,
    )
    .run();
  // Runs the sort keys miss, and a param that is text in some runs and a number in others.
  const ids = seedExperiments(wb.db, 30, { experiment: 'other', seed: 'other' });
  wb.db.prepare(`DELETE FROM latest_metrics WHERE run_id IN (${ids.slice(0, 10).join(',')})`).run();
  wb.db
    .prepare(
      `DELETE FROM params WHERE key = 'optim.lr' AND run_id IN (${ids.slice(10, 15).join(',')})`,
    )
    .run();
  wb.db
    .prepare(
      `UPDATE params SET value = 'auto', num = NULL WHERE key = 'optim.lr' AND run_id IN (${ids.slice(15, 20).join(',')})`,
    )
    .run();
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

describe('a sorted page of the runs list', () => {
  // The page walks the sort key's index; it must be exactly the head of the full sorted list.
  const sorts = [
    'metrics.val_top1_error',
    '-metrics.val_top1_error',
    'metrics.val_top1_error.min',
    '-metrics.val_top1_error.min',
    'metrics.val_top1_error.max',
    '-metrics.val_top1_error.max',
    '-metrics.val_top5_error.max',
    'params.optim.lr',
    '-params.optim.lr',
    'params.model.lrn.mode',
  ];
  const filters = [
    '',
    'params.optim.lr > 0.001 and metrics.val_top1_error < 0.5',
    'metrics.val_top1_error >= 0.4 and metrics.val_top1_error <= 0.45',
    // Terms on one statistic of the sort's metric bound the others (min ≤ latest ≤ max).
    'metrics.val_top1_error.min > 0.3 and metrics.val_top1_error.max <= 0.7',
    'metrics.val_top1_error > 0.35 and params.optim.lr > 0.001',
    'metrics.val_top1_error.max < 0.5 or metrics.val_top1_error.min > 0.6',
    'params.optim.lr < 0.01 or experiment = other',
    // A param range narrows the walk past its first entries.
    'params.optim.lr > 0.003 and params.optim.lr < 0.03',
    'params.batchSize = 64 and params.model.dropout < 0.3 and metrics.val_top1_error > 0.4',
    'experiment = other',
  ];
  it.each(sorts)('sorted by %s is the head of the full sort, with every filter', (sort) => {
    for (const filter of filters) {
      for (const limit of [1, 25, 500]) {
        const full = ids(listRuns(wb.db, { filter, sort })).slice(0, limit);
        expect(ids(listRuns(wb.db, { filter, sort, limit })), `${filter} / ${limit}`).toEqual(full);
      }
    }
  });

  it.each(sorts)(
    'sorted by %s, narrowed by the filter’s param range past the first entries, is the same head',
    (sort) => {
      for (const filter of filters)
        for (const limit of [1, 25, 500])
          for (const walkFirst of [0, 7, 120]) {
            const full = ids(listRuns(wb.db, { filter, sort })).slice(0, limit);
            const page = indexedPage(wb.db, { filter, sort, limit }, walkFirst);
            expect(page, `${filter} / ${limit} / ${walkFirst}`).toEqual(full);
          }
    },
  );

  it('returns whole list items, in the page order', () => {
    const page = listRuns(wb.db, { sort: 'metrics.val_top1_error', limit: 3 });
    expect(page).toEqual(listRuns(wb.db, { sort: 'metrics.val_top1_error' }).slice(0, 3));
  });
});
