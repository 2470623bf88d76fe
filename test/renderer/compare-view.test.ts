import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { MethodInput } from '../../core/api/contract';
import CompareView from '../../renderer/src/views/CompareView.vue';
import { installFakeClient } from './fake-client';
import { columns, compareResult, evaluation, series } from './run-detail-fixtures';

const Blank = defineComponent({ render: () => h('div') });
const CLASSES = ['cat', 'dog', 'ship', 'frog'];

async function mountCompare(ids: number[]) {
  const fake = installFakeClient({
    compareRuns: async ({ ids: wanted }: MethodInput<'compareRuns'>) => compareResult(wanted),
    runsMetrics: async ({ ids }: MethodInput<'runsMetrics'>) =>
      ids.map((id) => ({
        id,
        series: [columns(series('val_top1_error', 5)), columns(series('train_loss', 200))],
      })),
    runEvaluation: async ({ id }: MethodInput<'runEvaluation'>) =>
      id === 1
        ? evaluation(CLASSES, [0.5, 0.2, 0.3, 0.4])
        : evaluation(CLASSES, [0.1, 0.3, 0.2, 0.4]),
  });
  const pinia = createPinia();
  setActivePinia(pinia);
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/compare', name: 'compare', component: Blank },
      { path: '/runs/:id', component: Blank },
      { path: '/runs', component: Blank },
    ],
  });
  await router.push({ path: '/compare', query: { ids: ids.join(',') } });
  const wrapper = mount(CompareView, {
    props: { ids },
    global: { plugins: [pinia, router], stubs: { ChartCanvas: true } },
  });
  await flushPromises();
  return { wrapper, router, fake };
}

describe('CompareView', () => {
  it('asks for runs when there are none', async () => {
    const { wrapper } = await mountCompare([]);
    expect(wrapper.find('[data-testid="compare-empty"]').exists()).toBe(true);
  });

  it('shows curves, params with a differences-only toggle and the best metrics', async () => {
    const { wrapper } = await mountCompare([1, 2, 3]);
    expect(wrapper.find('[data-testid="compare-curves"]').exists()).toBe(true);
    const rows = () =>
      wrapper.findAll('[data-testid="params-table"] tbody tr').map((r) => r.find('th').text());
    expect(rows()).toEqual(['batchSize', 'optim.lr']);
    await wrapper.get('[data-testid="diff-only"]').setValue(true);
    expect(rows()).toEqual(['optim.lr']);
    // val_top1_error is 0.5 − id/100: run 3 has the lowest.
    const cells = wrapper.findAll('[data-testid="metrics-table"] tbody td');
    expect(cells.map((c) => c.classes('best'))).toEqual([false, false, true]);
  });

  it('diffs per-class errors of the first two runs', async () => {
    const { wrapper } = await mountCompare([1, 2, 3]);
    const diff = wrapper.get('[data-testid="class-diff"]');
    expect(diff.get('[data-testid="class-diff-summary"]').text()).toMatch(
      /2 classes better.*1 worse.*1 unchanged/,
    );
    const names = diff.findAll('li .name').map((n) => n.text());
    expect(names).toEqual(['cat', 'ship', 'dog']);
    expect(diff.findAll('li.better')).toHaveLength(2);
    expect(diff.get('li.worse').text()).toContain('+10.0 pt');
  });

  it('removes a run and updates the URL', async () => {
    const { wrapper, router } = await mountCompare([1, 2, 3]);
    await wrapper.get('[data-testid="remove-run-2"]').trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.query.ids).toBe('1,3');
    expect(wrapper.findAll('[data-testid="params-table"] thead th')).toHaveLength(3);
  });
});
