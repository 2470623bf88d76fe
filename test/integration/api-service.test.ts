import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  EvaluationDetail,
  Mistake,
  PushEvent,
  RunDetail,
  SearchResult,
} from '../../core/api/contract.js';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import { forkJobHost } from '../../core/jobs/hosts/fork.js';
import { buildAlexNet } from '../../core/model/alexnet.js';
import { loadCheckpoint, resolveCheckpoint, saveCheckpoint } from '../../core/train/checkpoint.js';
import type { FeatureIndexRow } from '../../core/store/indexes.js';
import { CIFAR_SMALL, tempDir } from '../helpers/cli.js';
import { serviceCalls } from '../helpers/service-calls.js';

/**
 * The host service with real worker processes and real images: the bundled demo trained for one
 * epoch, its evaluation, mistakes and filters, a feature index and searches, and an import.
 */
const home = tempDir('svw-api-home-');
const scratch = tempDir('svw-api-scratch-');
let service: HostService;
const events: PushEvent[] = [];
let runId = 0;
let datasetId = 0;
let indexes: FeatureIndexRow[] = [];
let valQueryIdx = 0;
let storedNeighbours: number[] = [];

beforeAll(() => {
  service = createHostService({ home: home.dir, kind: 'serve', jobHost: forkJobHost });
  service.onEvent((e) => events.push(e));
});
afterAll(async () => {
  await service.close();
  home.cleanup();
  scratch.cleanup();
});

const { ok } = serviceCalls(() => service);

/** The first event (already pushed, or still to come) that `match` accepts. */
function waitForEvent<E extends PushEvent>(
  match: (e: PushEvent) => e is E,
  timeoutMs: number,
): Promise<E> {
  const seen = events.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
    const stop = service.onEvent((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      stop();
      resolve(e);
    });
  });
}

const pngSize = async (body: Buffer) => {
  const meta = await sharp(body).metadata();
  return { format: meta.format, width: meta.width, height: meta.height };
};

