import type { EvalMistake } from '../schema/messages.js';
import type { Db } from './db.js';

/** Records an evaluation's misclassified images, most confident first. */
export function insertMistakes(db: Db, evaluationId: number, mistakes: EvalMistake[]): void {
  const add = db.prepare(
    `INSERT INTO evaluation_mistakes (evaluation_id, rank, image_idx, label, predicted, confidence)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  mistakes.forEach((m, rank) =>
    add.run(evaluationId, rank, m.idx, m.label, m.predicted, m.confidence),
  );
}

/** Drops the mistakes of a run's evaluations other than `keep` (its best and newest). */
export function pruneMistakes(db: Db, runId: number, keep: number[]): void {
  db.prepare(
    `DELETE FROM evaluation_mistakes WHERE evaluation_id IN
       (SELECT id FROM evaluations WHERE run_id = ? AND id NOT IN (SELECT value FROM json_each(?)))`,
  ).run(runId, JSON.stringify(keep));
}

/** The mistakes of the run's newest validation evaluation that kept any, most confident first. */
export function latestMistakes(
  db: Db,
  runId: number,
  limit: number,
): (EvalMistake & { evaluationId: number })[] {
  return db
    .prepare(
      `SELECT m.evaluation_id AS evaluationId, m.image_idx AS idx, m.label, m.predicted, m.confidence
       FROM evaluation_mistakes m WHERE m.evaluation_id = (
         SELECT e.id FROM evaluations e WHERE e.run_id = ? AND e.split = 'val'
           AND EXISTS (SELECT 1 FROM evaluation_mistakes x WHERE x.evaluation_id = e.id)
         ORDER BY e.id DESC LIMIT 1)
       ORDER BY m.rank LIMIT ?`,
    )
    .all(runId, limit) as (EvalMistake & { evaluationId: number })[];
}
