import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { HostInfo } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import { useHostStore } from '../../renderer/src/stores/host';
import FirstRunView from '../../renderer/src/views/FirstRunView.vue';
import { installFakeClient } from './fake-client';

const Blank = defineComponent({ render: () => h('div') });

const info = (demoAvailable: boolean): HostInfo => ({
  version: '0.1.0',
  home: '/home/u/.supervision',
  host: 'serve',
  engine: { backend: 'wasm', detail: 'XNNPACK', skipped: [] },
  concurrency: 1,
  canPickFolder: false,
  empty: true,
  demoAvailable,
});

async function mountView(demoAvailable: boolean) {
  const pinia = createPinia();
  setActivePinia(pinia);
  useHostStore().info = info(demoAvailable);
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/welcome', component: FirstRunView },
      { path: '/:rest(.*)*', component: Blank },
    ],
  });
  await router.push('/welcome');
  const wrapper = mount(FirstRunView, { global: { plugins: [pinia, router] } });
  return { wrapper, router };
}

describe('FirstRunView', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('starts the demo and opens its run', async () => {
    const fake = installFakeClient({ startDemo: async () => ({ datasetId: 1, runId: 7 }) });
    const { wrapper, router } = await mountView(true);
    expect(wrapper.text()).toContain('1,000 training images');
    await wrapper.get('[data-testid="start-demo"]').trigger('click');
    await flushPromises();
    expect(fake.calls).toEqual([['startDemo', {}]]);
    expect(router.currentRoute.value.path).toBe('/runs/7');
  });

  it('shows why the demo failed', async () => {
    installFakeClient({
      startDemo: async () => {
        throw new ApiError('refused', 'a demo run is already running');
      },
    });
    const { wrapper, router } = await mountView(true);
    await wrapper.get('[data-testid="start-demo"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[role="alert"]').text()).toContain('a demo run is already running');
    expect(router.currentRoute.value.path).toBe('/welcome');
  });

  it('is disabled, with the reason, when the host has no demo', async () => {
    installFakeClient({});
    const { wrapper } = await mountView(false);
    expect(wrapper.get('[data-testid="start-demo"]').attributes('disabled')).toBeDefined();
    expect(wrapper.text()).toContain('not bundled');
    const links = wrapper.findAll('a').map((a) => a.attributes('href'));
    expect(links).toEqual(['/datasets', '/new']);
  });
});
