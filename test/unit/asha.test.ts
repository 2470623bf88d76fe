import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../core/jobs/scheduler.js';
import { addCluster } from '../../core/store/clusters.js';
import { getRun, insertMetrics } from '../../core/store/runs.js';
import { sweepRungs } from '../../core/store/sweeps.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { judge, quantile, rungEpochs } from '../../core/sweep/asha.js';
import { createAblation } from '../../core/sweep/ablation.js';
import { createSweep } from '../../core/sweep/create.js';
import { sweepSummaries } from '../../core/sweep/summary.js';
import { judgeEpoch } from '../../core/sweep/early-stop.js';
import { recoverSweepRuns } from '../../core/sweep/recover.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset, type FakeWorker } from '../helpers/fake-jobs.js';

const home = tempDir('svw-asha-');
let wb: Workbench;
let datasetId: number;
const tick = () => new Promise((r) => setImmediate(r));

beforeAll(() => {
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'asha');
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const asha = { metric: 'val_top1_error', mode: 'min' as const, grace: 1, eta: 2, maxEpochs: 4 };

/** Four trials, lr 0.01 … 0.04, judged at epochs 1 and 2 (rungs grace·η^k below 4). */
function newSweep() {
  return createSweep(wb.db, {
    dataset: datasetId,
    preset: 'alexnet-cifar',
    spec: {
      method: 'grid',
      settings: ['batch=2'],
      space: { lr: { values: ['0.01', '0.02', '0.03', '0.04'] } },
      asha,
    },
  });
}

/** What a worker reports at the end of an epoch: its validation error, then the epoch. */
function endEpoch(worker: FakeWorker, epoch: number, error: number): void {
  worker.emit({
    type: 'metrics',
    metrics: [{ key: 'val_top1_error', step: epoch * 10, epoch, value: error, wallTime: epoch }],
  });
  worker.emit({ type: 'epoch', epochsDone: epoch });
}

describe('ASHA rungs', () => {
  it('sits rungs at grace·η^k below the maximum and keeps the best 1/η', () => {
    expect(rungEpochs({ grace: 1, eta: 3, maxEpochs: 27 })).toEqual([1, 3, 9]);
    expect(rungEpochs({ grace: 2, eta: 2, maxEpochs: 9 })).toEqual([2, 4, 8]);
    expect(quantile([0.4, 0.5, 0.6], 0.5)).toBeCloseTo(0.5);
    expect(quantile([0.6, 0.5], 1 / 3)).toBeCloseTo(0.5333, 4);
    // The first run at a rung always goes on; a tie with the cutoff goes on.
    expect(judge(asha, 1, 0.9, [])).toMatchObject({ rung: 0, cutoff: 0.9, prune: false });
    expect(judge(asha, 2, 0.5, [0.5])).toMatchObject({ rung: 1, prune: false });
    expect(judge(asha, 3, 0.9, [0.1])).toBeNull();
    // Higher is better for a precision: the low end is cut.
    const max = { ...asha, metric: 'retrieval_p_at_5', mode: 'max' as const };
    expect(judge(max, 1, 0.2, [0.4])).toMatchObject({ cutoff: expect.closeTo(0.3), prune: true });
  });
});

describe('a sweep for a cluster', () => {
  it('puts every trial on the cluster profile, and an unknown profile creates nothing', () => {
    addCluster(wb.db, {
      name: 'c',
      partition: 'p',
      gres: null,
      cpus: 4,
      mem: null,
      time: null,
      account: null,
      spool: home.dir,
      maxResubmits: 2,
    });
    const before = sweepSummaries(wb.db).length;
    const request = {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      spec: { method: 'grid' as const, settings: [], space: { lr: { values: ['0.1', '0.2'] } } },
    };
    const { runIds } = createSweep(wb.db, { ...request, on: 'c' });
    expect(runIds.map((id) => getRun(wb.db, id)!.cluster)).toEqual(['c', 'c']);
    expect(() => createSweep(wb.db, { ...request, on: 'nope' })).toThrow(/nope/);
    expect(sweepSummaries(wb.db)).toHaveLength(before + 1);
    const ablation = createAblation(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      seeds: 1,
      on: 'c',
    });
    expect(ablation.runIds.every((id) => getRun(wb.db, id)!.cluster === 'c')).toBe(true);
  });
});

