import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter, RouterView } from 'vue-router';
import type { DatasetDetail, HostInfo, WorkbenchApi } from '../../core/api/contract';
import type { DatasetRow } from '../../core/store/datasets';
import { ApiError } from '../../renderer/src/api/client';
import { routes } from '../../renderer/src/router';
import { useHostStore } from '../../renderer/src/stores/host';
import { installFakeClient } from './fake-client';

function row(id: number, name: string): DatasetRow {
  return {
    id,
    name,
    sourcePath: `/data/${name}`,
    layout: 'imagefolder',
    imageSize: 32,
    classCount: 3,
    trainCount: 270,
    valCount: 30,
    skippedCount: 2,
    valSplit: 0.1,
    seed: 1,
    maxPerClass: null,
    fingerprint: 'f',
    createdAt: '2024-03-01T10:00:00Z',
    latestVersion: 1,
  };
}

const detail = (id: number): DatasetDetail => ({
  dataset: row(id, 'flowers'),
  classes: [
    { idx: 0, name: 'daisy', trainCount: 90, valCount: 10 },
    { idx: 1, name: 'rose', trainCount: 90, valCount: 10 },
    { idx: 2, name: 'tulip', trainCount: 90, valCount: 10 },
  ],
  skipped: [{ path: 'rose/broken.jpg', reason: 'truncated or corrupt image' }],
  meanPixel: [120.25, 110.5, 90],
  eigenvalues: [0.0452, 0.0061, 0.0012],
});

// The view as the app shows it: through the router, which passes `selected` for /datasets/:id.
async function mountApp(canPickFolder: boolean, overrides: Partial<WorkbenchApi> = {}) {
  let datasets = [row(1, 'cifar')];
  const fake = installFakeClient({
    info: async () => ({ canPickFolder }) as HostInfo,
    listDatasets: async () => datasets,
    getDataset: async ({ id }) => detail(id),
    datasetImages: async ({ id }) => ({
      total: 300,
      items: [{ datasetId: id, idx: 5, split: 'train', label: 1, className: 'rose' }],
    }),
    importDataset: async () => ({ importId: 'imp-1' }),
    pickFolder: async () => ({ path: '/home/me/flowers' }),
    ...overrides,
  });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/datasets');
  await router.isReady();
  const pinia = createPinia();
  const App = defineComponent({ render: () => h(RouterView) });
  const wrapper = mount(App, {
    global: { plugins: [pinia, router], stubs: { ChartCanvas: true } },
  });
  await useHostStore(pinia).load();
  await flushPromises();
  const addDataset = (d: DatasetRow) => (datasets = [...datasets, d]);
  return { wrapper, fake, router, addDataset };
}

describe('DatasetsView', () => {
  it('imports a folder, shows progress, then the skipped files, and opens the dataset', async () => {
    const { wrapper, fake, router, addDataset } = await mountApp(false);
    expect(wrapper.findAll('[data-testid="dataset-row"]')).toHaveLength(1);
    expect(wrapper.find('[data-testid="import-pick"]').exists()).toBe(false);

    await wrapper.get('[data-testid="import-path"]').setValue('/data/flowers');
    expect((wrapper.get('[data-testid="import-name"]').element as HTMLInputElement).value).toBe(
      'flowers',
    );
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(fake.calls.find(([m]) => m === 'importDataset')?.[1]).toMatchObject({
      path: '/data/flowers',
      name: 'flowers',
    });

    fake.emit({ type: 'import-progress', importId: 'imp-1', done: 75, total: 300 });
    await flushPromises();
    const progress = wrapper.get('[data-testid="import-progress"]');
    expect((progress.element as HTMLProgressElement).value).toBeCloseTo(0.25);
    expect(wrapper.text()).toContain('75 / 300 files');

    addDataset(row(2, 'flowers'));
    fake.emit({
      type: 'import-done',
      importId: 'imp-1',
      datasetId: 2,
      error: null,
      skipped: [
        { path: 'rose/broken.jpg', reason: 'truncated or corrupt image', detail: 'EOF' },
        { path: 'README.txt', reason: 'not an image' },
      ],
    });
    await flushPromises();

    const result = wrapper.get('[data-testid="import-result"]');
    expect(result.text()).toContain('Imported 3 classes as “flowers”');
    expect(result.text()).toContain('2 files skipped');
    const skipped = wrapper.findAll('[data-testid="skipped-file"]');
    expect(skipped).toHaveLength(2);
    expect(skipped[0]!.text()).toContain('rose/broken.jpg');
    expect(skipped[0]!.text()).toContain('truncated or corrupt image');
    expect(skipped[1]!.text()).toContain('README.txt');

    expect(router.currentRoute.value.fullPath).toBe('/datasets/2');
    expect(wrapper.findAll('[data-testid="dataset-row"]')).toHaveLength(2);
    expect(wrapper.find('[data-testid="class-counts-chart"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="sample-grid"]').text()).toContain('rose');
    expect(wrapper.get('[data-testid="mean-image"]').attributes('src')).toBe('res/mean/2');
    expect(wrapper.text()).toContain('R 120.3 · G 110.5 · B 90.0');
    expect(wrapper.text()).toContain('0.0452 · 0.00610 · 0.00120');
  });

  it('reports a failed import', async () => {
    const { wrapper, fake } = await mountApp(false);
    await wrapper.get('[data-testid="import-path"]').setValue('/data/empty');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    fake.emit({
      type: 'import-done',
      importId: 'imp-1',
      datasetId: null,
      error: 'no images',
      skipped: [],
    });
    await flushPromises();
    expect(wrapper.get('[data-testid="import-error"]').text()).toContain(
      'Import failed: no images',
    );
  });

  it('fills the folder from the native picker in Electron', async () => {
    const { wrapper } = await mountApp(true);
    await wrapper.get('[data-testid="import-pick"]').trigger('click');
    await flushPromises();
    expect((wrapper.get('[data-testid="import-path"]').element as HTMLInputElement).value).toBe(
      '/home/me/flowers',
    );
  });

  it('opens a dataset from its row and shows its import report', async () => {
    const { wrapper, router } = await mountApp(false);
    await wrapper.get('[data-testid="dataset-row"]').trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/datasets/1');
    expect(wrapper.get('[data-testid="skipped-file"]').text()).toContain('rose/broken.jpg');
  });

  it('asks before removing, and shows why the host refused', async () => {
    const { wrapper, fake } = await mountApp(false, {
      removeDataset: async () => {
        throw new ApiError('refused', 'dataset 1 is used by 2 runs');
      },
    });
    await wrapper.get('[aria-label="Remove dataset cifar"]').trigger('click');
    expect(fake.calls.some(([m]) => m === 'removeDataset')).toBe(false);
    await wrapper.get('.actions button.danger').trigger('click');
    await flushPromises();
    expect(wrapper.text()).toContain('Cannot remove dataset #1: dataset 1 is used by 2 runs');
  });
});
