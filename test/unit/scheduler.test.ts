import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConcurrency, Scheduler } from '../../core/jobs/scheduler.js';
import { insertDataset } from '../../core/store/datasets.js';
import { getRun, insertRun } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost } from '../helpers/fake-jobs.js';

const home = tempDir('svw-home-');
let wb: Workbench;
let datasetId: number;
const tick = () => new Promise((r) => setImmediate(r));

beforeAll(() => {
  wb = openWorkbench(home.dir);
  datasetId = insertDataset(
    wb.db,
    {
      name: 'tiny',
      sourcePath: '/tiny',
      layout: 'imagefolder',
      imageSize: 32,
      classCount: 2,
      trainCount: 2,
      valCount: 0,
      skippedCount: 0,
      valSplit: 0,
      seed: 0,
      maxPerClass: null,
      fingerprint: 'x',
    },
    [
      { idx: 0, name: 'a', trainCount: 1, valCount: 0 },
      { idx: 1, name: 'b', trainCount: 1, valCount: 0 },
    ],
    [
      { idx: 0, split: 'train', label: 0, path: '/tiny/a/1.png' },
      { idx: 1, split: 'train', label: 1, path: '/tiny/b/1.png' },
    ],
    [],
  );
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const newRun = () =>
  insertRun(wb.db, {
    experiment: 'sched',
    datasetId,
    config: prepareRun(wb.db, { dataset: 'tiny', preset: 'alexnet-cifar' }).config,
  });

describe('Scheduler', () => {
  it('runs queued jobs at most `concurrency` at a time, in order', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 2, backend: 'wasm' });
    const ids = [newRun(), newRun(), newRun()];
    ids.forEach((id) => scheduler.enqueue(id));
    expect(scheduler.runningIds).toEqual(ids.slice(0, 2));
    expect(scheduler.queuedIds).toEqual([ids[2]]);
    expect(getRun(wb.db, ids[0]!)!.status).toBe('running');
    expect(getRun(wb.db, ids[2]!)!.status).toBe('queued');
    expect(host.workers[0]!.received[0]).toMatchObject({
      type: 'start',
      backend: 'wasm',
      job: { kind: 'train', runId: ids[0] },
    });
    host.workers[0]!.finish('completed');
    await tick();
    expect(scheduler.runningIds).toEqual([ids[1], ids[2]]);
    host.workers[1]!.finish('completed');
    host.workers[2]!.finish('completed');
    await scheduler.idle();
    expect(ids.map((id) => getRun(wb.db, id)!.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('cancels a queued run at once and a running one through its worker', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    const [running, queued] = [newRun(), newRun()];
    scheduler.enqueue(running!);
    scheduler.enqueue(queued!);
    expect(scheduler.cancel(queued!)).toBe(true);
    expect(getRun(wb.db, queued!)!.status).toBe('cancelled');
    expect(scheduler.cancel(running!)).toBe(true);
    await scheduler.idle();
    expect(host.workers[0]!.received.map((m) => m.type)).toEqual(['start', 'cancel']);
    expect(getRun(wb.db, running!)!.status).toBe('cancelled');
    expect(host.workers).toHaveLength(1);
  });

  it('fails a run whose worker dies without reporting, with the reason', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    const id = newRun();
    scheduler.enqueue(id);
    host.workers[0]!.kill();
    await scheduler.idle();
    const run = getRun(wb.db, id)!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/killed by SIGKILL/);
  });

  it('marks runs of a dead host interrupted when the workbench is opened again', () => {
    const id = newRun();
    wb.db.prepare(`UPDATE runs SET status = 'running', host_pid = 999999 WHERE id = ?`).run(id);
    const again = openWorkbench(home.dir);
    try {
      const run = getRun(again.db, id)!;
      expect(run.status).toBe('interrupted');
      expect(run.error).toMatch(/pid 999999/);
    } finally {
      again.close();
    }
  });
});

describe('default concurrency', () => {
  const gpus = (n: number) => async () => (n === 0 ? null : Array.from({ length: n }));
  const engine = (name: string) => async () => name;

  it('runs one job per GPU', async () => {
    expect(await defaultConcurrency(gpus(2), engine('tensorflow-gpu'), 16)).toBe(2);
  });

  it('runs one single-threaded wasm job per core, but one multi-threaded libtensorflow job', async () => {
    expect(await defaultConcurrency(gpus(0), engine('wasm'), 2)).toBe(2);
    expect(await defaultConcurrency(gpus(0), engine('cpu'), 8)).toBe(8);
    expect(await defaultConcurrency(gpus(0), engine('tensorflow'), 8)).toBe(1);
    expect(await defaultConcurrency(gpus(0), () => Promise.reject(new Error('no engine')), 8)).toBe(
      1,
    );
  });
});
