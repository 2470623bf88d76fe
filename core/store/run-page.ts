import { parseFilter, type FilterNode } from '../filter/parse.js';
import type { Db } from './db.js';
import { filterSql } from './run-filter.js';

/**
 * A page of the runs list sorted by a metric or a param, found by walking that key's index in
 * sort order and stopping at the page's end: a filtered page of 100,000 runs then costs about
 * what the page itself costs, not a probe of every run. Filter terms on the sort key itself
 * (`metrics.val_top1_error < 0.5` while sorting by it), or on another statistic of its metric that
 * implies one, bound the walk, so that a descending sort does not step through every run the
 * filter leaves out.
 */

const FROM =
  'JOIN runs r ON r.id = s.run_id JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id';
const RUNS_FROM =
  'FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id';

type Bound = { op: '<' | '<=' | '>' | '>=' | '='; value: number };

/**
 * The numeric bounds on one field among the filter's top-level `and` terms. For a metric, a term
 * on another of its statistics bounds it too, as min ≤ latest ≤ max: `metrics.x < 0.5` (the
 * latest) puts its min below 0.5, and `metrics.x.min > 0.2` puts its latest and its max above.
 */
function boundsOn(node: FilterNode | null, scope: string, name: string, stat?: string): Bound[] {
  if (!node) return [];
  if (node.kind === 'and')
    return [...boundsOn(node.left, scope, name, stat), ...boundsOn(node.right, scope, name, stat)];
  if (node.kind !== 'compare' || typeof node.value !== 'number') return [];
  const { field, op, value } = node;
  if (field.scope !== scope || field.name !== name || !isRangeOp(op)) return [];
  if (field.stat === stat) return [{ op, value }];
  if (scope !== 'metrics') return [];
  const rank = (s?: string) => (s === 'min' ? 0 : s === 'max' ? 2 : 1);
  // An upper bound on a larger statistic bounds a smaller one; a lower bound, a larger one.
  if (rank(stat) < rank(field.stat) && op !== '>' && op !== '>=')
    return [{ op: op === '=' ? '<=' : op, value }];
  if (rank(stat) > rank(field.stat) && op !== '<' && op !== '<=')
    return [{ op: op === '=' ? '>=' : op, value }];
  return [];
}

const isRangeOp = (op: string): op is Bound['op'] =>
  op === '<' || op === '<=' || op === '>' || op === '>=' || op === '=';

/** Entries of the sort key's index walked before the filter's param range narrows the walk. */
const WALK_FIRST = 2000;

/**
 * The runs a top-level `and` term comparing a param with a number admits, as an `IN` test (its
 * list is built once per query, from the params index): the bounds of the first param so
 * compared. Null when the filter has none.
 */
function paramNarrowing(node: FilterNode | null): { sql: string; params: unknown[] } | null {
  const terms: { name: string; op: string; value: number }[] = [];
  const collect = (n: FilterNode | null): void => {
    if (!n) return;
    if (n.kind === 'and') {
      collect(n.left);
      collect(n.right);
    } else if (
      n.kind === 'compare' &&
      n.field.scope === 'params' &&
      typeof n.value === 'number' &&
      isRangeOp(n.op)
    )
      terms.push({ name: n.field.name, op: n.op, value: n.value });
  };
  collect(node);
  if (terms.length === 0) return null;
  const same = terms.filter((t) => t.name === terms[0]!.name);
  return {
    sql: `s.run_id IN (SELECT run_id FROM params WHERE key = ?${same.map((t) => ` AND num ${t.op} ?`).join('')})`,
    params: [terms[0]!.name, ...same.map((t) => t.value)],
  };
}

/**
 * The ids of the page, in order, or null where the list's single query is as good (no limit,
 * chosen ids, a sort by a run column) or the sort key is not indexed.
 */
