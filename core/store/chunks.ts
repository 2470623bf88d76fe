import { transaction, type Db } from './db.js';

/** Rows per transaction of a long delete: short enough that another host's write barely waits. */
export const DELETE_CHUNK_ROWS = 5_000;

/**
 * Runs a DELETE whose subquery takes `@chunk` rows at a time, one transaction per chunk, until
 * it deletes fewer than a chunk: other connections get the write lock between chunks instead
 * of waiting for one long transaction. `between` runs after each chunk (a test's probe).
 */
export function deleteInChunks(
  db: Db,
  sql: string,
  params: Record<string, unknown>,
  chunk = DELETE_CHUNK_ROWS,
  between: () => void = () => {},
): number {
  const statement = db.prepare(sql);
  let total = 0;
  for (;;) {
    const { changes } = transaction(db, () => statement.run({ ...params, chunk }));
    total += changes;
    between();
    if (changes < chunk) return total;
  }
}

/** Deletes the bulk of a run's rows (metrics, logs, mistakes) in chunks, before the run itself. */
export function deleteRunRowsInChunks(
  db: Db,
  runId: number,
  chunk = DELETE_CHUNK_ROWS,
  between?: () => void,
): void {
  for (const sql of [
    'DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics WHERE run_id = @id LIMIT @chunk)',
    'DELETE FROM run_logs WHERE rowid IN (SELECT rowid FROM run_logs WHERE run_id = @id LIMIT @chunk)',
    `DELETE FROM evaluation_mistakes WHERE (evaluation_id, rank) IN (SELECT m.evaluation_id, m.rank
       FROM evaluation_mistakes m JOIN evaluations e ON e.id = m.evaluation_id WHERE e.run_id = @id LIMIT @chunk)`,
  ])
    deleteInChunks(db, sql, { id: runId }, chunk, between);
}

/** Deletes a dataset's image rows in chunks, before the dataset itself. */
export function deleteDatasetRowsInChunks(
  db: Db,
  datasetId: number,
  chunk = DELETE_CHUNK_ROWS,
  between?: () => void,
): void {
  deleteInChunks(
    db,
    `DELETE FROM dataset_images WHERE dataset_id = @id AND idx IN
       (SELECT idx FROM dataset_images WHERE dataset_id = @id LIMIT @chunk)`,
    { id: datasetId },
    chunk,
    between,
  );
}
