import { transaction, type Db } from '../store/db.js';
import { discardAfterEpoch, finishRun } from '../store/runs.js';
import { prunedAt } from './early-stop.js';

/**
 * What a host that opens the workbench owes the sweeps another host left: their interrupted
 * trials (that host closed, crashed or lost its machine) are resumed from their last
 * checkpoint, except those ASHA had already decided to stop, which end pruned as decided.
 * Queued trials need nothing here: every host takes over queued runs whose host is gone.
 */
export function recoverSweepRuns(db: Db): { resume: number[]; pruned: number[] } {
  const interrupted = db
    .prepare(
      `SELECT r.id FROM runs r JOIN sweeps s ON s.id = r.sweep_id
       WHERE r.status = 'interrupted' AND s.cancelled_at IS NULL ORDER BY r.id`,
    )
    .pluck()
    .all() as number[];
  const resume: number[] = [];
  const pruned: number[] = [];
  transaction(db, () => {
    for (const id of interrupted) {
      const decided = prunedAt(db, id);
      if (!decided) {
        resume.push(id);
        continue;
      }
      discardAfterEpoch(db, id, decided.epoch);
      finishRun(db, id, 'pruned', { message: decided.reason });
      pruned.push(id);
    }
  });
  return { resume, pruned };
}
