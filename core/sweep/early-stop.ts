import { ashaSchema, type AshaConfig } from '../schema/sweep.js';
import type { Db } from '../store/db.js';
import { addLog } from '../store/runs.js';
import { recordRung } from '../store/sweeps.js';
import { judge, pruneReason, rungEpochs } from './asha.js';

/**
 * ASHA's decisions, made by the host where a run's metrics are ingested (whatever job host ran
 * the worker: a child process, an Electron utility process, a cluster job): the worker only
 * trains and reports; the host, which holds every run's record, compares.
 */

/** The ASHA settings of the sweep a run belongs to, or null (no sweep, no ASHA, cancelled). */
export function runAsha(db: Db, runId: number): { sweepId: number; asha: AshaConfig } | null {
  const row = db
    .prepare(
      `SELECT s.id, s.spec FROM runs r JOIN sweeps s ON s.id = r.sweep_id
       WHERE r.id = ? AND s.cancelled_at IS NULL`,
    )
    .get(runId) as { id: number; spec: string } | undefined;
  if (!row) return null;
  const asha = (JSON.parse(row.spec) as { asha?: unknown }).asha;
  const parsed = ashaSchema.safeParse(asha);
  return asha && parsed.success ? { sweepId: row.id, asha: parsed.data } : null;
}

/** The value a run reported for `key` at the end of epoch `epoch` (its last, if several). */
function epochValue(db: Db, runId: number, key: string, epoch: number): number | undefined {
  return db
    .prepare(
      'SELECT value FROM metrics WHERE run_id = ? AND key = ? AND epoch = ? ORDER BY step DESC, rowid DESC LIMIT 1',
    )
    .pluck()
    .get(runId, key, epoch) as number | undefined;
}

/**
 * Judges a run that has just finished `epoch` (call it in the transaction that records the
 * epoch). At a rung, the run's metric is recorded beside the others there; the result says
 * whether the run should stop, and why.
 */
export function judgeEpoch(db: Db, runId: number, epoch: number): { prune: string } | null {
  const sweep = runAsha(db, runId);
  if (!sweep || !rungEpochs(sweep.asha).includes(epoch)) return null;
  // A run pruned at an earlier rung may still report an epoch or two while it stops: its
  // verdict stands, and those epochs are not recorded beside the runs that went on.
  const earlier = prunedAt(db, runId);
  if (earlier && earlier.epoch < epoch) return { prune: earlier.reason };
  const { sweepId, asha } = sweep;
  const value = epochValue(db, runId, asha.metric, epoch);
  if (value === undefined) {
    addLog(
      db,
      runId,
      'warn',
      `ASHA: no ${asha.metric} at epoch ${epoch}, so the run goes on unjudged`,
    );
    return null;
  }
  const others = db
    .prepare('SELECT value FROM sweep_rungs WHERE sweep_id = ? AND epoch = ? AND run_id != ?')
    .pluck()
    .all(sweepId, epoch, runId) as number[];
  const decision = judge(asha, epoch, value, others)!;
  recordRung(db, sweepId, { ...decision, runId, pruned: decision.prune });
  const reason = pruneReason(asha.metric, decision);
  addLog(
    db,
    runId,
    'info',
    `ASHA rung ${decision.rung + 1} (${others.length + 1} runs there so far): ${reason}; ${decision.prune ? 'pruned' : 'goes on'}`,
  );
  return decision.prune ? { prune: reason } : null;
}

/** Whether ASHA has already decided to stop the run (a host that died before it could). */
export function prunedAt(db: Db, runId: number): { epoch: number; reason: string } | null {
  const sweep = runAsha(db, runId);
  if (!sweep) return null;
  const row = db
    .prepare(
      'SELECT rung, epoch, value, cutoff FROM sweep_rungs WHERE sweep_id = ? AND run_id = ? AND pruned = 1 ORDER BY rung LIMIT 1',
    )
    .get(sweep.sweepId, runId) as
    { rung: number; epoch: number; value: number; cutoff: number } | undefined;
  if (!row) return null;
  return {
    epoch: row.epoch,
    reason: pruneReason(sweep.asha.metric, { ...row, prune: true }),
  };
}
