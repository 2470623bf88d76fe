import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEvent } from '../../core/api/contract.js';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import type { WorkerMessage } from '../../core/schema/messages.js';
import { getRun } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';
import { serviceCalls } from '../helpers/service-calls.js';

const home = tempDir('svw-api-jobs-');
const host = new FakeHost();
let service: HostService;
let wb: Workbench;
let datasetId: number;
const events: PushEvent[] = [];
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  service = createHostService({ home: home.dir, kind: 'electron', jobHost: host, concurrency: 1 });
  service.onEvent((e) => events.push(e));
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'tiny');
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const { ok, failure } = serviceCalls(() => service);
const ofType = <T extends PushEvent['type']>(type: T) =>
  events.filter((e): e is Extract<PushEvent, { type: T }> => e.type === type);

const newRun = async () =>
  (
    await ok<{ runIds: number[] }>('createRuns', {
      datasetId,
      preset: 'alexnet-cifar',
      settings: ['epochs=2'],
      start: false,
    })
  ).runIds[0]!;

const progress = (batch: number): WorkerMessage => ({
  type: 'progress',
  epoch: 0,
  epochs: 2,
  batch,
  batches: 100,
  step: batch,
  loss: 2 - batch / 100,
  imagesPerSec: 50,
  phase: 'train',
});

const evaluation = (epoch: number, top1Error: number, checkpoint: 'best' | 'last') => ({
  type: 'evaluation' as const,
  epoch,
  step: epoch * 10,
  split: 'val' as const,
  tenCrop: false,
  checkpoint,
  images: 2,
  loss: 0.7,
  top1Error,
  top5Error: 0,
  perClassError: [top1Error, top1Error],
  perClassCount: [1, 1],
  confusion: [0, 1, 1, 1, 1, 1],
  mistakes: [{ idx: 3, label: 1, predicted: 0, confidence: 0.9 - epoch / 10 }],
});

