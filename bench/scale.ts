import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runImportance } from '../core/analysis/run-importance.js';
import { summarize } from '../core/api/runs-api.js';
import { filteredRunIds, listRuns } from '../core/store/run-list.js';
import { runColumns } from '../core/store/run-values.js';
import { openWorkbench } from '../core/store/workbench.js';
import { formatResult, type BenchResult } from './result.js';
import { seedExperiments } from './seed-experiments.js';
import { benchUi } from './ui.js';

const RUNS = 100_000;

/** Median of `reps` timed calls, in ms, as a result line. */
function timed(name: string, batch: number, reps: number, fn: () => unknown): BenchResult {
  const times: number[] = [];
  fn();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  return { name, backend: 'sqlite', batch, imagesPerSec: 0, msPerBatch: Math.round(ms * 10) / 10 };
}

/**
 * Many experiments: the host's side with 100,000 runs of 20 params each (a filtered, sorted page
 * of the list, the columns a parallel-coordinates view reads, importance), then the UI's side
 * in headless Chromium (the compare chart of 100 runs × 10,000 points, a brush over 10,000).
 */
export async function benchScale(quick: boolean): Promise<BenchResult[]> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-scale-'));
  const wb = openWorkbench(home);
  const results: BenchResult[] = [];
  try {
    const db = wb.db;
    const t0 = performance.now();
    seedExperiments(db, RUNS, { params: 20 });
    process.stderr.write(
      `  seeded ${RUNS.toLocaleString('en-US')} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const reps = quick ? 1 : 5;
    const filter = 'params.optim.lr > 0.001 and metrics.val_top1_error < 0.5';
    const page = (sort: string) => ({ filter, sort, limit: 50 });
    results.push(
      timed('100k runs × 20 params: filtered page of 50 by best val error', RUNS, reps, () =>
        listRuns(db, page('metrics.val_top1_error.min')),
      ),
      timed('100k runs × 20 params: the same page as the API serves it', RUNS, reps, () =>
        summarize(db, listRuns(db, page('metrics.val_top1_error.min'))),
      ),
      timed('100k runs × 20 params: filtered page by learning rate', RUNS, reps, () =>
        listRuns(db, page('params.optim.lr')),
      ),
      timed('100k runs × 20 params: filtered page, newest first', RUNS, reps, () =>
        listRuns(db, page('-id')),
      ),
      // From the worst error down: the filter's bound on the latest error bounds the best one too.
      timed('100k runs × 20 params: filtered page by worst val error', RUNS, reps, () =>
        listRuns(db, page('-metrics.val_top1_error.min')),
      ),
      // The walk from the worst error passes every run outside the band of learning rates (those
      // are the runs with the worst errors) unless the band's range narrows it.
      timed('100k runs × 20 params: worst val error within a band of rates', RUNS, reps, () =>
        listRuns(db, {
          filter: 'params.optim.lr > 0.003 and params.optim.lr < 0.03',
          sort: '-metrics.val_top1_error.min',
          limit: 50,
        }),
      ),
    );
    const { ids } = filteredRunIds(db, { filter: 'params.batchSize = 64', limit: 10_000 });
    const fields = [
      'params.optim.lr',
      'params.batchSize',
      'params.model.dropout',
      'params.model.lrn.mode',
      'metrics.val_top1_error.min',
      'status',
    ];
    results.push(
      timed('parallel coordinates: 6 columns of 10,000 of 100k runs', ids.length, reps, () =>
        runColumns(db, ids, fields),
      ),
      timed(
        'importance of 20 params over 10,000 runs (240 sampled)',
        ids.length,
        quick ? 1 : 3,
        () => runImportance(db, { metric: 'val_top1_error', filter: 'params.batchSize = 64' }),
      ),
    );
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
  }
  // Said as soon as measured: the browser half takes minutes more.
  for (const r of results) process.stderr.write(`  ${formatResult(r)}\n`);
  results.push(...(await benchUi(quick)));
  return results;
}
