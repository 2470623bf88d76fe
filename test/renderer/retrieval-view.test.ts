import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type {
  DatasetImageRef,
  RunDetail,
  SearchResult,
  WorkbenchApi,
} from '../../core/api/contract';
import type { FeatureIndexRow } from '../../core/store/indexes';
import { ApiError } from '../../renderer/src/api/client';
import { routes } from '../../renderer/src/router';
import RetrievalView from '../../renderer/src/views/RetrievalView.vue';
import { installFakeClient } from './fake-client';

const run = {
  run: { id: 7, name: 'baseline', datasetId: 4, status: 'completed' },
  checkpoints: [{ kind: 'best', epoch: 8, step: 800, path: '', valTop1Error: 0.4, createdAt: '' }],
  best: { retrieval_p_at_5: 0.523 },
  indexes: [],
} as unknown as RunDetail;

const gallery: FeatureIndexRow = {
  id: 3,
  runId: 7,
  checkpoint: 'best',
  checkpointEpoch: 8,
  checkpointSha256: 'ab'.repeat(32),
  split: 'train',
  count: 5000,
  dims: 4096,
  dtype: 'float16',
  path: '',
  idsPath: '',
  createdAt: '2024-03-01T12:00:00Z',
};

const val = (idx: number): DatasetImageRef => ({
  datasetId: 4,
  idx,
  split: 'val',
  label: 3,
  className: 'cat',
});

function found(queryIdx: number): SearchResult {
  const same = [true, false, true, true, false];
  return {
    query: { imageIdx: queryIdx, label: 3, className: 'cat' },
    neighbours: same.map((s, i) => ({
      datasetId: 4,
      idx: 200 + i,
      split: 'train',
      label: s ? 3 : 5,
      className: s ? 'cat' : 'dog',
      distance: 12.3456 + i,
      sameClass: s,
    })),
    precisionAtK: 0.6,
    metric: 'euclidean',
  };
}

async function mountView(overrides: Partial<WorkbenchApi> = {}) {
  const fake = installFakeClient({
    listRuns: async () => [],
    getRun: async () => run,
    listIndexes: async () => [gallery],
    datasetImages: async () => ({ total: 2, items: [val(10), val(11)] }),
    search: async ({ query }) => found(query.kind === 'image' ? query.imageIdx : 0),
    ...overrides,
  });
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/retrieval?run=7');
  await router.isReady();
  const wrapper = mount(RetrievalView, { global: { plugins: [createPinia(), router] } });
  await flushPromises();
  return { wrapper, fake };
}

describe('RetrievalView', () => {
  it('shows the query and its neighbours, outlined by class, with P@k', async () => {
    const { wrapper, fake } = await mountView();
    const browse = wrapper
      .get('[data-testid="query-browser"]')
      .findAll('[data-testid="browse-image"]');
    expect(browse).toHaveLength(2);
    await browse[0]!.trigger('click');
    await flushPromises();

    expect(fake.calls.at(-1)).toEqual([
      'search',
      { indexId: 3, query: { kind: 'image', imageIdx: 10 }, k: 5, metric: 'euclidean' },
    ]);
    expect(wrapper.get('[data-testid="query-image"]').attributes('src')).toBe('res/image/4/10');
    const neighbours = wrapper.findAll('[data-testid="neighbour"]');
    expect(neighbours.map((n) => n.attributes('data-same-class'))).toEqual([
      'true',
      'false',
      'true',
      'true',
      'false',
    ]);
    expect(neighbours[0]!.classes()).toContain('same');
    expect(neighbours[1]!.classes()).toContain('other');
    expect(neighbours[1]!.text()).toContain('dog');
    expect(neighbours[1]!.text()).toContain('13.3');
    expect(neighbours[1]!.get('img').attributes('src')).toBe('res/image/4/201');
    expect(wrapper.get('[data-testid="precision-at-k"]').text()).toContain('P@5 = 60%');
    expect(wrapper.text()).toContain('P@5 52.3%');
  });

  it('searches from a clicked neighbour and goes back', async () => {
    const { wrapper, fake } = await mountView();
    await wrapper.get('[data-testid="browse-image"]').trigger('click');
    await flushPromises();
    await wrapper.findAll('[data-testid="neighbour"]')[2]!.trigger('click');
    await flushPromises();
    expect(fake.calls.at(-1)?.[1]).toMatchObject({ query: { kind: 'image', imageIdx: 202 } });
    expect(wrapper.get('[data-testid="query-image"]').attributes('src')).toBe('res/image/4/202');

    await wrapper.get('nav[aria-label="Query history"] button').trigger('click');
    await flushPromises();
    expect(wrapper.get('[data-testid="query-image"]').attributes('src')).toBe('res/image/4/10');
  });

  it('offers to build an index when the run has none', async () => {
    const { wrapper, fake } = await mountView({
      listIndexes: async () => [],
      buildIndex: async () => ({ ok: true }),
    });
    expect(wrapper.get('[data-testid="retrieval-index"]').attributes('disabled')).toBeDefined();
    await wrapper.get('[data-testid="build-index"]').trigger('click');
    await flushPromises();
    expect(fake.calls.at(-1)).toEqual([
      'buildIndex',
      { runId: 7, checkpoint: 'best', split: 'train' },
    ]);
    expect(wrapper.text()).toContain('Extracting fc7 features');
  });

  it('shows a failed search', async () => {
    const { wrapper } = await mountView({
      search: async () => {
        throw new ApiError('internal', 'feature file is truncated');
      },
    });
    await wrapper.get('[data-testid="random-query"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[data-testid="retrieval-error"]').text()).toBe('feature file is truncated');
  });
});
