import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import RunsView from '../../renderer/src/views/RunsView.vue';
import { installFakeClient } from './fake-client';
import { fakeRuns } from './runs-fixtures';

const Blank = defineComponent({ render: () => h('div') });

function makeTestRouter() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/runs', component: RunsView },
      { path: '/runs/:id', component: Blank },
      { path: '/compare', component: Blank },
      { path: '/new', component: Blank },
      { path: '/welcome', component: Blank },
    ],
  });
}

// happy-dom lays nothing out: give every element a 600 px tall viewport for the virtualiser.
const clientHeight = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
beforeEach(() => {
  setActivePinia(createPinia());
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
    configurable: true,
    get: () => 600,
  });
});
afterEach(() => {
  if (clientHeight) Object.defineProperty(HTMLElement.prototype, 'clientHeight', clientHeight);
});

async function mountAt(path: string, pinia = createPinia()) {
  setActivePinia(pinia);
  const router = makeTestRouter();
  await router.push(path);
  const wrapper = mount(RunsView, {
    global: { plugins: [pinia, router] },
    attachTo: document.body,
  });
  await flushPromises();
  return { wrapper, router };
}

describe('RunsView', () => {
  it('renders only the visible rows of 10,000 runs', async () => {
    installFakeClient({ listRuns: async () => fakeRuns(10_000) });
    const { wrapper } = await mountAt('/runs');
    const rows = wrapper.findAll('[data-testid="run-row"]');
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0]!.attributes('data-run-id')).toBe('10000');
    expect(wrapper.get('[data-testid="runs-count"]').text()).toBe('10,000 runs');
    wrapper.unmount();
  });

  it('goes to the compare page with the selected ids', async () => {
    installFakeClient({ listRuns: async () => fakeRuns(5) });
    const { wrapper, router } = await mountAt('/runs');
    const compare = wrapper.get('[data-testid="compare-button"]');
    expect(compare.attributes('disabled')).toBeDefined();

    const boxes = wrapper.findAll('[data-testid="run-select"]');
    await boxes[0]!.trigger('click');
    await boxes[2]!.trigger('click', { shiftKey: true });
    expect(compare.text()).toBe('Compare (3)');
    expect(compare.attributes('disabled')).toBeUndefined();
    await compare.trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/compare?ids=5,4,3');
    wrapper.unmount();
  });

  it('opens a run on a row click and shows the status badge', async () => {
    installFakeClient({ listRuns: async () => fakeRuns(2) });
    const { wrapper, router } = await mountAt('/runs');
    const row = wrapper.get('[data-run-id="1"]');
    expect(row.get('[data-testid="run-status"]').classes()).toContain('status-completed');
    await row.findAll('td')[4]!.trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.path).toBe('/runs/1');
    wrapper.unmount();
  });

  it('shows the filter error under the input', async () => {
    const { ApiError } = await import('../../renderer/src/api/client');
    installFakeClient({
      listRuns: async ({ filter }) => {
        if (filter) throw new ApiError('invalid', 'bad --filter:\nexpected a value');
        return fakeRuns(2);
      },
    });
    const { wrapper } = await mountAt('/runs');
    const input = wrapper.get('[data-testid="runs-filter"]');
    await input.setValue('status =');
    await input.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(wrapper.get('[data-testid="runs-filter-error"]').text()).toContain('expected a value');
    expect(input.classes()).toContain('invalid');
    wrapper.unmount();
  });

  it('groups rows under experiment headers', async () => {
    installFakeClient({
      listRuns: async () => fakeRuns(4, (id) => ({ experiment: id > 2 ? 'b' : 'a' })),
    });
    const { wrapper } = await mountAt('/runs');
    await wrapper.get('[data-testid="group-toggle"]').trigger('click');
    const groups = wrapper.findAll('[data-testid="run-group"]');
    expect(groups.map((g) => g.text())).toEqual(['▾ b · 2 runs', '▾ a · 2 runs']);
    await groups[0]!.get('button').trigger('click');
    expect(wrapper.findAll('[data-testid="run-row"]')).toHaveLength(2);
    wrapper.unmount();
  });

  it('offers the demo and a new run when there are no runs', async () => {
    installFakeClient({ listRuns: async () => [] });
    const { wrapper } = await mountAt('/runs');
    expect(wrapper.text()).toContain('No runs yet');
    const links = wrapper.findAll('a').map((a) => a.attributes('href'));
    expect(links).toContain('/welcome');
    expect(links).toContain('/new');
    wrapper.unmount();
  });
});
