import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingMap, PushEvent } from '../../core/api/contract.js';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import type { MapResult } from '../../core/schema/analysis.js';
import type { JobSpec } from '../../core/schema/messages.js';
import { upsertIndex } from '../../core/store/indexes.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';
import { serviceCalls } from '../helpers/service-calls.js';

const home = tempDir('svw-api-analysis-');
const host = new FakeHost();
let service: HostService;
let wb: Workbench;
let datasetId: number;
let runId: number;
const events: PushEvent[] = [];
const tick = () => new Promise((r) => setTimeout(r, 20));
const WEIGHTS = 'ab'.repeat(32);

beforeAll(async () => {
  service = createHostService({ home: home.dir, kind: 'serve', jobHost: host, concurrency: 1 });
  service.onEvent((e) => events.push(e));
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'tiny', 8);
  const created = await ok<{ runIds: number[] }>('createRuns', {
    datasetId,
    preset: 'alexnet-cifar',
    settings: ['epochs=1'],
    start: false,
  });
  runId = created.runIds[0]!;
  // The run's best checkpoint as far as the host looks at it (epoch and weights checksum), and
  // its 'all' index built from exactly those weights.
  const dir = path.join(home.dir, 'runs', String(runId), 'checkpoints', 'best');
  mkdirSync(dir, { recursive: true });
  const schedule = { lr: 0.01, drops: 0, best: null, badEpochs: 0 };
  writeFileSync(
    path.join(dir, 'state.json'),
    JSON.stringify({ epoch: 1, step: 1, schedule, valTop1Error: null, bestValTop1Error: null }),
  );
  writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
      userDefinedMetadata: { svw: { config: {}, weightsSha256: WEIGHTS } },
    }),
  );
  const features = path.join(home.dir, 'runs', String(runId), 'features');
  mkdirSync(features, { recursive: true });
  writeFileSync(path.join(features, 'best-all.npy'), 'stands in for the features');
  upsertIndex(wb.db, {
    runId,
    checkpoint: 'best',
    checkpointEpoch: 1,
    checkpointSha256: WEIGHTS,
    split: 'all',
    count: 8,
    dims: 4,
    dtype: 'float32',
    path: path.join(features, 'best-all.npy'),
    idsPath: path.join(features, 'best-all.ids.json'),
  });
});
afterAll(async () => {
  await service.close();
  wb.close();
  home.cleanup();
});

const { ok, failure } = serviceCalls(() => service);

describe('analyses through the service', () => {
  it('computes a map once in a worker, with progress, then serves it from its cache', async () => {
    const first = await ok<{ state: string }>('embeddingMap', { runId, method: 'pca' });
    expect(first).toEqual({ state: 'computing', stage: null, done: 0, total: 0 });
    await tick();
    const worker = host.last;
    const start = worker.received[0] as { type: 'start'; job: JobSpec };
    expect(start.job).toMatchObject({ kind: 'analysis', task: 'map-pca', runId });
    const job = start.job as Extract<JobSpec, { kind: 'analysis' }>;
    expect(job.parts.map((p) => path.basename(p.path))).toEqual(['best-all.npy']);
    // Asking again while it computes starts nothing more and reports how far it got.
    worker.emit({ type: 'analysis-progress', stage: 'pca', done: 3, total: 200 });
    await tick();
    expect(await ok('embeddingMap', { runId, method: 'pca' })).toEqual({
      state: 'computing',
      stage: 'pca',
      done: 3,
      total: 200,
    });
    expect(host.workers).toHaveLength(1);
    expect(events).toContainEqual({
      type: 'analysis-progress',
      runId,
      task: 'map-pca',
      stage: 'pca',
      done: 3,
      total: 200,
    });
    const result: MapResult = {
      task: 'map-pca',
      ids: [0, 1, 2, 3],
      coords: [0, 0, 1, 1, 2, 2, 3, 3],
      predicted: [0, 0, 1, 0],
      confidence: [0.9, 0.8, 0.7, 0.6],
      explained: [0.5, 0.2],
      seconds: 1,
    };
    writeFileSync(job.outPath, JSON.stringify(result));
    worker.emit({ type: 'analysis', path: job.outPath });
    worker.finish('completed');
    await tick();
    expect(events).toContainEqual({ type: 'analysis-done', runId, task: 'map-pca', error: null });
    const ready = await ok<{ state: 'ready'; map: EmbeddingMap }>('embeddingMap', {
      runId,
      method: 'pca',
    });
    expect(ready.map).toMatchObject({
      runId,
      datasetId,
      method: 'pca',
      classes: ['a', 'b'],
      ids: [0, 1, 2, 3],
      x: [0, 1, 2, 3],
      y: [0, 1, 2, 3],
      labels: [0, 1, 0, 1],
      train: [true, true, true, false],
      predicted: [0, 0, 1, 0],
    });
    expect(host.workers).toHaveLength(1);
  });

  it('says why an analysis failed, and tries again when asked again', async () => {
    await ok('labelErrors', { runId });
    await tick();
    const worker = host.last;
    worker.emit({ type: 'error', error: { message: 'the index holds no train images' } });
    worker.finish('completed');
    await tick();
    expect(events).toContainEqual({
      type: 'analysis-done',
      runId,
      task: 'label-errors',
      error: 'the index holds no train images',
    });
    expect(await ok('labelErrors', { runId })).toMatchObject({ state: 'computing' });
    await tick();
    expect(host.workers.length).toBe(3);
    host.last.finish('cancelled');
  });

  it('refuses an index built from other weights than its checkpoint holds now', async () => {
    wb.db.prepare('UPDATE feature_indexes SET checkpoint_sha256 = ?').run('cd'.repeat(32));
    expect(await failure('duplicates', { runId })).toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/has since been replaced/),
    });
  });
});

describe('dataset versions through the service', () => {
  it('makes a version from a review, lists it with its changes, and refuses another dataset’s run', async () => {
    const made = await ok<{ version: number }>('createDatasetVersion', {
      id: datasetId,
      parent: 1,
      changes: [
        { imageIdx: 0, action: 'relabel', label: 1 },
        { imageIdx: 1, action: 'exclude' },
      ],
      sourceRunId: runId,
    });
    expect(made.version).toBe(2);
    expect(events).toContainEqual({ type: 'datasets-changed' });
    const versions = await ok<{ version: number; sourceRunId: number | null }[]>(
      'datasetVersions',
      { id: datasetId },
    );
    expect(versions.map((v) => [v.version, v.sourceRunId])).toEqual([
      [1, null],
      [2, runId],
    ]);
    expect(await ok('datasetVersionDiff', { id: datasetId, version: 2 })).toEqual([
      { imageIdx: 0, split: 'train', path: '/data/tiny/a/0.png', before: 0, after: 1 },
      { imageIdx: 1, split: 'train', path: '/data/tiny/b/1.png', before: 1, after: null },
    ]);
    const other = seedDataset(wb, 'other', 4);
    expect(
      await failure('createDatasetVersion', {
        id: other,
        parent: 1,
        changes: [{ imageIdx: 0, action: 'exclude' }],
        sourceRunId: runId,
      }),
    ).toMatchObject({ code: 'invalid', message: expect.stringMatching(/not on dataset/) });
    const queued = await ok<{ runIds: number[] }>('createRuns', {
      datasetId,
      datasetVersion: 2,
      preset: 'alexnet-cifar',
      settings: ['epochs=1'],
      start: false,
    });
    const detail = await ok<{ run: { datasetVersion: number } }>('getRun', {
      id: queued.runIds[0],
    });
    expect(detail.run.datasetVersion).toBe(2);
  });
});
