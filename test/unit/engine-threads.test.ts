import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { jobMemoryBytes } from '../../core/jobs/memory.js';
import { autoThreads, Scheduler } from '../../core/jobs/scheduler.js';
import type { HostMessage } from '../../core/schema/messages.js';
import { configHash, presetRunConfig, validateRunConfig } from '../../core/schema/run-config.js';
import { getRun, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { applyRunSettings } from '../../core/schema/apply-settings.js';
import { shareSizes } from '../../core/train/shard-protocol.js';
import { checkThreads, resolveThreads } from '../../core/train/threads.js';
import { UserError } from '../../core/util/errors.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset, type FakeWorker } from '../helpers/fake-jobs.js';

const home = tempDir('svw-threads-');
const wb = openWorkbench(home.dir);
const datasetId = seedDataset(wb, 'tiny');
afterAll(() => {
  wb.close();
  home.cleanup();
});
const cores = os.availableParallelism();

const newRun = (settings: string[] = []) =>
  insertRun(wb.db, {
    experiment: 'threads',
    datasetId,
    config: prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar', settings }).config,
  });

/** The threads the host told a worker to train on. */
const threadsOf = (w: FakeWorker) => {
  const start = w.received.find((m) => m.type === 'start') as Extract<
    HostMessage,
    { type: 'start' }
  >;
  return start.job.kind === 'train' ? start.job.threads : null;
};

describe('engine.threads', () => {
  it('is 0 (auto) by default, a number when set, and left out of the config hash', () => {
    const base = presetRunConfig('alexnet-cifar');
    expect(base.engine.threads).toBe(0);
    const one = applyRunSettings(base, ['engine.threads=1']);
    expect(one.engine.threads).toBe(1);
    expect(applyRunSettings(one, ['threads=0']).engine.threads).toBe(0);
    expect(configHash(one)).toBe(configHash(base));
    // Configs stored before the setting existed read as auto.
    const { engine: _, ...old } = base;
    expect(validateRunConfig(old).engine.threads).toBe(0);
  });

  it('above the cores is refused in one line before any run exists', () => {
    const runs = () => wb.db.prepare('SELECT COUNT(*) FROM runs').pluck().get();
    const before = runs();
    const attempt = () =>
      prepareRun(wb.db, {
        dataset: datasetId,
        preset: 'alexnet-cifar',
        settings: [`engine.threads=${cores + 1}`],
      });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(
      `engine.threads is ${cores + 1}, but this machine has ${cores} core${cores === 1 ? '' : 's'} (use 0 for auto, or at most ${cores})`,
    );
    expect(runs()).toBe(before);
    expect(() => applyRunSettings(presetRunConfig('alexnet-cifar'), ['threads=-1'])).toThrow(
      /engine\.threads/,
    );
  });

  it('a stored run asking for more threads than this machine has fails before a worker starts', async () => {
    const id = newRun();
    // As if queued by a host on a bigger machine sharing this workbench home.
    const config = JSON.parse(getRun(wb.db, id)!.config);
    config.engine.threads = cores + 4;
    wb.db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(config), id);
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    scheduler.enqueue(id);
    await scheduler.idle();
    expect(host.workers).toHaveLength(0);
    expect(getRun(wb.db, id)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^engine\.threads is \d+, but this machine has \d+ cores?/),
    });
  });

  it('resolves auto to the cores divided among the jobs', () => {
    const auto = presetRunConfig('alexnet-cifar');
    expect(resolveThreads(auto, 8, 1)).toBe(8);
    expect(resolveThreads(auto, 8, 3)).toBe(2);
    expect(resolveThreads(auto, 2, 5)).toBe(1);
    expect(resolveThreads(checkThreads(applyRunSettings(auto, ['threads=1'])), 8, 1)).toBe(1);
    expect(autoThreads(2, 1)).toBe(2);
    expect(autoThreads(2, 4)).toBe(1);
    expect(autoThreads(8, 3)).toBe(2);
    expect(autoThreads(1, 1)).toBe(1);
  });
});

describe('the scheduler on data-parallel cores', () => {
  it('gives a job alone every core, and a sweep one core per job', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, {
      concurrency: 2,
      backend: 'wasm',
      dataParallel: true,
    });
    const alone = newRun();
    scheduler.enqueue(alone);
    expect(host.workers.map(threadsOf)).toEqual([2]);
    // Both cores are taken: the next run waits, then gets both.
    const next = newRun();
    scheduler.enqueue(next);
    expect(scheduler.queuedIds).toEqual([next]);
    host.workers[0]!.finish('completed');
    await new Promise((r) => setImmediate(r));
    expect(host.workers.map(threadsOf)).toEqual([2, 2]);
    host.workers[1]!.finish('completed');
    await scheduler.idle();

    // Queued together, three runs share the cores: two at once on one thread each, then the
    // third on the core the first leaves.
    const sweep = [newRun(), newRun(), newRun()];
    scheduler.enqueueAll(sweep.map((id) => ({ id })));
    expect(scheduler.runningIds).toEqual(sweep.slice(0, 2));
    expect(host.workers.slice(2).map(threadsOf)).toEqual([1, 1]);
    host.workers[2]!.finish('completed');
    await new Promise((r) => setImmediate(r));
    expect(host.workers.slice(2).map(threadsOf)).toEqual([1, 1, 1]);
    host.workers[3]!.finish('completed');
    host.workers[4]!.finish('completed');
    await scheduler.idle();
  });

  it('starts a run that asks for two threads only when two cores are free', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, {
      concurrency: 2,
      backend: 'wasm',
      dataParallel: true,
    });
    const [single, double] = [newRun(['threads=1']), newRun(['threads=2'])];
    scheduler.enqueueAll([{ id: single! }, { id: double! }]);
    expect(scheduler.runningIds).toEqual([single]);
    expect(scheduler.queuedIds).toEqual([double]);
    host.workers[0]!.finish('completed');
    await new Promise((r) => setImmediate(r));
    expect(host.workers.map(threadsOf)).toEqual([1, 2]);
    host.workers[1]!.finish('completed');
    await scheduler.idle();
  });
});

describe('shares and memory', () => {
  it('splits a batch as evenly as possible, never into empty shares', () => {
    expect(shareSizes(128, 2)).toEqual([64, 64]);
    expect(shareSizes(13, 2)).toEqual([7, 6]);
    expect(shareSizes(10, 3)).toEqual([4, 3, 3]);
    expect(shareSizes(1, 2)).toEqual([1]);
  });

  it('counts a copy of the weights and gradients for every extra thread', () => {
    const paper = presetRunConfig('alexnet-paper');
    const one = jobMemoryBytes(paper);
    const two = jobMemoryBytes(paper, 2);
    const params = 60_965_224;
    // The thread's weights, gradients and packed weights, the shared weights and gradients (five
    // float32 copies of 61M weights, 1.2 GB) and the thread's own runtime: 1.35 GB measured.
    expect(two - one).toBeGreaterThan(5 * 4 * params);
    expect(two - one).toBeLessThan(5 * 4 * params + 200 * 2 ** 20);
  });
});
