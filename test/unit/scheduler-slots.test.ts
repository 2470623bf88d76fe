import { afterAll, describe, expect, it } from 'vitest';
import type { JobProcess, JobStartOptions } from '../../core/jobs/host.js';
import { inferenceMemoryBytes, jobMemoryBytes } from '../../core/jobs/memory.js';
import { Scheduler } from '../../core/jobs/scheduler.js';
import { presetRunConfig } from '../../core/schema/run-config.js';
import { getRun, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-slots-');
const wb = openWorkbench(home.dir);
const datasetId = seedDataset(wb, 'tiny');
afterAll(() => {
  wb.close();
  home.cleanup();
});
const tick = () => new Promise((r) => setImmediate(r));

const { config } = prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' });
const newRun = () => insertRun(wb.db, { experiment: 'slots', datasetId, config });

/** A FakeHost that keeps what each start was told. */
class RecordingHost extends FakeHost {
  readonly starts: (JobStartOptions | undefined)[] = [];
  override start(options?: JobStartOptions): JobProcess {
    this.starts.push(options);
    return super.start();
  }
}

describe('GPU slots', () => {
  it("pins each job to its slot's GPU and records the GPU with the run", async () => {
    const host = new RecordingHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 2, gpus: 2, backend: 'auto' });
    const ids = [newRun(), newRun(), newRun()];
    ids.forEach((id) => scheduler.enqueue(id));
    expect(host.starts.map((s) => s?.env?.CUDA_VISIBLE_DEVICES)).toEqual(['0', '1']);
    expect(ids.map((id) => getRun(wb.db, id)!.gpu)).toEqual([0, 1, null]);
    // The job on GPU 0 ends: the next one gets GPU 0, not a third device or GPU 1 twice.
    host.workers[0]!.finish('completed');
    await tick();
    expect(host.starts.map((s) => s?.env?.CUDA_VISIBLE_DEVICES)).toEqual(['0', '1', '0']);
    expect(getRun(wb.db, ids[2]!)!.gpu).toBe(0);
    host.workers[1]!.finish('completed');
    host.workers[2]!.finish('completed');
    await scheduler.idle();
  });

  it('sets no device without GPUs', () => {
    const host = new RecordingHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    const id = newRun();
    scheduler.enqueue(id);
    expect(host.starts).toEqual([undefined]);
    expect(getRun(wb.db, id)!.gpu).toBeNull();
    scheduler.shutdown();
  });
});

describe('jobs other than training', () => {
  it('wait for a slot like training runs, and hold it until released', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, { concurrency: 1, backend: 'wasm' });
    const first = newRun();
    scheduler.enqueue(first);
    let granted = false;
    const slot = scheduler.acquire().then((s) => {
      granted = true;
      return s;
    });
    await tick();
    expect(granted).toBe(false);
    host.last.finish('completed');
    const held = await slot;
    // While the index build (say) holds the only slot, a queued run waits.
    const next = newRun();
    scheduler.enqueue(next);
    expect(scheduler.queuedIds).toEqual([next]);
    expect(scheduler.busySlots).toBe(1);
    held.release();
    expect(scheduler.runningIds).toEqual([next]);
    scheduler.shutdown();
    await expect(scheduler.acquire()).rejects.toThrow(/shutting down/);
  });
});

describe('memory', () => {
  const perJob = jobMemoryBytes(config);

  it('starts no more jobs than the free memory holds, though cores allow more', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, {
      concurrency: 4,
      backend: 'wasm',
      freeMemory: () => 2.5 * perJob,
    });
    const ids = [newRun(), newRun(), newRun()];
    ids.forEach((id) => scheduler.enqueue(id));
    expect(scheduler.runningIds).toEqual(ids.slice(0, 2));
    expect(scheduler.queuedIds).toEqual([ids[2]]);
    host.workers[0]!.finish('completed');
    await tick();
    expect(scheduler.runningIds).toEqual(ids.slice(1));
    host.workers[1]!.finish('completed');
    host.workers[2]!.finish('completed');
    await scheduler.idle();
  });

  it('always runs one job, however little memory is free', async () => {
    const host = new FakeHost();
    const scheduler = new Scheduler(wb, host, {
      concurrency: 2,
      backend: 'wasm',
      freeMemory: () => 0,
    });
    const ids = [newRun(), newRun()];
    ids.forEach((id) => scheduler.enqueue(id));
    expect(scheduler.runningIds).toEqual([ids[0]]);
    scheduler.cancel(ids[1]!);
    host.last.finish('completed');
    await scheduler.idle();
  });

  it('estimates the paper network near its measured 2.5 GB peak, and the CIFAR one far below', () => {
    const paper = jobMemoryBytes(presetRunConfig('alexnet-paper')) / 1e9;
    expect(paper).toBeGreaterThan(2.5);
    expect(paper).toBeLessThan(3.5);
    expect(jobMemoryBytes(presetRunConfig('alexnet-cifar'))).toBeLessThan((paper * 1e9) / 3);
  });

  it('estimates inference (index builds, query embeddings) by its weights and one forward pass', () => {
    const config = presetRunConfig('alexnet-paper');
    // 60,965,224 float32 weights (244 MB) over the 300 MiB base; one image adds little.
    const one = inferenceMemoryBytes(config, 1) / 1e9;
    expect(one).toBeGreaterThan(0.55);
    expect(one).toBeLessThan(0.6);
    const batch = inferenceMemoryBytes(config, 64);
    expect(batch).toBeGreaterThan(one * 1e9);
    expect(batch).toBeLessThan(jobMemoryBytes(config) / 2);
  });
});