describe('a training run through the service', () => {
  it('turns worker messages into push events, and stores what runs need later', async () => {
    const id = await newRun();
    expect(await ok('startRun', { id })).toEqual({ ok: true });
    expect(await failure('startRun', { id })).toMatchObject({ status: 409, code: 'refused' });
    const worker = host.last;
    expect(worker.received[0]).toMatchObject({
      type: 'start',
      backend: 'auto',
      job: { runId: id },
    });
    expect(
      ofType('run-status')
        .filter((e) => e.runId === id)
        .map((e) => e.status),
    ).toEqual(['queued', 'running']);

    for (let b = 1; b <= 30; b++) worker.emit(progress(b));
    const sent = ofType('run-progress').filter((e) => e.runId === id);
    expect(sent.map((e) => e.batch)).toEqual([1]); // the rest are held back
    const detail = await ok<{ progress: { batch: number } | null }>('getRun', { id });
    expect(detail.progress?.batch).toBe(30);
    await sleep(300);
    expect(
      ofType('run-progress')
        .filter((e) => e.runId === id)
        .map((e) => e.batch),
    ).toEqual([1, 30]);

    worker.emit({
      type: 'metrics',
      metrics: [{ key: 'train_loss', step: 1, epoch: 0.5, value: 1.5, wallTime: 1000 }],
    });
    worker.emit({ type: 'log', level: 'warn', message: 'slow disk' });
    worker.emit(evaluation(1, 0.5, 'best'));
    worker.emit(evaluation(2, 0.25, 'best'));
    worker.emit(evaluation(3, 0.5, 'last'));
    expect(ofType('run-metrics').at(-1)).toEqual({
      type: 'run-metrics',
      runId: id,
      points: [{ key: 'train_loss', step: 1, epoch: 0.5, value: 1.5, time: 1000 }],
    });
    expect(ofType('run-log').at(-1)).toEqual({
      type: 'run-log',
      runId: id,
      level: 'warn',
      message: 'slow disk',
    });
    expect(ofType('run-evaluation').map((e) => e.epoch)).toEqual([1, 2, 3]);

    // Tags and notes may change while it runs; deleting it may not.
    expect(await failure('deleteRun', { id })).toMatchObject({
      status: 409,
      message: expect.stringMatching(/is running/),
    });
    await ok('tagRun', { id, key: 'goal', value: 'baseline' });
    await ok('noteRun', { id, text: '  looks fine  ' });

    const best = await ok<{ epoch: number; classes: string[]; confusion: number[] }>(
      'runEvaluation',
      { id, which: 'best' },
    );
    expect(best).toMatchObject({ epoch: 2, classes: ['a', 'b'], confusion: [0, 1, 1, 1, 1, 1] });
    expect(await ok('runEvaluation', { id, which: 'last' })).toMatchObject({
      epoch: 3,
      top1Error: 0.5,
    });
    expect(await ok('runMistakes', { id })).toEqual([
      { datasetId, imageIdx: 3, label: 1, predicted: 0, confidence: expect.closeTo(0.6, 6) },
    ]);
    // Only the best and the newest evaluation keep their mistakes.
    const kept = wb.db.prepare('SELECT DISTINCT evaluation_id FROM evaluation_mistakes').all();
    expect(kept).toHaveLength(2);

    worker.emit({ type: 'epoch', epochsDone: 2 });
    worker.finish('completed');
    await tick();
    expect(ofType('run-status').at(-1)).toEqual({
      type: 'run-status',
      runId: id,
      status: 'completed',
      error: null,
    });
    const done = await ok<{
      tags: Record<string, string>;
      notes: { text: string }[];
      progress: unknown;
      best: Record<string, number>;
    }>('getRun', { id });
    expect(done).toMatchObject({
      tags: { goal: 'baseline' },
      notes: [{ text: 'looks fine' }],
      progress: null,
      best: { train_loss: 1.5 },
    });
    const logs = await ok<{ id: number; level: string; message: string }[]>('runLogs', { id });
    expect(logs.map((l) => l.message)).toContain('slow disk');
    expect(await ok('runLogs', { id, afterId: logs.at(-1)!.id })).toEqual([]);

    expect(await failure('cancelRun', { id })).toMatchObject({
      status: 409,
      message: `run ${id} is not running`,
    });
    expect(await failure('resumeRun', { id })).toMatchObject({ status: 409 });
    expect(await ok('deleteRun', { id })).toEqual({ ok: true });
    expect(await failure('getRun', { id })).toMatchObject({ status: 404 });
    expect(events.at(-1)).toEqual({ type: 'runs-changed' });
  });

  it('reports a failed run with its error, cancels, and resumes with more epochs', async () => {
    const id = await newRun();
    await ok('startRun', { id });
    host.last.kill();
    await tick();
    const status = ofType('run-status').at(-1)!;
    expect(status).toMatchObject({
      runId: id,
      status: 'failed',
      error: expect.stringMatching(/killed by SIGKILL/),
    });

    await ok('resumeRun', { id, epochs: 5 });
    expect(getRun(wb.db, id)).toMatchObject({ epochsTotal: 5, status: 'running' });
    expect(host.last.received[0]).toMatchObject({ job: { kind: 'train', config: { epochs: 5 } } });
    expect(await ok('cancelRun', { id })).toEqual({ ok: true });
    await sleep(10);
    expect(getRun(wb.db, id)!.status).toBe('cancelled');
  });

  it('refuses to build an index without a checkpoint, and to search a missing index', async () => {
    const id = await newRun();
    expect(
      await failure('buildIndex', { runId: id, checkpoint: 'best', split: 'train' }),
    ).toMatchObject({
      status: 400,
      message: expect.stringMatching(/no best checkpoint/),
    });
    expect(
      await failure('search', { indexId: 99, query: { kind: 'image', imageIdx: 0 }, k: 3 }),
    ).toMatchObject({ status: 404 });
    expect(await ok('listIndexes', { runId: id })).toEqual([]);
  });
});

