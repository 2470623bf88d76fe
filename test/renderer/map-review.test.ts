import { flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddingMap, MethodInput, RunDetail } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import {
  CORRECT,
  WRONG,
  classColor,
  drawPoints,
  fitView,
  packColor,
  PointGrid,
  pointsInPolygon,
  zoomAt,
} from '../../renderer/src/lib/scatter';
import { useMapStore } from '../../renderer/src/stores/map';
import { useReviewStore } from '../../renderer/src/stores/review';
import { installFakeClient } from './fake-client';

beforeEach(() => setActivePinia(createPinia()));

describe('the scatter', () => {
  const x = [0, 10, 10, 0, 5];
  const y = [0, 0, 10, 10, 5];

  it('fits every point in the canvas and zooms about the cursor', () => {
    const view = fitView(x, y, 120, 120, 10);
    expect(view.scale).toBe(10);
    expect([0 * view.scale + view.tx, 10 * view.scale + view.tx]).toEqual([10, 110]);
    const zoomed = zoomAt(view, 2, 60, 60);
    // The data point under the cursor (5, 5) stays under it.
    expect([5 * zoomed.scale + zoomed.tx, 5 * zoomed.scale + zoomed.ty]).toEqual([60, 60]);
  });

  it('draws each point as a square of its colour, and fades the rest around a selection', () => {
    const view = fitView(x, y, 20, 20, 2);
    const pixels = new Uint32Array(20 * 20);
    const colors = Uint32Array.from(x, (_, i) => packColor(classColor(i)));
    const white = packColor([255, 255, 255]);
    drawPoints(pixels, 20, 20, view, { x, y, colors, background: white, size: 2 });
    const at = (px: number, py: number) => pixels[py * 20 + px];
    const centre = [Math.round(5 * view.scale + view.tx), Math.round(5 * view.scale + view.ty)];
    expect(at(centre[0]! - 1, centre[1]! - 1)).toBe(colors[4]);
    expect(at(0, 19)).toBe(white);
    const selected = Uint8Array.from([0, 0, 0, 0, 1]);
    drawPoints(pixels, 20, 20, view, {
      x,
      y,
      colors,
      background: white,
      size: 2,
      highlighted: selected,
    });
    expect(at(centre[0]! - 1, centre[1]! - 1)).toBe(colors[4]);
    const corner = [Math.round(view.tx), Math.round(view.ty)];
    expect(at(corner[0]! - 1, corner[1]! - 1)).not.toBe(colors[0]);
  });

  it('finds the point under the cursor and the points inside a lasso', () => {
    const view = fitView(x, y, 120, 120, 10);
    const grid = new PointGrid(x, y, 4);
    expect(grid.nearest(view, 62, 58, 6)).toBe(4);
    expect(grid.nearest(view, 35, 35, 6)).toBe(-1);
    const lasso: [number, number][] = [
      [0, 0],
      [70, 0],
      [70, 70],
      [0, 70],
    ];
    expect(pointsInPolygon(x, y, view, lasso)).toEqual([0, 4]);
  });
});

const mapOf = (n: number): EmbeddingMap => ({
  runId: 7,
  datasetId: 3,
  method: 'pca',
  classes: ['cat', 'dog'],
  ids: Array.from({ length: n }, (_, i) => 100 + i),
  x: Array.from({ length: n }, (_, i) => i),
  y: Array.from({ length: n }, (_, i) => -i),
  labels: Array.from({ length: n }, (_, i) => i % 2),
  train: Array.from({ length: n }, () => true),
  predicted: Array.from({ length: n }, () => 0),
  confidence: Array.from({ length: n }, () => 0.8),
  explained: [0.4, 0.2],
});

describe('the map store', () => {
  it('waits for a map being computed, then colours it by label, prediction or correctness', async () => {
    let ready = false;
    const fake = installFakeClient({
      embeddingMap: async () =>
        ready
          ? { state: 'ready', map: mapOf(4) }
          : { state: 'computing', stage: null, done: 0, total: 0 },
    });
    const store = useMapStore();
    await store.selectRun(7);
    expect(store.pending).toMatchObject({ state: 'computing' });
    fake.emit({
      type: 'analysis-progress',
      runId: 7,
      task: 'map-pca',
      stage: 'pca',
      done: 5,
      total: 200,
    });
    expect(store.pending).toMatchObject({ stage: 'pca', done: 5 });
    ready = true;
    fake.emit({ type: 'analysis-done', runId: 7, task: 'map-pca', error: null });
    await flushPromises();
    expect(store.map?.ids).toEqual([100, 101, 102, 103]);
    expect(store.accuracy).toBe(0.5);
    expect(store.colors[1]).toBe(packColor(classColor(1)));
    store.colorBy = 'correct';
    expect(Array.from(store.colors)).toEqual(
      [CORRECT, WRONG, CORRECT, WRONG].map((c) => packColor(c)),
    );
    store.select([1, 2]);
    expect(Array.from(store.selectedMask!)).toEqual([0, 1, 1, 0]);
  });

  it('offers to build the index a run does not have yet', async () => {
    installFakeClient({
      embeddingMap: async () => {
        throw new ApiError('not-found', 'run 7 has no fc7 feature index to analyse');
      },
    });
    const store = useMapStore();
    await store.selectRun(7);
    expect(store.needsIndex).toBe(true);
    expect(store.error).toBeNull();
  });
});

describe('the review store', () => {
  it('gathers relabels and exclusions and saves them as a version made from the run’s version', async () => {
    const detail = { run: { id: 7, datasetId: 3, datasetVersion: 2 } } as unknown as RunDetail;
    const fake = installFakeClient({
      getRun: async () => detail,
      getDataset: async () => ({ classes: [{ name: 'cat' }, { name: 'dog' }] }) as never,
      runMistakes: async () => [],
      labelErrors: async () => ({ state: 'computing', stage: null, done: 0, total: 0 }),
      duplicates: async () => ({ state: 'computing', stage: null, done: 0, total: 0 }),
      createDatasetVersion: async () => ({ version: 3 }),
    });
    const store = useReviewStore();
    await store.selectRun(7);
    expect(store.classes).toEqual(['cat', 'dog']);
    store.stage(10, { action: 'relabel', label: 1 });
    store.stage(11, { action: 'exclude' });
    store.stage(12, { action: 'exclude' });
    store.stage(12, null);
    expect(store.counts).toEqual({ relabel: 1, exclude: 1 });
    await store.save();
    const call = fake.calls.find(
      ([m]) => m === 'createDatasetVersion',
    )![1] as MethodInput<'createDatasetVersion'>;
    expect(call).toEqual({
      id: 3,
      parent: 2,
      changes: [
        { imageIdx: 10, action: 'relabel', label: 1 },
        { imageIdx: 11, action: 'exclude' },
      ],
      note: 'review of run 7',
      sourceRunId: 7,
    });
    expect(store.created).toEqual({ datasetId: 3, version: 3 });
    expect(store.changes.size).toBe(0);
  });
});
