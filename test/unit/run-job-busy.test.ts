import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { startTraining } from '../../core/jobs/launch.js';
import { RunningJob } from '../../core/jobs/run-job.js';
import { deleteInChunks, deleteRunRowsInChunks } from '../../core/store/chunks.js';
import { getRun, insertMetrics, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-busy-');
const wb = openWorkbench(home.dir);
const datasetId = seedDataset(wb, 'tiny');
// Another host's connection, which takes the write lock and keeps it (a long delete, say).
const other = new Database(wb.paths.database);
other.pragma('busy_timeout = 0');
const retryMs = RunningJob.retryMs;
afterEach(() => {
  if (other.inTransaction) other.exec('ROLLBACK');
  wb.db.pragma('busy_timeout = 10000');
  RunningJob.retryMs = retryMs;
});
afterAll(() => {
  other.close();
  wb.close();
  home.cleanup();
});

const newRun = () =>
  insertRun(wb.db, {
    experiment: 'busy',
    datasetId,
    config: prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' }).config,
  });
const metric = (step: number) => ({
  key: 'train_loss',
  step,
  epoch: step / 10,
  value: 2,
  wallTime: step,
});
const storedSteps = (runId: number) =>
  (
    wb.db.prepare('SELECT step FROM metrics WHERE run_id = ? ORDER BY rowid').all(runId) as {
      step: number;
    }[]
  ).map((r) => r.step);

describe('a write that waits past the busy timeout', () => {
  it('is queued and retried in order, and the worker keeps running', async () => {
    RunningJob.retryMs = 5;
    wb.db.pragma('busy_timeout = 1');
    const runId = newRun();
    const host = new FakeHost();
    const job = startTraining(wb, host, getRun(wb.db, runId)!, false, { backend: 'wasm' });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      other.exec('BEGIN IMMEDIATE');
      host.last.emit({ type: 'metrics', metrics: [metric(1)] });
      host.last.emit({ type: 'metrics', metrics: [metric(2)] });
      expect(host.last.exited).toBe(false);
      expect(job.pendingWrites).toBe(2);
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/database is busy .* waits and is written/);
      // The worker finishes while its reports still wait: the run's end waits behind them.
      host.last.finish('completed');
      let ended = false;
      void job.done.then(() => (ended = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(ended).toBe(false);
      other.exec('COMMIT');
      expect(await job.done).toBe('completed');
    } finally {
      stderr.mockRestore();
    }
    expect(storedSteps(runId)).toEqual([1, 2]);
    expect(getRun(wb.db, runId)!.status).toBe('completed');
  });
});

describe('long deletes', () => {
  it('go in chunks, with the write lock free between them', () => {
    const runId = newRun();
    insertMetrics(
      wb.db,
      runId,
      Array.from({ length: 2_500 }, (_, i) => metric(i)),
    );
    let chunks = 0;
    deleteRunRowsInChunks(wb.db, runId, 1_000, () => {
      chunks++;
      expect(wb.db.inTransaction).toBe(false);
      // Another host's write gets through between chunks, without waiting.
      other.exec('BEGIN IMMEDIATE');
      other.exec('COMMIT');
    });
    // metrics: 1000, 1000, 500; run_logs and mistakes: one empty chunk each.
    expect(chunks).toBe(5);
    expect(storedSteps(runId)).toEqual([]);
  });

  it('stop at the first chunk smaller than the limit', () => {
    wb.db.exec('CREATE TEMP TABLE t (x INTEGER)');
    const add = wb.db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 10; i++) add.run(i);
    const n = deleteInChunks(
      wb.db,
      'DELETE FROM t WHERE rowid IN (SELECT rowid FROM t LIMIT @chunk)',
      {},
      4,
    );
    expect(n).toBe(10);
    expect(wb.db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
  });
});
