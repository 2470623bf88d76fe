import { rmSync } from 'node:fs';
import { RefusedError, UserError } from '../util/errors.js';
import { datasetUsers } from './active-jobs.js';
import { deleteDataset, type DatasetRow } from './datasets.js';
import { transaction } from './db.js';
import { deleteRun, type RunRow } from './runs.js';
import type { Workbench } from './workbench.js';

/**
 * Deletes runs with their records and folders; refuses, deleting nothing, when one is running
 * (its worker is still writing into its folder).
 */
export function deleteRuns(wb: Workbench, runs: RunRow[]): void {
  const running = runs.filter((r) => r.status === 'running');
  if (running.length)
    throw new RefusedError(
      `run ${running.map((r) => r.id).join(', ')} is running; nothing was deleted`,
      'cancel it first (Ctrl-C in its svw train, or the app)',
    );
  transaction(wb.db, () => runs.forEach((r) => deleteRun(wb.db, r.id)));
  for (const r of runs) rmSync(wb.paths.run(r.id), { recursive: true, force: true });
}

/**
 * Removes a dataset and its cached images; its runs stay, without a dataset. Refused while any
 * job of any live host reads it (training, evaluation, an index build, an embedding), or a
 * training run on it is queued.
 */
export function removeDataset(wb: Workbench, row: DatasetRow): void {
  transaction(wb.db, () => {
    const users = datasetUsers(wb.db, row.id);
    if (users.length)
      throw new RefusedError(
        `dataset ${row.id} is in use by ${users.join(', ')}; nothing was removed`,
        'cancel those jobs first, or wait for them to end',
      );
    deleteDataset(wb.db, row.id);
  });
  rmSync(wb.paths.dataset(row.id), { recursive: true, force: true });
}

/** Sets a run's total epochs (to resume it for longer); never below the epochs it has done. */
export function extendEpochs(wb: Workbench, run: RunRow, epochs: number): void {
  const config = JSON.parse(run.config) as { epochs: number };
  if (epochs < run.epochsDone)
    throw new UserError(`run ${run.id} has already done ${run.epochsDone} epochs`);
  config.epochs = epochs;
  wb.db
    .prepare('UPDATE runs SET config = ?, epochs_total = ? WHERE id = ?')
    .run(JSON.stringify(config), epochs, run.id);
  wb.db
    .prepare(`UPDATE params SET value = ?, num = ? WHERE run_id = ? AND key = 'epochs'`)
    .run(String(epochs), epochs, run.id);
}
