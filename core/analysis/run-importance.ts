import { Worker } from 'node:worker_threads';
import { formatField } from '../filter/format.js';
import type { Db } from '../store/db.js';
import { bestField } from '../store/run-compare.js';
import { filteredRunIds } from '../store/run-list.js';
import { fieldCatalog, runColumns } from '../store/run-values.js';
import { UserError } from '../util/errors.js';
import { workerThreadPath } from '../util/module-path.js';
import {
  featureImportance,
  MIN_RUNS,
  type Feature,
  type ImportanceOptions,
  type ImportanceRow,
} from './importance.js';

export interface ImportanceRequest {
  /** The metric to explain; its best value per run (lowest error, highest precision). */
  metric: string;
  filter?: string;
  ids?: readonly number[];
}

/** What the forest is fitted to: every param that varies among the runs that have the metric. */
export function importanceInputs(
  db: Db,
  request: ImportanceRequest,
): { features: Feature[]; y: number[]; runs: number } {
  const { ids } = filteredRunIds(db, { filter: request.filter, ids: request.ids });
  const [target] = runColumns(db, ids, [bestField(request.metric)]);
  const kept = ids.filter((_, i) => typeof target!.values[i] === 'number');
  const y = target!.values.filter((v): v is number => typeof v === 'number');
  if (kept.length === 0)
    throw new UserError(
      `no run${request.filter ? ' that the filter selects' : ''} has the metric '${request.metric}'`,
    );
  if (kept.length < MIN_RUNS)
    throw new UserError(
      `importance needs at least ${MIN_RUNS} runs with '${request.metric}'; ${kept.length} have it`,
    );
  const varying = fieldCatalog(db, kept).params.filter((p) => p.distinct > 1);
  if (varying.length === 0)
    throw new UserError(
      `the ${kept.length} runs with '${request.metric}' all have the same params`,
    );
  const fields = varying.map((p) => formatField({ scope: 'params', name: p.key }));
  const features = runColumns(db, kept, fields).map((c, i) => ({
    name: varying[i]!.key,
    values: c.values,
  }));
  return { features, y, runs: kept.length };
}

/** Importance computed in this thread (the CLI). */
export function runImportance(db: Db, request: ImportanceRequest): ImportanceRow[] {
  const { features, y } = importanceInputs(db, request);
  return featureImportance(features, y);
}

/**
 * Importance computed on a worker thread, so that a host serving the UI keeps answering (and
 * recording its jobs' progress) for the seconds the forests take.
 */
export function runImportanceOffThread(
  db: Db,
  request: ImportanceRequest,
  options: ImportanceOptions = {},
): Promise<ImportanceRow[]> {
  const { features, y } = importanceInputs(db, request);
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerThreadPath(import.meta.url, './importance-worker.js'), {
      workerData: { features, y, options },
    });
    worker.once('message', (reply: { rows: ImportanceRow[] } | { error: string }) => {
      if ('rows' in reply) resolve(reply.rows);
      else reject(new Error(`importance failed: ${reply.error}`));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the importance thread exited with code ${code}`)),
    );
  });
}
