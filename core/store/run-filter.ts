import { parseFilter, type CompareNode, type FilterNode } from '../filter/parse.js';

/**
 * Turns a parsed run filter into a SQL boolean expression. The expression assumes this FROM
 * clause (the aliases r, e and d are part of the contract; its own subqueries use p):
 *
 *   FROM runs r JOIN experiments e ON e.id = r.experiment_id
 *     LEFT JOIN datasets d ON d.id = r.dataset_id
 *
 * Semantics:
 * - params.<key> compares params.num when the value is a number and params.value (text)
 *   otherwise, so `params.data.batch_size = "128"` is a text match and `= 128` a numeric one.
 *   A param whose value is not numeric never matches a numeric comparison.
 * - metrics.<key> compares latest_metrics.value; `.min` / `.max` compare min_value / max_value.
 * - tags.<key> compares tags.value as text, or numerically when the value is a number (then only
 *   tags that look like numbers can match), so `tags.priority > 5` holds for '10'.
 * - A comparison on a param, metric or tag the run does not have is false, `!=` included:
 *   `params.x != 1` means "has x, and it is not 1". `not params.x = 1` also keeps runs without x.
 *   `is null` / `is not null` test for absence / presence.
 * - Comparisons on nullable run columns (started_at, ended_at, backend, dataset) are false when
 *   the column is NULL, never SQL NULL, so NOT is always the exact complement of what it wraps.
 * - `=` and `!=` on text are case-sensitive; LIKE uses SQLite's LIKE with the user's % and _,
 *   case-insensitive for ASCII only, with no escape character.
 * - experiment is e.name and dataset is d.name.
 *
 * Every user value and key is a bound parameter; only fixed SQL text is concatenated.
 */
export function compileFilter(node: FilterNode | null): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  // '1' rather than TRUE so the text drops into any WHERE clause on any SQLite version.
  const where = node ? emit(node, params) : '1';
  return { where, params };
}

/**
 * Parses and compiles in one step; a blank filter matches every run.
 * @throws FilterSyntaxError (unchanged from parseFilter) when the text is not a valid filter.
 */
export function filterSql(text: string): { where: string; params: unknown[] } {
  return compileFilter(parseFilter(text));
}

/** Run fields and whether the column can be NULL (which needs guarding, see compare()). */
const RUN_COLUMNS: Record<string, { sql: string; nullable: boolean }> = {
  id: { sql: 'r.id', nullable: false },
  name: { sql: 'r.name', nullable: false },
  status: { sql: 'r.status', nullable: false },
  preset: { sql: 'r.preset', nullable: false },
  experiment: { sql: 'e.name', nullable: false },
  dataset: { sql: 'd.name', nullable: true },
  backend: { sql: 'r.backend', nullable: true },
  created_at: { sql: 'r.created_at', nullable: false },
  started_at: { sql: 'r.started_at', nullable: true },
  ended_at: { sql: 'r.ended_at', nullable: true },
  seed: { sql: 'r.seed', nullable: false },
  epochs_done: { sql: 'r.epochs_done', nullable: false },
  cluster: { sql: 'r.cluster', nullable: true },
  node: { sql: 'r.node', nullable: true },
};

const SQL_OPS: Record<CompareNode['op'], string> = {
  '=': '=',
  '!=': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  like: 'LIKE',
  'not like': 'NOT LIKE',
};

// A tag value counts as a number when it has a digit and nothing but digits, '.', e, E, + and -;
// CAST alone would turn 'abc' into 0 and let it match `tags.x < 1`.
const TAG_IS_NUMERIC = `p.value GLOB '*[0-9]*' AND p.value NOT GLOB '*[^0-9.eE+-]*'`;

/** Appends the node's bound values to `params` in the order their `?`s appear in the text. */
function emit(node: FilterNode, params: unknown[]): string {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const left = emit(node.left, params);
      const right = emit(node.right, params);
      return `(${left} ${node.kind.toUpperCase()} ${right})`;
    }
    case 'not':
      return `NOT (${emit(node.operand, params)})`;
    case 'compare':
      return compare(node, params);
  }
}

function compare({ field, op, value }: CompareNode, params: unknown[]): string {
  if (value === null && op !== '=' && op !== '!=')
    throw new Error(`a filter can compare with null only by = or !=, not ${op}`);
  const sqlOp = SQL_OPS[op];
  if (field.scope === 'run') {
    const column = RUN_COLUMNS[field.name];
    if (!column) throw new Error(`unknown run field '${field.name}'`);
    if (value === null) return `${column.sql} IS ${op === '=' ? '' : 'NOT '}NULL`;
    params.push(value);
    const test = `${column.sql} ${sqlOp} ?`;
    // NULL op x is NULL, and NOT NULL is NULL too; `IS NOT NULL AND` pins it to false instead.
    return column.nullable ? `(${column.sql} IS NOT NULL AND ${test})` : test;
  }
  const numeric = typeof value === 'number' && op !== 'like' && op !== 'not like';
  let table: string;
  let target: string;
  if (field.scope === 'params') {
    table = 'params p';
    target = numeric ? '+p.num' : '+p.value';
  } else if (field.scope === 'metrics') {
    table = 'latest_metrics p';
    target = field.stat ? `+p.${field.stat}_value` : '+p.value';
  } else {
    table = 'tags p';
    target = numeric ? `${TAG_IS_NUMERIC} AND CAST(p.value AS REAL)` : 'p.value';
  }
  // The primary key (run_id, key) of each table makes this one index probe per run. The unary +
  // on the compared column keeps SQLite's planner from scanning the (key, num) or (key, value)
  // index for the whole table instead, which it prefers without ANALYZE statistics.
  params.push(field.name);
  const exists = `EXISTS (SELECT 1 FROM ${table} WHERE p.run_id = r.id AND p.key = ?`;
  if (value === null) return `${op === '=' ? 'NOT ' : ''}${exists})`;
  params.push(value);
  return `${exists} AND ${target} ${sqlOp} ?)`;
}
