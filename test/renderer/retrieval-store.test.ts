import { flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type {
  DatasetImageRef,
  MethodInput,
  RunDetail,
  RunSummary,
  SearchResult,
  WorkbenchApi,
} from '../../core/api/contract';
import type { FeatureIndexRow } from '../../core/store/indexes';
import { ApiError } from '../../renderer/src/api/client';
import { MAX_QUERY_FILE_BYTES } from '../../renderer/src/lib/retrieval-query';
import { useRetrievalStore } from '../../renderer/src/stores/retrieval';
import { installFakeClient, type FakeClient } from './fake-client';
import { fakeRun } from './runs-fixtures';

const DATASET = 4;

const summary = (id: number, retrieval: Record<string, number> = {}): RunSummary =>
  fakeRun(id, { dataset: 'cifar', retrieval });

function detail(id: number): RunDetail {
  // Only the fields the retrieval screen reads; the rest of a run does not matter here.
  return {
    run: { id, name: `run-${id}`, datasetId: DATASET, status: 'completed' },
    checkpoints: [
      { kind: 'best', epoch: 8, step: 800, path: 'best', valTop1Error: 0.4, createdAt: '' },
      { kind: 'last', epoch: 10, step: 1000, path: 'last', valTop1Error: 0.41, createdAt: '' },
    ],
    best: {},
    indexes: [],
  } as unknown as RunDetail;
}

function index(id: number, split: FeatureIndexRow['split'], checkpoint: 'best' | 'last') {
  return {
    id,
    runId: 7,
    checkpoint,
    checkpointEpoch: 8,
    checkpointSha256: 'ab'.repeat(32),
    split,
    count: 5000,
    dims: 4096,
    dtype: 'float16',
    path: 'f.npy',
    idsPath: 'ids.npy',
    createdAt: '2024-03-01T12:00:00Z',
  } satisfies FeatureIndexRow;
}

function image(idx: number, label = 1, className = 'cat'): DatasetImageRef {
  return { datasetId: DATASET, idx, split: 'val', label, className };
}

function result(queryIdx: number | null, sames: (boolean | null)[]): SearchResult {
  const same = sames.filter((s) => s === true).length;
  return {
    query: { imageIdx: queryIdx, label: queryIdx === null ? null : 1, className: 'cat' },
    neighbours: sames.map((s, i) => ({
      ...image(100 + i, s ? 1 : 2, s ? 'cat' : 'dog'),
      split: 'train',
      distance: 10 + i,
      sameClass: s,
    })),
    precisionAtK: queryIdx === null ? null : same / sames.length,
    metric: 'euclidean',
  };
}

let fake: FakeClient;
let indexes: FeatureIndexRow[];

function install(overrides: Partial<WorkbenchApi> = {}) {
  fake = installFakeClient({
    listRuns: async () => [summary(7, { 'p@5': 0.55 }), summary(3)],
    getRun: async ({ id }) => detail(id),
    listIndexes: async () => indexes,
    datasetImages: async (input) =>
      input.random
        ? { total: 50, items: [image(42)] }
        : { total: 50, items: [image(0), image(1), image(2)] },
    search: async ({ query }) =>
      result(query.kind === 'image' ? query.imageIdx : null, [true, true, false, true, false]),
    buildIndex: async () => ({ ok: true }),
    ...overrides,
  });
  setActivePinia(createPinia());
}

function calls(method: string) {
  return fake.calls.filter(([m]) => m === method).map(([, input]) => input);
}

async function readyStore() {
  const store = useRetrievalStore();
  await store.loadRuns();
  await store.selectRun(7);
  return store;
}

beforeEach(() => {
  indexes = [index(1, 'val', 'best'), index(2, 'train', 'last'), index(3, 'train', 'best')];
  install();
});

describe('retrieval store', () => {
  it('lists completed runs and, for a chosen run, loads its indexes and val images', async () => {
    const store = await readyStore();
    expect(calls('listRuns')).toEqual([{ filter: 'status = completed', sort: '-id' }]);
    expect(calls('listIndexes')).toEqual([{ runId: 7 }]);
    // The paper's gallery first: the train split, the best checkpoint.
    expect(store.indexId).toBe(3);
    expect(store.datasetId).toBe(DATASET);
    expect(calls('datasetImages')).toEqual([{ id: DATASET, split: 'val', offset: 0, limit: 24 }]);
    expect(store.browse.items.map((i) => i.idx)).toEqual([0, 1, 2]);
    expect(store.storedPrecision).toEqual([{ k: 5, value: 0.55 }]);
  });

  it('searches by a dataset image with the chosen gallery, k and metric', async () => {
    const store = await readyStore();
    await store.setOptions({ k: 10, metric: 'cosine' });
    await store.searchImage(12);
    expect(calls('search')).toEqual([
      { indexId: 3, query: { kind: 'image', imageIdx: 12 }, k: 10, metric: 'cosine' },
    ]);
    expect(store.result?.precisionAtK).toBeCloseTo(0.6);
  });

  it('searches by a file, sending its bytes as plain base64', async () => {
    const store = await readyStore();
    const file = new File([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], 'dog.png', {
      type: 'image/png',
    });
    await store.searchFile(file);
    const [input] = calls('search') as MethodInput<'search'>[];
    expect(input?.query).toEqual({
      kind: 'file',
      name: 'dog.png',
      base64: btoa(String.fromCharCode(137, 80, 78, 71, 1, 2, 3)),
    });
    expect(store.current?.query).toMatchObject({ kind: 'file', name: 'dog.png' });
  });

  it('refuses an oversize or non-image file without calling the host', async () => {
    const store = await readyStore();
    const big = new File([new Uint8Array(8)], 'huge.jpg', { type: 'image/jpeg' });
    Object.defineProperty(big, 'size', { value: MAX_QUERY_FILE_BYTES + 1 });
    await store.searchFile(big);
    expect(store.error).toMatch(/huge\.jpg is 20\.0 MB; a query image may be at most 20 MB/);
    await store.searchFile(new File(['a,b'], 'table.csv', { type: 'text/csv' }));
    expect(store.error).toMatch(/not an image/);
    expect(calls('search')).toEqual([]);
    expect(store.history).toEqual([]);
  });

  it('searches from a clicked neighbour, and goes back without searching again', async () => {
    const store = await readyStore();
    await store.searchImage(12);
    const neighbour = store.result!.neighbours[1]!;
    await store.searchImage(neighbour.idx);
    expect(store.history.map((h) => h.query)).toEqual([
      { kind: 'image', imageIdx: 12 },
      { kind: 'image', imageIdx: 101 },
    ]);
    expect(calls('search')).toHaveLength(2);

    await store.back();
    expect(store.history).toHaveLength(1);
    expect(store.result?.query.imageIdx).toBe(12);
    expect(calls('search')).toHaveLength(2);

    // A different k makes the kept result stale: the same query is searched again.
    await store.setOptions({ k: 20 });
    expect(calls('search')).toHaveLength(3);
    expect(calls('search')[2]).toMatchObject({ query: { imageIdx: 12 }, k: 20 });
  });

  it('jumps back along the breadcrumb', async () => {
    const store = await readyStore();
    for (const idx of [1, 2, 3]) await store.searchImage(idx);
    await store.goTo(0);
    expect(store.history.map((h) => h.query)).toEqual([{ kind: 'image', imageIdx: 1 }]);
  });

  it('queries with a random val image', async () => {
    const store = await readyStore();
    await store.randomQuery();
    expect(calls('datasetImages').at(-1)).toEqual({
      id: DATASET,
      split: 'val',
      random: true,
      limit: 1,
    });
    expect(calls('search')[0]).toMatchObject({ query: { kind: 'image', imageIdx: 42 } });
  });

  it('builds an index and waits for index-done before using it', async () => {
    indexes = [];
    const store = await readyStore();
    expect(store.indexId).toBeNull();
    await store.buildIndex('last', 'all');
    expect(calls('buildIndex')).toEqual([{ runId: 7, checkpoint: 'last', split: 'all' }]);
    expect(store.building).toBe(true);

    fake.emit({ type: 'index-done', runId: 99, indexId: 5, error: null });
    await flushPromises();
    expect(store.building).toBe(true);

    indexes = [index(9, 'all', 'last')];
    fake.emit({ type: 'index-done', runId: 7, indexId: 9, error: null });
    await flushPromises();
    expect(store.building).toBe(false);
    expect(calls('listIndexes')).toHaveLength(2);
    expect(store.indexId).toBe(9);
  });

  it("shows index-done's error", async () => {
    indexes = [];
    const store = await readyStore();
    await store.buildIndex('best', 'train');
    fake.emit({ type: 'index-done', runId: 7, indexId: null, error: 'worker ran out of memory' });
    await flushPromises();
    expect(store.building).toBe(false);
    expect(store.buildError).toBe('worker ran out of memory');
  });

  it('surfaces API errors', async () => {
    install({
      search: async () => {
        throw new ApiError('not-found', 'feature index 3 not found');
      },
      buildIndex: async () => {
        throw new ApiError('refused', 'the run has no checkpoint');
      },
    });
    const store = await readyStore();
    await store.searchImage(1);
    expect(store.error).toBe('feature index 3 not found');
    expect(store.searching).toBe(false);
    await store.buildIndex('best', 'train');
    expect(store.buildError).toBe('the run has no checkpoint');
    expect(store.building).toBe(false);
  });

  it('drops the previous run when another is chosen', async () => {
    const store = await readyStore();
    await store.searchImage(1);
    await store.selectRun(3);
    expect(store.history).toEqual([]);
    expect(store.runId).toBe(3);
    expect(calls('listIndexes').at(-1)).toEqual({ runId: 3 });
  });
});
