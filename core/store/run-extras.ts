import type { Db } from './db.js';

/**
 * Queries over many runs at once, or over a run's long series, for the app: each is one
 * statement however many runs are asked about.
 */

const ids = (runIds: readonly number[]) => JSON.stringify(runIds);

/** Best (highest) retrieval precision@k of each run, by k: `{ 7: { '5': 0.41 } }`. */
export function retrievalByRun(
  db: Db,
  runIds: readonly number[],
): Map<number, Record<string, number>> {
  const rows = db
    .prepare(
      `SELECT m.run_id AS runId, substr(m.key, 16) AS k, m.max_value AS value
       FROM json_each(?) j JOIN latest_metrics m ON m.run_id = j.value AND m.key LIKE 'retrieval\\_p\\_at\\_%' ESCAPE '\\'`,
    )
    .all(ids(runIds)) as { runId: number; k: string; value: number }[];
  return groupBy(rows, (r) => [r.k, r.value]);
}

/** Tags of each run. */
export function tagsByRun(db: Db, runIds: readonly number[]): Map<number, Record<string, string>> {
  const rows = db
    .prepare(
      `SELECT t.run_id AS runId, t.key, t.value FROM json_each(?) j JOIN tags t ON t.run_id = j.value
       ORDER BY t.run_id, t.key`,
    )
    .all(ids(runIds)) as { runId: number; key: string; value: string }[];
  return groupBy(rows, (r) => [r.key, r.value]);
}

function groupBy<R extends { runId: number }, V>(
  rows: R[],
  entry: (row: R) => [string, V],
): Map<number, Record<string, V>> {
  const out = new Map<number, Record<string, V>>();
  for (const row of rows) {
    const record = out.get(row.runId) ?? {};
    const [key, value] = entry(row);
    record[key] = value;
    out.set(row.runId, record);
  }
  return out;
}

export interface LogRow {
  id: number;
  level: string;
  message: string;
  createdAt: string;
}

/** A run's log lines after the line `afterId`, oldest first; the newest `limit` without it. */
export function logsAfter(
  db: Db,
  runId: number,
  afterId: number | undefined,
  limit: number,
): LogRow[] {
  const rows = (
    afterId === undefined
      ? db
          .prepare(
            `SELECT rowid AS id, level, message, time FROM run_logs WHERE run_id = ?
             ORDER BY rowid DESC LIMIT ?`,
          )
          .all(runId, limit)
          .reverse()
      : db
          .prepare(
            `SELECT rowid AS id, level, message, time FROM run_logs WHERE run_id = ? AND rowid > ?
             ORDER BY rowid LIMIT ?`,
          )
          .all(runId, afterId, limit)
  ) as { id: number; level: string; message: string; time: number }[];
  return rows.map(({ time, ...r }) => ({ ...r, createdAt: new Date(time * 1000).toISOString() }));
}
