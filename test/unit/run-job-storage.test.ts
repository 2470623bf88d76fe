import { afterAll, describe, expect, it, vi } from 'vitest';
import { startTraining } from '../../core/jobs/launch.js';
import { getRun, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

// The host's database refuses writes mid-run (a full disk behaves the same as query_only here):
// the job is stopped, the host does not throw, and the run is recorded once writes work again.
describe('a job whose progress cannot be stored', () => {
  const home = tempDir('svw-job-storage-');
  const wb = openWorkbench(home.dir);
  afterAll(() => {
    wb.close();
    home.cleanup();
  });

  it('kills the worker instead of crashing the host, and says why', async () => {
    const datasetId = seedDataset(wb, 'tiny');
    const { config } = prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' });
    const runId = insertRun(wb.db, { experiment: 'x', datasetId, config });
    const host = new FakeHost();
    const job = startTraining(wb, host, getRun(wb.db, runId)!, false, { backend: 'wasm' });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    wb.db.pragma('query_only = ON');
    try {
      const metric = { key: 'train_loss', step: 1, epoch: 0.1, value: 2, wallTime: 1 };
      expect(() => host.last.emit({ type: 'metrics', metrics: [metric] })).not.toThrow();
      expect(host.last.exited).toBe(true);
      expect(await job.done).toBe('failed');
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/could not record how run \d+ ended/);
    } finally {
      wb.db.pragma('query_only = OFF');
      stderr.mockRestore();
    }
    // Nothing of the refused message was half-stored.
    expect(wb.db.prepare('SELECT COUNT(*) AS n FROM metrics').get()).toEqual({ n: 0 });
  });
});
