import { parseField } from '../filter/format.js';
import type { FieldRef } from '../filter/parse.js';
import { UserError } from '../util/errors.js';
import type { Db } from './db.js';

/**
 * Values of many runs side by side, a column per field, for the parallel-coordinates view and
 * hyperparameter importance: one statement per field however many runs are asked about.
 */

export type ColumnValue = number | string | null;

export interface RunColumn {
  /** The field as the filter language writes it (`params.optim.lr`, `metrics.val_loss.min`). */
  field: string;
  /** `number` when every value present is a number; text (and true/false) is a category. */
  kind: 'number' | 'category';
  /** One value per run, in the order of the ids asked for; null where the run has none. */
  values: ColumnValue[];
}

export interface FieldCatalog {
  /** Every param key the runs have, with how many distinct values and whether all are numbers. */
  params: { key: string; numeric: boolean; distinct: number }[];
  /** Every metric key the runs have reported. */
  metrics: string[];
}

/** Run fields an axis may show: SQL over `runs r`, `experiments e`, `datasets d`. */
const RUN_FIELD_SQL: Record<string, string> = {
  id: 'r.id',
  status: 'r.status',
  preset: 'r.preset',
  experiment: 'e.name',
  dataset: 'd.name',
  backend: 'r.backend',
  seed: 'r.seed',
  epochs_done: 'r.epochs_done',
};

// The ids go in as `IN (SELECT value FROM json_each(?))`, which SQLite makes an index once; as a
// join, its planner may put json_each inside the loop over a whole table: 33,000 ids against
// 100,000 runs' rows took minutes where this takes well under a second.
const IDS = 'IN (SELECT value FROM json_each(?))';
const FROM = `FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id WHERE r.id ${IDS}`;

/** The params and metrics that the runs `ids` have (every run when ids is undefined). */
export function fieldCatalog(db: Db, ids?: readonly number[]): FieldCatalog {
  const scope = (table: string, alias: string) =>
    ids === undefined
      ? `FROM ${table} ${alias}`
      : `FROM ${table} ${alias} WHERE ${alias}.run_id ${IDS}`;
  const args = ids === undefined ? [] : [JSON.stringify(ids)];
  const params = db
    .prepare(
      `SELECT p.key, COUNT(DISTINCT COALESCE(p.num, p.value)) AS distinct_values, SUM(p.num IS NULL) AS texts
       ${scope('params', 'p')} GROUP BY p.key ORDER BY p.key`,
    )
    .all(...args) as { key: string; distinct_values: number; texts: number }[];
  const metrics = db
    .prepare(`SELECT DISTINCT m.key ${scope('latest_metrics', 'm')} ORDER BY m.key`)
    .pluck()
    .all(...args) as string[];
  return {
    params: params.map((p) => ({
      key: p.key,
      numeric: p.texts === 0,
      distinct: p.distinct_values,
    })),
    metrics,
  };
}

function columnSql(field: FieldRef): { sql: string; args: unknown[] } {
  switch (field.scope) {
    case 'run': {
      const expr = RUN_FIELD_SQL[field.name];
      if (!expr)
        throw new UserError(
          `cannot show the run field '${field.name}' on an axis (choose ${Object.keys(RUN_FIELD_SQL).join(', ')}, params.<key> or metrics.<key>)`,
        );
      return { sql: `SELECT r.id AS id, ${expr} AS v ${FROM}`, args: [] };
    }
    case 'params':
      return {
        sql: `SELECT p.run_id AS id, COALESCE(p.num, p.value) AS v FROM params p WHERE p.run_id ${IDS} AND p.key = ?`,
        args: [field.name],
      };
    case 'metrics': {
      const column = field.stat ? `${field.stat}_value` : 'value';
      return {
        sql: `SELECT m.run_id AS id, m.${column} AS v FROM latest_metrics m WHERE m.run_id ${IDS} AND m.key = ?`,
        args: [field.name],
      };
    }
    case 'tags':
      return {
        sql: `SELECT t.run_id AS id, t.value AS v FROM tags t WHERE t.run_id ${IDS} AND t.key = ?`,
        args: [field.name],
      };
  }
}

/** The values of each field for the runs `ids`, in that order. */
export function runColumns(db: Db, ids: readonly number[], fields: readonly string[]): RunColumn[] {
  const position = new Map(ids.map((id, i) => [id, i]));
  const json = JSON.stringify(ids);
  return fields.map((text) => {
    let field: FieldRef;
    try {
      field = parseField(text);
    } catch (err) {
      throw new UserError(`bad field '${text}': ${(err as Error).message.split('\n')[0]}`);
    }
    const { sql, args } = columnSql(field);
    const values: ColumnValue[] = new Array<ColumnValue>(ids.length).fill(null);
    let numeric = true;
    for (const row of db.prepare(sql).iterate(json, ...args) as Iterable<{
      id: number;
      v: ColumnValue;
    }>) {
      const i = position.get(row.id);
      if (i === undefined || row.v === null) continue;
      values[i] = row.v;
      if (typeof row.v !== 'number') numeric = false;
    }
    return { field: text, kind: numeric ? 'number' : 'category', values };
  });
}