describe('the host service on the bundled demo', () => {
  it('imports the demo and trains one epoch, pushing status and progress', async () => {
    expect(await ok('info', {})).toMatchObject({ empty: true, demoAvailable: true });
    ({ runId, datasetId } = await ok<{ runId: number; datasetId: number }>('startDemo', {
      epochs: 1,
    }));
    const done = await waitForEvent(
      (e): e is Extract<PushEvent, { type: 'run-status' }> =>
        e.type === 'run-status' && e.runId === runId && !['queued', 'running'].includes(e.status),
      240_000,
    );
    expect(done).toMatchObject({ status: 'completed', error: null });
    expect(events.some((e) => e.type === 'run-progress' && e.runId === runId)).toBe(true);
    expect(events.some((e) => e.type === 'run-evaluation' && e.runId === runId)).toBe(true);

    const detail = await ok<RunDetail>('getRun', { id: runId });
    expect(detail.run).toMatchObject({ status: 'completed', experiment: 'demo', epochsDone: 1 });
    expect(detail.params).toMatchObject({ batchSize: '64', epochs: '1' });
    expect(detail.checkpoints.map((c) => c.kind).sort()).toEqual(['best', 'last']);
    const metrics = await ok<{ key: string; points: { value: number }[] }[]>('runMetrics', {
      id: runId,
    });
    const val = metrics.find((m) => m.key === 'val_top1_error')!;
    expect(val.points).toHaveLength(1);
    expect(val.points[0]!.value).toBeGreaterThan(0);
    expect(detail.latest.val_top1_error).toBe(val.points[0]!.value);
  }, 300_000);

  it('reports the evaluation and the most confident mistakes on real val images', async () => {
    const evaluation = await ok<EvaluationDetail>('runEvaluation', { id: runId, which: 'best' });
    expect(evaluation.classes).toHaveLength(10);
    expect(evaluation.classes).toContain('airplane');
    expect(evaluation.images).toBe(200);
    const mistakes = await ok<Mistake[]>('runMistakes', { id: runId });
    expect(mistakes.length).toBeGreaterThan(0);
    expect(mistakes.length).toBeLessThanOrEqual(48);
    const val = await ok<{ items: { idx: number; label: number }[] }>('datasetImages', {
      id: datasetId,
      split: 'val',
      limit: 1000,
    });
    const labels = new Map(val.items.map((i) => [i.idx, i.label]));
    for (const m of mistakes) {
      expect(m.datasetId).toBe(datasetId);
      expect(labels.get(m.imageIdx)).toBe(m.label);
      expect(m.predicted).not.toBe(m.label);
      expect(m.confidence).toBeGreaterThan(0);
      expect(m.confidence).toBeLessThanOrEqual(1);
    }
    const confidences = mistakes.map((m) => m.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
  });

  it('serves a dataset image, the mean image and the conv1 filters as PNG', async () => {
    const image = await service.resource(`res/image/${datasetId}/0`);
    expect(await pngSize(image!.body)).toEqual({ format: 'png', width: 32, height: 32 });
    const mean = await service.resource(`res/mean/${datasetId}`);
    expect(await pngSize(mean!.body)).toEqual({ format: 'png', width: 32, height: 32 });
    // 64 filters of 5×5 scaled ×7 (35 px) in an 8 × 8 grid with 1 px gaps: 8·35 + 9.
    const filters = await service.resource(`res/filters/${runId}/best`);
    expect(await pngSize(filters!.body)).toEqual({ format: 'png', width: 289, height: 289 });
  });

  it('builds a feature index in a worker and searches it by image and by file', async () => {
    await ok('buildIndex', { runId, checkpoint: 'best', split: 'train' });
    const built = await waitForEvent(
      (e): e is Extract<PushEvent, { type: 'index-done' }> =>
        e.type === 'index-done' && e.runId === runId,
      120_000,
    );
    expect(built.error).toBeNull();
    const listed = await ok<FeatureIndexRow[]>('listIndexes', { runId });
    expect(listed).toMatchObject([{ id: built.indexId, split: 'train', count: 1000, dims: 1024 }]);

    const train = await ok<{ items: { idx: number }[] }>('datasetImages', {
      id: datasetId,
      split: 'train',
      limit: 1,
    });
    const query = train.items[0]!.idx;
    const byImage = await ok<SearchResult>('search', {
      indexId: built.indexId,
      query: { kind: 'image', imageIdx: query },
      k: 5,
    });
    expect(byImage.neighbours).toHaveLength(5);
    expect(byImage.neighbours.map((n) => n.idx)).not.toContain(query); // not itself
    const same = byImage.neighbours.filter((n) => n.sameClass).length;
    expect(byImage.precisionAtK).toBeCloseTo(same / 5, 10);
    expect(byImage.query).toMatchObject({ imageIdx: query, className: expect.any(String) });

    // A val image against the train gallery: its features come from a worker, computed from the
    // cached pixels, and must match the ones a val index stores for it.
    const val = await ok<{ items: { idx: number; label: number }[] }>('datasetImages', {
      id: datasetId,
      split: 'val',
      limit: 1,
    });
    const valQuery = {
      indexId: built.indexId,
      query: { kind: 'image', imageIdx: val.items[0]!.idx },
      k: 5,
    };
    const embedded = await ok<SearchResult>('search', valQuery);
    expect(embedded.query).toMatchObject({
      imageIdx: val.items[0]!.idx,
      label: val.items[0]!.label,
    });
    expect(embedded.neighbours).toHaveLength(5);
    expect(embedded.precisionAtK).not.toBeNull();
    await ok('buildIndex', { runId, checkpoint: 'best', split: 'val' });
    const valBuilt = await waitForEvent(
      (e): e is Extract<PushEvent, { type: 'index-done' }> =>
        e.type === 'index-done' && e.runId === runId && e.indexId !== built.indexId,
      120_000,
    );
    expect(valBuilt.error).toBeNull();
    const stored = await ok<SearchResult>('search', valQuery);
    expect(stored.neighbours.map((n) => n.idx)).toEqual(embedded.neighbours.map((n) => n.idx));
    indexes = await ok<FeatureIndexRow[]>('listIndexes', { runId });
    valQueryIdx = val.items[0]!.idx;
    storedNeighbours = stored.neighbours.map((n) => n.idx);
    stored.neighbours.forEach((n, i) =>
      expect(n.distance).toBeCloseTo(embedded.neighbours[i]!.distance, 2),
    );

    const jpeg = path.join(CIFAR_SMALL, 'test', 'airplane', '0000.jpg');
    const byFile = await ok<SearchResult>('search', {
      indexId: built.indexId,
      query: { kind: 'file', name: 'plane.jpg', base64: readFileSync(jpeg).toString('base64') },
      k: 5,
      metric: 'cosine',
    });
    expect(byFile).toMatchObject({
      precisionAtK: null,
      metric: 'cosine',
      query: { imageIdx: null },
    });
    expect(byFile.neighbours).toHaveLength(5);
    expect(byFile.neighbours.every((n) => n.sameClass === null && n.distance >= 0)).toBe(true);

    const notImage = await service.call('search', {
      indexId: built.indexId,
      query: { kind: 'file', name: 'notes.txt', base64: Buffer.from('hello').toString('base64') },
      k: 5,
    });
    expect(notImage).toMatchObject({
      ok: false,
      status: 400,
      error: { message: expect.stringMatching(/cannot read image notes\.txt/) },
    });
  }, 200_000);

  it('refuses to query a gallery with features of a checkpoint that has since replaced its own', async () => {
    const [train, val] = ['train', 'val'].map((split) =>
      indexes.find((i) => i.split === split && i.checkpoint === 'best')!,
    ) as [FeatureIndexRow, FeatureIndexRow];
    expect(train.checkpointSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(val.checkpointSha256).toBe(train.checkpointSha256);
    // Training goes on and writes a better network as the best checkpoint.
    const runDir = path.join(home.dir, 'runs', String(runId));
    const { bundle, state } = await loadCheckpoint(resolveCheckpoint(runDir, 'best'));
    bundle.model.dispose();
    const model = buildAlexNet(bundle.config, { seed: 7 });
    await saveCheckpoint(
      runDir,
      'best',
      {
        model,
        config: bundle.config,
        labels: bundle.labels,
        preprocessing: bundle.preprocessing,
        meanImage: bundle.mean.type === 'image' ? bundle.mean.data : undefined,
      },
      { steps: state.step, tensors: [] },
      { ...state, epoch: 2 },
    );
    model.dispose();

    const jpeg = path.join(CIFAR_SMALL, 'test', 'cat', '0000.jpg');
    const byFile = await service.call('search', {
      indexId: train.id,
      query: { kind: 'file', name: 'cat.jpg', base64: readFileSync(jpeg).toString('base64') },
      k: 5,
    });
    expect(byFile).toMatchObject({
      ok: false,
      status: 400,
      error: {
        message: expect.stringMatching(
          /train index was built from its best checkpoint of epoch 1, which has since been replaced \(it is now epoch 2\)/,
        ),
      },
    });
    // A val image is still found through the val index of the gallery's own network.
    const byRow = await ok<SearchResult>('search', {
      indexId: train.id,
      query: { kind: 'image', imageIdx: valQueryIdx },
      k: 5,
    });
    expect(byRow.neighbours.map((n) => n.idx)).toEqual(storedNeighbours);
  });

  it('imports a folder on the host and reports the file it skipped', async () => {
    const folder = path.join(scratch.dir, 'two-classes');
    for (const cls of ['airplane', 'cat']) {
      mkdirSync(path.join(folder, cls), { recursive: true });
      for (let i = 0; i < 5; i++) {
        const name = `${String(i).padStart(4, '0')}.jpg`;
        copyFileSync(path.join(CIFAR_SMALL, 'train', cls, name), path.join(folder, cls, name));
      }
    }
    writeFileSync(path.join(folder, 'cat', 'broken.jpg'), 'this is not a JPEG');
    const { importId } = await ok<{ importId: string }>('importDataset', {
      path: folder,
      name: 'two',
      valSplit: 0.2,
    });
    const done = await waitForEvent(
      (e): e is Extract<PushEvent, { type: 'import-done' }> =>
        e.type === 'import-done' && e.importId === importId,
      60_000,
    );
    expect(done.error).toBeNull();
    expect(done.skipped).toEqual([
      expect.objectContaining({ path: path.join(folder, 'cat', 'broken.jpg') }),
    ]);
    expect(events.some((e) => e.type === 'import-progress' && e.importId === importId)).toBe(true);
    const dataset = await ok<{ dataset: { trainCount: number; valCount: number } }>('getDataset', {
      id: done.datasetId,
    });
    expect(dataset.dataset.trainCount + dataset.dataset.valCount).toBe(10);
  });
});