export function indexedPage(
  db: Db,
  opts: { experiment?: string; filter?: string; sort?: string; limit?: number; ids?: number[] },
  walkFirst = WALK_FIRST,
): number[] | null {
  const spec = opts.sort ?? '-id';
  const desc = spec.startsWith('-');
  const key = desc ? spec.slice(1) : spec;
  const metric = /^metrics\.([^.]+)(?:\.(min|max))?$/.exec(key);
  const param = key.startsWith('params.') && key.length > 7 ? key.slice(7) : null;
  if (opts.limit === undefined || opts.ids !== undefined || (!metric && !param)) return null;
  const dir = desc ? 'DESC' : 'ASC';
  const filter = filterSql(opts.filter ?? '');
  const where = `CASE WHEN ${filter.where} THEN 1 ELSE 0 END${opts.experiment === undefined ? '' : ' AND e.name = ?'}`;
  const args = [...filter.params, ...(opts.experiment === undefined ? [] : [opts.experiment])];
  const tree = parseFilter(opts.filter ?? '');
  const table = metric ? 'latest_metrics' : 'params';
  const name = metric ? metric[1]! : param!;
  const column = metric ? (metric[2] ? `${metric[2]}_value` : 'value') : 'num';
  const bounds = boundsOn(tree, metric ? 'metrics' : 'params', name, metric?.[2]);
  const bounded = bounds.map((b) => ` AND s.${column} ${b.op} ?`).join('');
  // Numbers sort before text, and runs without the key come last, in either direction.
  const segments = metric
    ? [`s.key = ?${bounded} ORDER BY s.${column} ${dir}, s.run_id ${dir}`]
    : [
        `s.key = ? AND s.num IS NOT NULL${bounded} ORDER BY s.num ${dir}, s.run_id ${dir}`,
        `s.key = ? AND s.num IS NULL ORDER BY s.value ${dir}, s.run_id ${dir}`,
      ];
  if (desc) segments.reverse();
  const out: number[] = [];
  const narrow = paramNarrowing(tree);
  for (const segment of segments) {
    const [head, order] = segment.split(' ORDER BY ');
    const numeric = segment.includes('s.num IS NOT NULL') || metric !== null;
    const headArgs = [name, ...(numeric ? bounds.map((b) => b.value) : [])];
    const walk = (extra: string, extraArgs: unknown[], test = where, testArgs = args) =>
      db
        .prepare(
          `SELECT s.run_id FROM ${table} s ${FROM} WHERE ${head}${extra} AND ${test} ORDER BY ${order} LIMIT ?`,
        )
        .pluck()
        .all(...headArgs, ...extraArgs, ...testArgs, opts.limit! - out.length) as number[];
    let found: number[] | null = null;
    if (numeric && narrow) {
      // First the walk's first `walkFirst` entries, bounded by the sort key there: a page the
      // filter fills early costs no more than it did. Past them, the filter's param range picks
      // the runs worth testing, so the rest of the walk passes the others at the cost of a lookup.
      const edge = db
        .prepare(
          `SELECT s.${column} FROM ${table} s WHERE ${head} ORDER BY ${order} LIMIT 1 OFFSET ?`,
        )
        .pluck()
        .get(...headArgs, walkFirst) as number | undefined;
      if (edge !== undefined) {
        found = walk(` AND s.${column} ${desc ? '>=' : '<='} ?`, [edge]);
        if (found.length < opts.limit - out.length)
          found = walk('', [], `CASE WHEN ${narrow.sql} THEN ${where} ELSE 0 END`, [
            ...narrow.params,
            ...args,
          ]);
      }
    }
    out.push(...(found ?? walk('', [])));
    if (out.length === opts.limit) return out;
  }
  // A numeric bound on the key leaves out every run without it; otherwise they come last.
  if (bounds.length > 0) return out;
  out.push(
    ...(db
      .prepare(
        `SELECT r.id ${RUNS_FROM} WHERE NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.run_id = r.id AND s.key = ?)
         AND ${where} ORDER BY r.id ${dir} LIMIT ?`,
      )
      .pluck()
      .all(name, ...args, opts.limit - out.length) as number[]),
  );
  return out;
}
