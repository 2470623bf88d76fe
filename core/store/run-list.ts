import { FilterSyntaxError } from '../filter/parse.js';
import { UserError } from '../util/errors.js';
import type { Db } from './db.js';
import { filterSql } from './run-filter.js';
import { indexedPage } from './run-page.js';

type Value = string | number | null;

/** One run of `svw runs list --json`. */
export interface RunListItem {
  id: number;
  name: string;
  experiment: string;
  dataset: string | null;
  preset: string;
  status: string;
  params: { lr: Value; batchSize: Value; epochs: Value };
  /** The best (lowest) value seen of each. */
  metrics: { val_top1_error: number | null; val_top5_error: number | null };
  epochsDone: number;
  epochsTotal: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationSec: number | null;
  backend: string | null;
}

const FROM =
  'FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id';
// Fixed keys only (never user text): each is one primary-key probe per run.
const param = (key: string) =>
  `(SELECT COALESCE(x.num, x.value) FROM params x WHERE x.run_id = r.id AND x.key = '${key}')`;
const lowest = (key: string) =>
  `(SELECT x.min_value FROM latest_metrics x WHERE x.run_id = r.id AND x.key = '${key}')`;
const LIST_SQL = `SELECT r.id, r.name, e.name AS experiment, d.name AS dataset, r.preset, r.status,
  r.created_at AS createdAt, r.started_at AS startedAt, r.ended_at AS endedAt,
  r.epochs_done AS epochsDone, r.epochs_total AS epochsTotal, r.backend,
  ${param('optim.lr')} AS lr, ${param('batchSize')} AS batchSize, ${param('epochs')} AS epochs,
  ${lowest('val_top1_error')} AS top1, ${lowest('val_top5_error')} AS top5 ${FROM}`;

const SORT_COLUMNS: Record<string, string> = {
  id: 'r.id',
  created_at: 'r.created_at',
  status: 'r.status',
  name: 'r.name',
  preset: 'r.preset',
  experiment: 'e.name',
  dataset: 'd.name',
  backend: 'r.backend',
  started_at: 'r.started_at',
  ended_at: 'r.ended_at',
  epochs_done: 'r.epochs_done',
  seed: 'r.seed',
};

/** ORDER BY for --sort: runs without the key come last either way; ties go by id. */
function sortSql(spec: string): { sql: string; params: unknown[] } {
  const desc = spec.startsWith('-');
  const key = desc ? spec.slice(1) : spec;
  const dir = desc ? 'DESC' : 'ASC';
  const metric = /^metrics\.([^.]+)(?:\.(min|max))?$/.exec(key);
  let expr = SORT_COLUMNS[key];
  const params: unknown[] = [];
  if (!expr && key.startsWith('params.') && key.length > 7) {
    expr = '(SELECT COALESCE(s.num, s.value) FROM params s WHERE s.run_id = r.id AND s.key = ?)';
    params.push(key.slice(7));
  } else if (!expr && metric) {
    const column = metric[2] ? `${metric[2]}_value` : 'value';
    expr = `(SELECT s.${column} FROM latest_metrics s WHERE s.run_id = r.id AND s.key = ?)`;
    params.push(metric[1]);
  }
  if (!expr)
    throw new UserError(
      `cannot sort by '${key}'`,
      `sort by ${Object.keys(SORT_COLUMNS).join(', ')}, params.<key> or metrics.<key>[.min|.max]; a leading - sorts descending`,
    );
  return { sql: `ORDER BY ${expr} ${dir} NULLS LAST, r.id ${dir}`, params };
}

function filterOrThrow(text: string) {
  try {
    return filterSql(text);
  } catch (err) {
    // The excerpt starts its own line so the caret line under it stays aligned.
    if (err instanceof FilterSyntaxError) throw new UserError(`bad --filter:\n${err.message}`);
    throw err;
  }
}

/** The runs list in one query, however many runs there are. */
export function listRuns(
  db: Db,
  opts: { experiment?: string; filter?: string; sort?: string; limit?: number; ids?: number[] },
): RunListItem[] {
  const filter = filterOrThrow(opts.filter ?? '');
  const page = indexedPage(db, opts);
  if (page) {
    const byId = new Map(listRuns(db, { ids: page }).map((r) => [r.id, r]));
    return page.map((id) => byId.get(id)!);
  }
  const order = sortSql(opts.sort ?? '-id');
  const experiment = opts.experiment === undefined ? '' : ' AND e.name = ?';
  const ids = opts.ids === undefined ? '' : ' AND r.id IN (SELECT value FROM json_each(?))';
  // Inside CASE, each EXISTS of the filter stays a correlated subquery probing the (run_id, key)
  // primary key. As a top-level WHERE term SQLite 3.53 (without ANALYZE statistics) turns it into
  // a semi-join over the (key, num) index instead: 2.5 s rather than 5 ms for 10,000 runs.
  const rows = db
    .prepare(
      `${LIST_SQL} WHERE CASE WHEN ${filter.where} THEN 1 ELSE 0 END${experiment}${ids} ${order.sql} LIMIT ?`,
    )
    .all(
      ...filter.params,
      ...(opts.experiment === undefined ? [] : [opts.experiment]),
      ...(opts.ids === undefined ? [] : [JSON.stringify(opts.ids)]),
      ...order.params,
      opts.limit ?? -1,
    ) as (Omit<RunListItem, 'params' | 'metrics' | 'durationSec'> &
    Record<'lr' | 'batchSize' | 'epochs', Value> &
    Record<'top1' | 'top5', number | null>)[];
  return rows.map(({ lr, batchSize, epochs, top1, top5, ...r }) => ({
    ...r,
    params: { lr, batchSize, epochs },
    metrics: { val_top1_error: top1, val_top5_error: top5 },
    durationSec: durationSec(r.startedAt, r.endedAt, r.status),
  }));
}

/**
 * Ids of the runs a filter selects (newest first), at most `limit`, and how many it selects in
 * all: the parallel-coordinates view and importance read many runs' values by id.
 */
export function filteredRunIds(
  db: Db,
  opts: { filter?: string; ids?: readonly number[]; limit?: number },
): { ids: number[]; total: number } {
  const filter = filterOrThrow(opts.filter ?? '');
  const only = opts.ids === undefined ? '' : ' AND r.id IN (SELECT value FROM json_each(?))';
  const args = [...filter.params, ...(opts.ids === undefined ? [] : [JSON.stringify(opts.ids)])];
  const all = db
    .prepare(
      `SELECT r.id ${FROM} WHERE CASE WHEN ${filter.where} THEN 1 ELSE 0 END${only} ORDER BY r.id DESC`,
    )
    .pluck()
    .all(...args) as number[];
  return { ids: opts.limit === undefined ? all : all.slice(0, opts.limit), total: all.length };
}

/** Seconds a run took, or has been running. */
export function durationSec(startedAt: string | null, endedAt: string | null, status: string) {
  if (!startedAt) return null;
  const end = endedAt ? Date.parse(endedAt) : status === 'running' ? Date.now() : NaN;
  const seconds = (end - Date.parse(startedAt)) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.round(seconds * 10) / 10) : null;
}