describe('datasets through the service', () => {
  it('pages images, samples them, and describes a dataset', async () => {
    const page = await ok<{
      total: number;
      items: { idx: number; className: string; split: string }[];
    }>('datasetImages', { id: datasetId, offset: 2, limit: 3 });
    expect(page.total).toBe(8);
    expect(page.items.map((i) => i.idx)).toEqual([2, 3, 4]);
    expect(page.items[1]).toMatchObject({ className: 'b', split: 'val' });
    const val = await ok<{ total: number; items: { split: string }[] }>('datasetImages', {
      id: datasetId,
      split: 'val',
      label: 1,
    });
    expect(val).toMatchObject({ total: 2 });
    const sample = await ok<{ items: { idx: number }[] }>('datasetImages', {
      id: datasetId,
      random: true,
      limit: 5,
    });
    expect(new Set(sample.items.map((i) => i.idx)).size).toBe(5);
    const detail = await ok<Record<string, unknown>>('getDataset', { id: datasetId });
    expect(detail).toMatchObject({
      dataset: { name: 'tiny', imageSize: 32 },
      classes: [{ name: 'a' }, { name: 'b' }],
      skipped: [{ reason: 'not an image' }],
      meanPixel: [100, 101, 102],
      eigenvalues: [0.06, 0.05, 0.04],
    });
  });

  it('checks an import before starting it', async () => {
    expect(
      await failure('importDataset', { path: path.join(home.dir, 'missing'), name: 'x' }),
    ).toMatchObject({ status: 400, message: expect.stringMatching(/no folder/) });
    expect(
      await failure('importDataset', { path: path.join(home.dir, 'workbench.db'), name: 'x' }),
    ).toMatchObject({ status: 400, message: expect.stringMatching(/not a folder/) });
    expect(await failure('importDataset', { path: home.dir, name: 'tiny' })).toMatchObject({
      status: 409,
      code: 'refused',
    });
    expect(await failure('pickFolder', {})).toMatchObject({
      status: 409,
      message: 'only the desktop app has a folder picker',
    });
  });

  it('serves dataset images, the mean image and conv1 filters as PNG', async () => {
    const image = await service.resource(`res/image/${datasetId}/5`);
    expect(image?.mime).toBe('image/png');
    const decoded = await sharp(image!.body).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width: 32, height: 32, channels: 3 });
    expect([...decoded.data.subarray(0, 3)]).toEqual([35, 36, 37]); // image 5: 5 × 7 + channel
    const mean = await sharp((await service.resource(`/res/mean/${datasetId}`))!.body)
      .raw()
      .toBuffer();
    expect(mean.every((v) => v === 100)).toBe(true);
    expect(await service.resource(`res/image/${datasetId}/8`)).toBeNull();

    const id = await newRun();
    expect(await service.resource(`res/filters/${id}/best`)).toBeNull();
    // A checkpoint with a weight before conv1's, so the offset into weights.bin matters.
    const dir = path.join(home.dir, 'runs', String(id), 'checkpoints', 'best');
    mkdirSync(dir, { recursive: true });
    const before = new Float32Array(7).fill(9);
    const kernel = new Float32Array(3 * 3 * 3 * 2).map((_, i) => (i % 2 === 0 ? i : -i));
    writeFileSync(
      path.join(dir, 'weights.bin'),
      Buffer.concat([Buffer.from(before.buffer), Buffer.from(kernel.buffer)]),
    );
    writeFileSync(path.join(dir, 'state.json'), '{}');
    writeFileSync(
      path.join(dir, 'model.json'),
      JSON.stringify({
        weightsManifest: [
          {
            paths: ['weights.bin'],
            weights: [
              { name: 'other/bias', shape: [7], dtype: 'float32' },
              { name: 'conv1/kernel', shape: [3, 3, 3, 2], dtype: 'float32' },
            ],
          },
        ],
      }),
    );
    const grid = await sharp((await service.resource(`res/filters/${id}/best`))!.body)
      .raw()
      .toBuffer({ resolveWithObject: true });
    // Two 3×3 filters scaled ×11 to 33 px, side by side, with 1 px gaps: 3 + 2 × 33 wide.
    expect(grid.info).toMatchObject({ width: 69, height: 35, channels: 3 });
    const px = (x: number, y: number) => [
      ...grid.data.subarray((y * 69 + x) * 3, (y * 69 + x) * 3 + 3),
    ];
    expect(px(0, 0)).toEqual([255, 255, 255]); // the gap
    // Filter 0 holds 0, 2, 4 … 52: its first pixel (0, 2, 4) is the minimum end, its last the maximum.
    expect(px(1, 1)).toEqual([0, 10, 20]);
    expect(px(33, 33)).toEqual([235, 245, 255]);
  });
});

describe('resources that exist but cannot be read', () => {
  it('are errors for the host to report, not "not found"', async () => {
    const broken = seedDataset(wb, 'broken');
    rmSync(path.join(wb.paths.dataset(broken), 'mean.f32'));
    await expect(service.resource(`res/mean/${broken}`)).rejects.toThrow(
      new RegExp(`cannot serve res/mean/${broken}: ENOENT`),
    );
    truncateSync(path.join(wb.paths.dataset(broken), 'images.u8'), 0);
    await expect(service.resource(`res/image/${broken}/3`)).rejects.toThrow(
      /image 3 is beyond the end/,
    );
    // What does not exist is still null, the 404 of the hosts.
    expect(await service.resource(`res/image/${broken}/999`)).toBeNull();
    expect(await service.resource('res/mean/999')).toBeNull();
  });
});

describe('closing', () => {
  it('kills running workers, fails their runs, and refuses calls afterwards', async () => {
    const id = await newRun();
    await ok('startRun', { id });
    await service.close();
    expect(getRun(wb.db, id)).toMatchObject({ status: 'failed' });
    expect(await service.call('info', {})).toMatchObject({ ok: false, status: 409 });
    expect(await service.resource(`res/mean/${datasetId}`)).toBeNull();
  });
});
