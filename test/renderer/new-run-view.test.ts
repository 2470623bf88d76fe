import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { WorkbenchApi } from '../../core/api/contract';
import { useHostStore } from '../../renderer/src/stores/host';
import { CHECK_DEBOUNCE_MS } from '../../renderer/src/stores/new-run';
import NewRunView from '../../renderer/src/views/NewRunView.vue';
import { presetRunConfig, runConfigSchema } from '../../core/schema/run-config';
import { describeSettings, settingsInfo } from '../../core/schema/settings';
import { extraDefault, withExtraSetting } from '../helpers/extra-setting';
import { installFakeClient } from './fake-client';
import { cifarPreset, dataset, paperPreset, settings } from './new-run-fixtures';

const Blank = defineComponent({ render: () => h('div') });

async function mountAt(path: string, handlers: Partial<WorkbenchApi> = {}) {
  const fake = installFakeClient({
    listDatasets: async () => [dataset],
    presets: async () => [cifarPreset, paperPreset],
    settings: async () => settings,
    checkRun: async ({ settings }) =>
      settings.some((s) => s.startsWith('optim.momentum='))
        ? { ok: false, errors: [{ setting: 'optim.momentum', message: 'must be below 1' }] }
        : { ok: true, config: cifarPreset.defaults, flat: cifarPreset.flat },
    schedulePreview: async () => [{ epoch: 1, lr: 0.01 }],
    createRuns: async ({ sweep }) => ({ runIds: sweep ? [8, 9] : [8] }),
    ...handlers,
  });
  const pinia = createPinia();
  setActivePinia(pinia);
  useHostStore().info = {
    version: '0.1.0',
    home: '/h',
    host: 'serve',
    engine: {
      backend: 'wasm',
      detail: 'tfjs-backend-wasm 4.22.0, SIMD',
      skipped: [{ backend: 'tensorflow', reason: 'libtensorflow is not installed' }],
    },
    concurrency: 1,
    canPickFolder: false,
    empty: false,
    demoAvailable: true,
  };
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/new', component: NewRunView },
      { path: '/:rest(.*)*', component: Blank },
    ],
  });
  await router.push(path);
  const wrapper = mount(NewRunView, {
    global: { plugins: [pinia, router], stubs: { ChartCanvas: true } },
  });
  await flushPromises();
  return { wrapper, router, fake };
}

describe('NewRunView', () => {
  afterEach(() => vi.useRealTimers());

  it('shows every field, the engine and the preview, and starts one run', async () => {
    const { wrapper, router, fake } = await mountAt('/new');
    expect(wrapper.get('[data-testid="field-optim.lr"]').element).toHaveProperty('value', '0.01');
    expect(wrapper.find('[data-testid="field-conv1.filters"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="engine-info"]').text()).toContain('wasm');
    expect(wrapper.get('[data-testid="engine-info"]').text()).toContain('libtensorflow');
    expect(wrapper.find('[data-testid="schedule-preview"]').exists()).toBe(true);

    await wrapper.get('[data-testid="field-optim.lr"]').setValue('0.02');
    expect(wrapper.text()).toContain('default 0.01');
    await wrapper.get('[data-testid="ablation-0"]').setValue(true);
    await wrapper.get('[data-testid="start-button"]').trigger('click');
    await flushPromises();
    expect(fake.calls.find(([m]) => m === 'createRuns')![1]).toMatchObject({
      settings: ['optim.lr=0.02', 'lrn=off'],
      start: true,
    });
    expect(router.currentRoute.value.path).toBe('/runs/8');
  });

  it('counts a sweep and queues it, then lists the runs', async () => {
    const { wrapper, router, fake } = await mountAt('/new');
    await wrapper.get('[data-testid="field-optim.lr"]').setValue('0.01, 0.02, 0.005');
    await wrapper.get('[data-testid="field-batchSize"]').setValue('64,128');
    expect(wrapper.get('[data-testid="sweep-count"]').text()).toContain('This queues 6 runs');
    await wrapper.get('[data-testid="queue-button"]').trigger('click');
    await flushPromises();
    expect(fake.calls.find(([m]) => m === 'createRuns')![1]).toMatchObject({
      sweep: { 'optim.lr': ['0.01', '0.02', '0.005'], batchSize: ['64', '128'] },
      start: false,
    });
    expect(router.currentRoute.value.path).toBe('/runs');
  });

  it('shows a setting core adds, with no change to the renderer', async () => {
    // What the host serves once a setting is added to the run config schema (the helper adds
    // one exactly as core/schema/run-config.ts says to).
    const presets = ['alexnet-paper', 'alexnet-cifar'];
    const served = settingsInfo(
      describeSettings(
        withExtraSetting(runConfigSchema),
        Object.fromEntries(
          presets.map((p) => [p, { ...presetRunConfig(p), warmupEpochs: extraDefault(p) }]),
        ),
      ),
    );
    const { wrapper, fake } = await mountAt('/new', { settings: async () => served });
    const field = wrapper.get('[data-testid="field-warmupEpochs"]');
    expect(field.element).toHaveProperty('value', '2');
    const group = wrapper
      .findAll('fieldset')
      .find((f) => f.find('[data-testid="field-warmupEpochs"]').exists())!;
    expect(group.get('legend').text()).toBe('Schedule');
    expect(group.text()).toContain('epochs');
    expect(group.find('label[title*="linear learning-rate warm-up"]').exists()).toBe(true);

    await field.setValue('1, 3');
    await wrapper.get('[data-testid="field-optim.lr"]').setValue('0.02');
    await wrapper.get('[data-testid="queue-button"]').trigger('click');
    await flushPromises();
    expect(fake.calls.find(([m]) => m === 'createRuns')![1]).toMatchObject({
      settings: ['optim.lr=0.02'],
      sweep: { warmupEpochs: ['1', '3'] },
    });

    await wrapper.get('[data-testid="new-run-preset"]').setValue('alexnet-paper');
    expect(wrapper.get('[data-testid="field-warmupEpochs"]').element).toHaveProperty('value', '5');
  });

  it('marks the field the host rejects once typing pauses', async () => {
    vi.useFakeTimers();
    const { wrapper } = await mountAt('/new');
    await wrapper.get('[data-testid="field-optim.momentum"]').setValue('1.5');
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS + 10);
    await flushPromises();
    expect(wrapper.get('[data-testid="field-optim.momentum"]').classes()).toContain('invalid');
    expect(wrapper.get('[data-testid="field-error-optim.momentum"]').text()).toBe(
      'must be below 1',
    );
    expect(wrapper.get('[data-testid="start-button"]').attributes('disabled')).toBeDefined();
  });

  it('prefills from ?clone=', async () => {
    const { wrapper } = await mountAt('/new?clone=5', {
      cloneRun: async () => ({
        preset: 'alexnet-paper',
        datasetId: 3,
        settings: ['epochs=12'],
        experiment: 'short',
      }),
    });
    expect(wrapper.get('[data-testid="new-run-preset"]').element).toHaveProperty(
      'value',
      'alexnet-paper',
    );
    expect(wrapper.get('[data-testid="field-epochs"]').element).toHaveProperty('value', '12');
    expect(wrapper.get('#new-run-experiment').element).toHaveProperty('value', 'short');
  });
});
