import { flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatasetDetail, HostInfo, MethodOutputs, WorkbenchApi } from '../../core/api/contract';
import type { DatasetRow } from '../../core/store/datasets';
import { ApiError } from '../../renderer/src/api/client';
import { folderName } from '../../renderer/src/lib/import-form';
import { useDatasetsStore } from '../../renderer/src/stores/datasets';
import { useHostStore } from '../../renderer/src/stores/host';
import { installFakeClient, type FakeClient } from './fake-client';

function row(id: number, name: string): DatasetRow {
  return {
    id,
    name,
    sourcePath: `/data/${name}`,
    layout: 'imagefolder',
    imageSize: 32,
    classCount: 10,
    trainCount: 4500,
    valCount: 500,
    skippedCount: 0,
    valSplit: 0.1,
    seed: 1,
    maxPerClass: null,
    fingerprint: 'f',
    createdAt: '2024-03-01T10:00:00Z',
    latestVersion: 1,
  };
}

function detailOf(id: number): DatasetDetail {
  return {
    dataset: row(id, `d${id}`),
    classes: [{ idx: 0, name: 'cat', trainCount: 450, valCount: 50 }],
    skipped: [],
    meanPixel: [125.3, 122.9, 113.9],
    eigenvalues: [0.0452, 0.0061, 0.0012],
  };
}

const info = (canPickFolder: boolean) => ({ canPickFolder }) as HostInfo;

let fake: FakeClient;
let datasets: DatasetRow[];

function install(overrides: Partial<WorkbenchApi> = {}) {
  fake = installFakeClient({
    info: async () => info(false),
    listDatasets: async () => datasets,
    getDataset: async ({ id }) => detailOf(id),
    datasetImages: async () => ({ total: 0, items: [] }),
    importDataset: async () => ({ importId: 'imp-1' }),
    removeDataset: async () => ({ ok: true }),
    ...overrides,
  });
  setActivePinia(createPinia());
}

function calls(method: string) {
  return fake.calls.filter(([m]) => m === method).map(([, input]) => input);
}

beforeEach(() => {
  datasets = [row(1, 'cifar')];
  install();
});

