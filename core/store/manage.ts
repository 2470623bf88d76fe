import { rmSync } from 'node:fs';
import { RefusedError, UserError } from '../util/errors.js';
import { datasetUsers } from './active-jobs.js';
import { openClusterJobOf } from './cluster-jobs.js';
import { deleteDatasetRowsInChunks, deleteRunRowsInChunks } from './chunks.js';
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
  // A job waiting in a cluster's queue would start and write into a folder that is gone.
  const onCluster = runs.filter((r) => openClusterJobOf(wb.db, r.id));
  if (onCluster.length)
    throw new RefusedError(
      `run ${onCluster.map((r) => r.id).join(', ')} has a job on a cluster; nothing was deleted`,
      `cancel it first: svw runs cancel ${onCluster[0]!.id}`,
    );
  // A run of a long training holds millions of metric rows: they go in chunks, so that another
  // host writing progress waits for a chunk at most, never for the whole delete.
  for (const r of runs) {
    deleteRunRowsInChunks(wb.db, r.id);
    transaction(wb.db, () => deleteRun(wb.db, r.id));
    rmSync(wb.paths.run(r.id), { recursive: true, force: true });
  }
}

/**
 * Removes a dataset and its cached images; its runs stay, without a dataset. Refused while any
 * job of any live host reads it (training, evaluation, an index build, an embedding), or a
 * training run on it is queued.
 */
export function removeDataset(wb: Workbench, row: DatasetRow): void {
  const refuseIfUsed = (what: string) => {
    const users = datasetUsers(wb.db, row.id);
    if (users.length)
      throw new RefusedError(
        `dataset ${row.id} is in use by ${users.join(', ')}; ${what}`,
        'cancel those jobs first, or wait for them to end',
      );
  };
  refuseIfUsed('nothing was removed');
  // Image rows in chunks (a million for ImageNet), then the dataset, if no job took it meanwhile.
  deleteDatasetRowsInChunks(wb.db, row.id);
  transaction(wb.db, () => {
    refuseIfUsed('its image list was partly removed: remove it again when they end');
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
