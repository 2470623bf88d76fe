import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraining } from '../../core/jobs/launch.js';
import { datasetPayload } from '../../core/jobs/payload.js';
import { RunClaimedError, RunningJob } from '../../core/jobs/run-job.js';
import { Scheduler } from '../../core/jobs/scheduler.js';
import { findDataset } from '../../core/store/datasets.js';
import { hostLease } from '../../core/store/leases.js';
import { removeDataset } from '../../core/store/manage.js';
import { getRun, insertRun, runLogs } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

// Two connections to one home stand for two hosts (the app and a CLI, or two machines): each
// holds its own lease.
const home = tempDir('svw-claims-');
let a: Workbench;
let b: Workbench;
let datasetId: number;

beforeAll(() => {
  a = openWorkbench(home.dir);
  b = openWorkbench(home.dir);
  datasetId = seedDataset(a, 'tiny');
});
afterAll(() => {
  a.close();
  b.close();
  home.cleanup();
});

const newRun = (dataset = datasetId) =>
  insertRun(a.db, {
    experiment: 'claims',
    datasetId: dataset,
    config: prepareRun(a.db, { dataset, preset: 'alexnet-cifar' }).config,
  });

describe('claiming a run', () => {
  it('lets only one of two hosts start a run both read as queued', async () => {
    const id = newRun();
    // Both read the run before either starts it: the race markRunning's condition closes.
    const seenByA = getRun(a.db, id)!;
    const seenByB = getRun(b.db, id)!;
    const hostA = new FakeHost();
    const hostB = new FakeHost();
    const job = startTraining(a, hostA, seenByA, false, { backend: 'wasm' });
    expect(() => startTraining(b, hostB, seenByB, false, { backend: 'wasm' })).toThrow(
      RunClaimedError,
    );
    expect(hostB.workers).toHaveLength(0);
    expect(getRun(a.db, id)).toMatchObject({ status: 'running', hostId: hostLease(a.db).id });
    hostA.last.finish('completed');
    expect(await job.done).toBe('completed');
  });

  it("refuses to queue a run another live host has queued, and leaves it to that host's scheduler", () => {
    const busy = newRun();
    const id = newRun();
    const hostA = new FakeHost();
    const schedA = new Scheduler(a, hostA, { concurrency: 1, backend: 'wasm' });
    schedA.enqueue(busy);
    schedA.enqueue(id);
    const schedB = new Scheduler(b, new FakeHost(), { concurrency: 1, backend: 'wasm' });
    expect(() => schedB.enqueue(id)).toThrow(/already running or queued in another workbench/);
    expect(() => schedB.enqueue(busy)).toThrow(/already running or queued/);
    expect(schedB.recoverQueued()).toEqual([]);
    schedA.cancel(id);
    schedA.shutdown();
  });
});

describe('queued runs when their host stops', () => {
  it('keeps them queued with a note, and the next host to open runs them', async () => {
    const running = newRun();
    const queued = newRun();
    const hostA = new FakeHost();
    const schedA = new Scheduler(a, hostA, { concurrency: 1, backend: 'wasm' });
    schedA.enqueue(running);
    schedA.enqueue(queued);
    schedA.shutdown();
    await schedA.idle();
    hostLease(a.db).release();
    expect(getRun(a.db, running)!.status).toBe('failed');
    expect(getRun(a.db, queued)!.status).toBe('queued');
    expect(runLogs(a.db, queued).map((l) => l.message)).toContainEqual(
      expect.stringMatching(/closed before this run started/),
    );

    const hostB = new FakeHost();
    const schedB = new Scheduler(b, hostB, { concurrency: 1, backend: 'wasm' });
    expect(schedB.recoverQueued()).toEqual([queued]);
    expect(schedB.runningIds).toEqual([queued]);
    expect(getRun(b.db, queued)).toMatchObject({ status: 'running', hostId: hostLease(b.db).id });
    hostB.last.finish('completed');
    await schedB.idle();
  });

  it('recovers the queue of a host that died without closing, once its lease lapses', async () => {
    const id = newRun();
    const schedA = new Scheduler(a, new FakeHost(), { concurrency: 1, backend: 'wasm' });
    const blocker = newRun();
    schedA.enqueue(blocker);
    schedA.enqueue(id);
    const schedB = new Scheduler(b, new FakeHost(), { concurrency: 1, backend: 'wasm' });
    expect(schedB.recoverQueued()).toEqual([]);
    // A's heartbeat stops (as when its process is killed): its lease lapses.
    a.db.prepare('UPDATE host_leases SET renewed_at = 0 WHERE id = ?').run(hostLease(a.db).id);
    expect(schedB.recoverQueued()).toEqual([id]);
    schedA.shutdown();
    schedB.shutdown();
    await Promise.all([schedA.idle(), schedB.idle()]);
  });
});

describe('removing a dataset', () => {
  it('is refused while any job reads it, on this host or another, and allowed after', async () => {
    const other = seedDataset(a, 'in-use');
    const id = newRun(other);
    const run = getRun(b.db, id)!;
    const host = new FakeHost();
    // An evaluation on host B (not a training run): the old check saw only training.
    const job = new RunningJob(
      b.db,
      host,
      {
        kind: 'eval',
        runId: id,
        config: JSON.parse(run.config),
        runDir: b.paths.run(id),
        dataset: datasetPayload(b.db, b.paths, other),
        checkpointDir: b.paths.run(id),
        checkpoint: 'last',
        split: 'val',
        tenCrop: false,
      },
      { backend: 'wasm' },
    );
    const row = findDataset(a.db, other)!;
    expect(() => removeDataset(a, row)).toThrow(
      new RegExp(`dataset ${other} is in use by run ${id} \\(eval\\); nothing was removed`),
    );
    expect(findDataset(a.db, other)).toBeDefined();
    host.last.finish('completed');
    await job.done;
    removeDataset(a, row);
    expect(findDataset(a.db, other)).toBeUndefined();
  });

  it('is refused while a training run on it is queued', () => {
    const other = seedDataset(a, 'queued-on');
    const sched = new Scheduler(a, new FakeHost(), { concurrency: 1, backend: 'wasm' });
    const blocker = newRun();
    const id = newRun(other);
    sched.enqueue(blocker);
    sched.enqueue(id);
    expect(() => removeDataset(a, findDataset(a.db, other)!)).toThrow(
      new RegExp(`run ${id} \\(queued\\)`),
    );
    sched.cancel(id);
    sched.shutdown();
  });
});