describe('an ASHA sweep through the scheduler, with scripted metric streams', () => {
  it('prunes the runs below their rung quantile at the epoch boundary, with the reason', async () => {
    const { sweepId, runIds } = newSweep();
    const [a, b, c, d] = runIds as [number, number, number, number];
    expect(getRun(wb.db, a)).toMatchObject({ epochsTotal: 4, sweepId, sweepTrial: '1' });
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 4, backend: 'wasm' });
    runIds.forEach((id) => scheduler.enqueue(id));
    const [wa, wb_, wc, wd] = host.workers as [FakeWorker, FakeWorker, FakeWorker, FakeWorker];

    endEpoch(wa, 1, 0.5); // first at rung 1: goes on
    endEpoch(wb_, 1, 0.6); // median of 0.5, 0.6 is 0.55: pruned
    // A step the worker took into epoch 2 before the stop reached it.
    wb_.emit({
      type: 'metrics',
      metrics: [{ key: 'train_loss', step: 11, epoch: 1.1, value: 2, wallTime: 1 }],
    });
    endEpoch(wc, 1, 0.4); // median of 0.4, 0.5, 0.6 is 0.5: goes on
    endEpoch(wd, 1, 0.55); // median of the four is 0.525: pruned
    await tick();
    endEpoch(wa, 2, 0.45); // first at rung 2: goes on
    endEpoch(wc, 2, 0.47); // cutoff 0.46: pruned
    endEpoch(wa, 3, 0.44); // epoch 3 is no rung
    endEpoch(wa, 4, 0.43);
    wa.finish('completed');
    await scheduler.idle();

    const status = (id: number) => getRun(wb.db, id)!;
    expect(runIds.map((id) => status(id).status)).toEqual([
      'completed',
      'pruned',
      'pruned',
      'pruned',
    ]);
    expect(status(b).error).toBe('val_top1_error 0.6 at epoch 1, rung cutoff 0.55');
    expect(status(d).error).toBe('val_top1_error 0.55 at epoch 1, rung cutoff 0.525');
    expect(status(c).error).toBe('val_top1_error 0.47 at epoch 2, rung cutoff 0.46');
    expect([a, b, c, d].map((id) => status(id).epochsDone)).toEqual([4, 1, 2, 1]);
    // Each pruned worker was asked to stop once; the survivor never was.
    expect(wb_.received.map((m) => m.type)).toEqual(['start', 'cancel']);
    expect(wa.received.map((m) => m.type)).toEqual(['start']);
    // The pruned run ends at its rung: what it reported past epoch 1 is gone.
    expect(wb.db.prepare('SELECT MAX(epoch) FROM metrics WHERE run_id = ?').pluck().get(b)).toBe(1);
    expect(sweepRungs(wb.db, sweepId).map((r) => [r.rung, r.runId, r.value, r.pruned])).toEqual([
      [0, a, 0.5, false],
      [0, b, 0.6, true],
      [0, c, 0.4, false],
      [0, d, 0.55, true],
      [1, a, 0.45, false],
      [1, c, 0.47, true],
    ]);
  });

  it('interrupts running trials when the host closes, to resume them with the sweep', async () => {
    const { runIds } = newSweep();
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    runIds.forEach((id) => scheduler.enqueue(id));
    scheduler.shutdown();
    await scheduler.idle();
    expect(runIds.map((id) => getRun(wb.db, id)!.status)).toEqual([
      'interrupted',
      'queued',
      'queued',
      'queued',
    ]);
    expect(getRun(wb.db, runIds[0]!)!.error).toMatch(/resumes from its last checkpoint/);
    expect(recoverSweepRuns(wb.db).resume).toContain(runIds[0]);
  });

  it('after a host dies, resumes its interrupted trials and prunes those ASHA had already stopped', () => {
    const { runIds } = newSweep();
    const [a, b] = runIds as [number, number];
    // What the dead host had ingested: both runs' first epoch, and its verdict on b.
    for (const [id, error] of [
      [a, 0.3],
      [b, 0.9],
    ] as const) {
      insertMetrics(wb.db, id, [
        { key: 'val_top1_error', step: 10, epoch: 1, value: error, wallTime: 1 },
        { key: 'train_loss', step: 12, epoch: 1.2, value: 2, wallTime: 2 },
      ]);
      expect(judgeEpoch(wb.db, id, 1)).toEqual(
        id === b ? { prune: 'val_top1_error 0.9 at epoch 1, rung cutoff 0.6' } : null,
      );
    }
    wb.db
      .prepare(`UPDATE runs SET status = 'interrupted', epochs_done = 1 WHERE id IN (?, ?)`)
      .run(a, b);

    const { resume, pruned } = recoverSweepRuns(wb.db);
    expect(pruned).toEqual([b]);
    expect(resume).toContain(a);
    expect(resume).not.toContain(b);
    expect(getRun(wb.db, b)).toMatchObject({
      status: 'pruned',
      error: 'val_top1_error 0.9 at epoch 1, rung cutoff 0.6',
      epochsDone: 1,
    });
    expect(wb.db.prepare('SELECT MAX(epoch) FROM metrics WHERE run_id = ?').pluck().get(b)).toBe(1);
  });
});
