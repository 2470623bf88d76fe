import { afterAll, describe, expect, it } from 'vitest';
import { transaction } from '../../core/store/db.js';
import {
  discardAfterEpoch,
  getRun,
  insertEvaluation,
  insertMetrics,
  insertRun,
  runEvaluations,
} from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

// What a killed run reported beyond its last checkpoint is redone on resume; the old rows go.
describe('discardAfterEpoch', () => {
  const home = tempDir('svw-discard-');
  const wb = openWorkbench(home.dir);
  afterAll(() => {
    wb.close();
    home.cleanup();
  });

  it('keeps metrics and evaluations up to the epoch and rebuilds the latest values', () => {
    const datasetId = seedDataset(wb, 'tiny');
    const { config } = prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' });
    const runId = insertRun(wb.db, { experiment: 'x', datasetId, config });
    const loss = [3, 2.5, 1, 4]; // at epochs 0.5, 1, 1.5, 2: the minimum 1 is discarded
    insertMetrics(
      wb.db,
      runId,
      loss.map((value, i) => ({
        key: 'train_loss',
        step: i + 1,
        epoch: (i + 1) / 2,
        value,
        wallTime: i,
      })),
    );
    insertMetrics(wb.db, runId, [
      { key: 'epoch_train_loss', step: 2, epoch: 1, value: 2.7, wallTime: 1 },
      { key: 'epoch_train_loss', step: 4, epoch: 2, value: 2.4, wallTime: 3 },
    ]);
    for (const epoch of [1, 2])
      insertEvaluation(wb.db, runId, {
        type: 'evaluation',
        epoch,
        step: epoch * 2,
        split: 'val',
        tenCrop: false,
        checkpoint: 'last',
        images: 2,
        loss: 1,
        top1Error: 0.5,
        top5Error: 0,
        perClassError: [0.5, 0.5],
        perClassCount: [1, 1],
        confusion: [0, 0, 1, 1, 1, 1],
      });
    wb.db.prepare('UPDATE runs SET epochs_done = 2 WHERE id = ?').run(runId);

    transaction(wb.db, () => discardAfterEpoch(wb.db, runId, 1));

    const rows = wb.db
      .prepare('SELECT key, epoch FROM metrics WHERE run_id = ? ORDER BY key, step')
      .all(runId);
    expect(rows).toEqual([
      { key: 'epoch_train_loss', epoch: 1 },
      { key: 'train_loss', epoch: 0.5 },
      { key: 'train_loss', epoch: 1 },
    ]);
    const latest = wb.db
      .prepare(
        'SELECT key, value, step, min_value AS lo, max_value AS hi FROM latest_metrics WHERE run_id = ? ORDER BY key',
      )
      .all(runId);
    expect(latest).toEqual([
      { key: 'epoch_train_loss', value: 2.7, step: 2, lo: 2.7, hi: 2.7 },
      { key: 'train_loss', value: 2.5, step: 2, lo: 2.5, hi: 3 },
    ]);
    expect(runEvaluations(wb.db, runId).map((e) => e.epoch)).toEqual([1]);
    expect(getRun(wb.db, runId)!.epochsDone).toBe(1);
  });
});