describe('datasets store', () => {
  it('lists datasets and opens one with a random sample', async () => {
    const store = useDatasetsStore();
    await store.load();
    expect(store.datasets.map((d) => d.name)).toEqual(['cifar']);
    await store.select(1);
    expect(store.detail?.meanPixel).toEqual([125.3, 122.9, 113.9]);
    expect(calls('datasetImages')).toEqual([{ id: 1, random: true, limit: 32 }]);
    await store.filterSamples(0);
    expect(calls('datasetImages').at(-1)).toEqual({ id: 1, random: true, limit: 32, label: 0 });
  });

  it('names the dataset after the folder until the user types a name', () => {
    const store = useDatasetsStore();
    store.setPath('/data/flowers/');
    expect(store.form.name).toBe('flowers');
    store.setName('my flowers');
    store.setPath('/data/birds');
    expect(store.form.name).toBe('my flowers');
    store.setName('');
    store.setPath('C:\\images\\birds');
    expect(store.form.name).toBe('birds');
    expect(folderName('C:\\')).toBe('');
  });

  it('imports, following progress and result events of its own import only', async () => {
    const store = useDatasetsStore();
    store.setPath('/data/flowers');
    store.form.size = '64';
    store.form.valSplit = '0.2';
    store.form.maxPerClass = '100';
    await store.startImport();
    expect(calls('importDataset')).toEqual([
      {
        path: '/data/flowers',
        name: 'flowers',
        size: 64,
        valSplit: 0.2,
        maxPerClass: 100,
        labels: 'folders',
      },
    ]);
    expect(store.importing).toBe(true);

    fake.emit({ type: 'import-progress', importId: 'other', done: 9, total: 10 });
    fake.emit({ type: 'import-progress', importId: 'imp-1', done: 30, total: 120 });
    expect(store.importState).toMatchObject({ done: 30, total: 120, phase: 'running' });

    datasets = [row(1, 'cifar'), row(2, 'flowers')];
    const skipped = [
      { path: 'roses/broken.jpg', reason: 'truncated or corrupt image' as const },
      { path: 'notes.txt', reason: 'not an image' as const },
    ];
    fake.emit({ type: 'import-done', importId: 'imp-1', datasetId: 2, error: null, skipped });
    await flushPromises();
    expect(store.importState).toMatchObject({ phase: 'done', datasetId: 2, skipped });
    expect(store.importing).toBe(false);
    expect(store.datasets).toHaveLength(2);
    expect(store.selectedId).toBe(2);
    expect(calls('getDataset')).toEqual([{ id: 2 }]);
    // The form is ready for the next folder.
    expect(store.form.path).toBe('');
  });

  it('keeps events that arrive before the import is acknowledged', async () => {
    let answer: (value: MethodOutputs['importDataset']) => void = () => undefined;
    install({
      importDataset: () => new Promise((resolve) => (answer = resolve)),
      listDatasets: async () => datasets,
    });
    const store = useDatasetsStore();
    store.setPath('/data/x');
    const started = store.startImport();
    await flushPromises();
    fake.emit({ type: 'import-progress', importId: 'imp-9', done: 5, total: 8 });
    answer({ importId: 'imp-9' });
    await started;
    expect(store.importState).toMatchObject({ phase: 'running', done: 5, total: 8 });
  });

  it('shows a failed import with the files it skipped', async () => {
    const store = useDatasetsStore();
    store.setPath('/data/empty');
    await store.startImport();
    fake.emit({
      type: 'import-done',
      importId: 'imp-1',
      datasetId: null,
      error: 'no images found',
      skipped: [{ path: 'a/.hidden', reason: 'hidden file' }],
    });
    expect(store.importState).toMatchObject({
      phase: 'failed',
      error: 'no images found',
      skipped: [{ path: 'a/.hidden', reason: 'hidden file' }],
    });
    expect(calls('listDatasets')).toEqual([]);
  });

  it('checks the form before asking the host, and puts host validation beside its field', async () => {
    const store = useDatasetsStore();
    store.form.size = '4';
    await store.startImport();
    expect(store.fieldErrors.path).toMatch(/folder/);
    expect(store.fieldErrors.name).toBeDefined();
    expect(store.fieldErrors.size).toMatch(/8 to 1024/);
    expect(calls('importDataset')).toEqual([]);

    install({
      importDataset: async () => {
        throw new ApiError('invalid', 'no such folder', 'path');
      },
    });
    const second = useDatasetsStore();
    second.setPath('/nope');
    await second.startImport();
    expect(second.fieldErrors).toEqual({ path: 'no such folder' });
    expect(second.importState.phase).toBe('idle');
  });

  it('offers the folder picker only where the host has one', async () => {
    const store = useDatasetsStore();
    await useHostStore().load();
    expect(store.canPickFolder).toBe(false);
    await store.pickFolder();
    expect(calls('pickFolder')).toEqual([]);

    install({ info: async () => info(true), pickFolder: async () => ({ path: '/home/me/pets' }) });
    const electron = useDatasetsStore();
    await useHostStore().load();
    expect(electron.canPickFolder).toBe(true);
    await electron.pickFolder();
    expect(electron.form).toMatchObject({ path: '/home/me/pets', name: 'pets' });
  });

  it("shows the host's reason when a dataset cannot be removed", async () => {
    install({
      removeDataset: async () => {
        throw new ApiError('refused', 'dataset 1 is used by 3 runs');
      },
    });
    const store = useDatasetsStore();
    expect(await store.remove(1)).toBe(false);
    expect(store.removeError).toEqual({ id: 1, message: 'dataset 1 is used by 3 runs' });
  });

  it('reloads the list when datasets change elsewhere', async () => {
    useDatasetsStore();
    fake.emit({ type: 'datasets-changed' });
    await flushPromises();
    expect(calls('listDatasets')).toHaveLength(1);
  });
});
