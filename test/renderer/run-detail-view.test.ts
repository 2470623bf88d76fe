import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { RunDetail } from '../../core/api/contract';
import type { RunStatus } from '../../core/store/runs';
import RunDetailView from '../../renderer/src/views/RunDetailView.vue';
import { installFakeClient } from './fake-client';
import { evaluation, runDetail, series } from './run-detail-fixtures';

const Blank = defineComponent({ render: () => h('div') });
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer'];

function fakeHost(status: RunStatus = 'running', detail = runDetail(1, status)) {
  return installFakeClient({
    getRun: async () => detail,
    runClusterLog: async () => ({
      path: '/shared/spool/svw-r1-ab12cd34/task-2.log',
      text: 'slurmstepd: error: *** JOB 812 ON gpu07 CANCELLED ***\n',
      truncated: true,
    }),
    runMetrics: async () => [series('train_loss', 50), series('val_top1_error', 1)],
    runEvaluation: async () =>
      evaluation(
        CLASSES,
        [0.1, 0.2, 0.5, 0.6, 0.3],
        [3, 3, 40, 3, 2, 12, 2, 2, 50, 2, 4, 5, 0, 0, 90],
      ),
    runMistakes: async () => [
      { datasetId: 4, imageIdx: 17, label: 3, predicted: 2, confidence: 0.87 },
    ],
    runLogs: async () => [],
    cancelRun: async () => ({ ok: true }),
    deleteRun: async () => ({ ok: true }),
  });
}

async function mountRun(status: RunStatus = 'running', detail?: RunDetail) {
  const fake = fakeHost(status, detail);
  const pinia = createPinia();
  setActivePinia(pinia);
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/runs/:id', component: RunDetailView, props: (r) => ({ id: Number(r.params.id) }) },
      { path: '/runs', component: Blank },
      { path: '/new', component: Blank },
    ],
  });
  await router.push('/runs/1');
  const wrapper = mount(RunDetailView, {
    props: { id: 1 },
    global: { plugins: [pinia, router], stubs: { ChartCanvas: true } },
    attachTo: document.body,
  });
  await flushPromises();
  return { wrapper, router, fake };
}

const tab = async (wrapper: Awaited<ReturnType<typeof mountRun>>['wrapper'], key: string) => {
  await wrapper.get(`[data-testid="tab-${key}"]`).trigger('click');
  await flushPromises();
};

describe('RunDetailView', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('shows the header and grows the curve as points arrive', async () => {
    const { wrapper, fake } = await mountRun();
    expect(wrapper.get('[data-testid="run-status"]').text()).toBe('running');
    expect(wrapper.text()).toContain('@tensorflow/tfjs-backend-wasm@4.22.0');
    expect(wrapper.find('[data-testid="curves-chart"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="curve-points"]').text()).toBe('50');
    fake.emit({
      type: 'run-metrics',
      runId: 1,
      points: [{ key: 'train_loss', step: 51, epoch: 1.3, value: 1, time: 1_700_000_051 }],
    });
    fake.emit({
      type: 'run-progress',
      runId: 1,
      epoch: 1,
      epochs: 10,
      batch: 5,
      batches: 40,
      loss: 1,
      imagesPerSec: 42.4,
    });
    await flushPromises();
    expect(wrapper.get('[data-testid="curve-points"]').text()).toBe('51');
    expect(wrapper.get('[data-testid="run-progress"]').text()).toContain('42.4 img/s');
    wrapper.unmount();
  });

  it('lists per-class errors worst first and searches them', async () => {
    const { wrapper } = await mountRun();
    await tab(wrapper, 'per-class');
    expect(wrapper.find('[data-testid="per-class-chart"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="class-count"]').text()).toContain('5 of 5');
    await wrapper.get('[data-testid="class-search"]').setValue('AUTO');
    expect(wrapper.get('[data-testid="class-count"]').text()).toContain('1 of 5');
    wrapper.unmount();
  });

  it('mounts the confusion canvas without a 2D context and lists the top confusions', async () => {
    const { wrapper } = await mountRun();
    await tab(wrapper, 'confusion');
    expect(wrapper.find('canvas[data-testid="confusion-matrix"]').exists()).toBe(true);
    const items = wrapper.findAll('[data-testid="top-confusions"] li').map((li) => li.text());
    expect(items).toHaveLength(2);
    expect(items[0]).toMatch(/cat → bird\s*12 \(23%\)/);
    expect(items[1]).toMatch(/bird → deer\s*5 \(9%\)/);
    wrapper.unmount();
  });

  it('shows mistakes with class names and the filters image', async () => {
    const { wrapper } = await mountRun();
    await tab(wrapper, 'mistakes');
    const gallery = wrapper.get('[data-testid="mistakes-gallery"]');
    expect(gallery.get('img').attributes('src')).toBe('res/image/4/17');
    expect(gallery.text()).toContain('cat');
    expect(gallery.text()).toContain('→ bird 87%');
    await tab(wrapper, 'filters');
    // Versioned by the checkpoint's time, so a newer checkpoint is not shown from cache.
    expect(wrapper.get('[data-testid="conv1-filters"]').attributes('src')).toMatch(
      /^res\/filters\/1\/last\?v=\d{4}-\d\d-\d\dT/,
    );
    wrapper.unmount();
  });

  it('cancels a running run and deletes after confirmation', async () => {
    const { wrapper, fake } = await mountRun();
    await wrapper.get('[data-testid="action-cancel"]').trigger('click');
    await flushPromises();
    expect(fake.calls).toContainEqual(['cancelRun', { id: 1 }]);
    wrapper.unmount();

    const done = await mountRun('completed');
    expect(done.wrapper.find('[data-testid="action-cancel"]').exists()).toBe(false);
    await done.wrapper.get('[data-testid="action-delete"]').trigger('click');
    expect(done.fake.calls.some(([m]) => m === 'deleteRun')).toBe(false);
    await done.wrapper.get('[data-testid="confirm-delete"]').trigger('click');
    await flushPromises();
    expect(done.fake.calls).toContainEqual(['deleteRun', { id: 1 }]);
    expect(done.router.currentRoute.value.path).toBe('/runs');
    done.wrapper.unmount();
  });

  it('clones into the new-run form and jumps to the tag field', async () => {
    const { wrapper, router } = await mountRun('completed');
    await wrapper.get('[data-testid="action-tag"]').trigger('click');
    await flushPromises();
    expect(document.activeElement?.getAttribute('data-testid')).toBe('tag-key');
    expect(wrapper.get('[data-testid="run-tags"]').text()).toContain('baseline: yes');
    await wrapper.get('[data-testid="action-clone"]').trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/new?clone=1');
    wrapper.unmount();
  });

  it("shows where a run ran: this machine, or a cluster's Slurm job with its state and log", async () => {
    const local = await mountRun('completed');
    await tab(local.wrapper, 'details');
    expect(local.wrapper.get('[data-testid="run-where"]').text()).toBe(
      'this machine (node workstation)',
    );
    expect(local.wrapper.find('[data-testid="cluster-job"]').exists()).toBe(false);
    expect(local.wrapper.find('[data-testid="run-slurm"]').exists()).toBe(false);
    local.wrapper.unmount();

    const detail = runDetail(1, 'queued');
    detail.run = { ...detail.run, cluster: 'hpc', node: null };
    detail.cluster = {
      cluster: 'hpc',
      slurmJobId: '812_2',
      state: 'PENDING (Resources)',
      node: null,
      attempt: 2,
      open: true,
      logPath: '/shared/spool/svw-r1-ab12cd34/task-2.log',
    };
    const { wrapper, fake } = await mountRun('queued', detail);
    expect(wrapper.get('[data-testid="run-slurm"]').text()).toBe(
      'hpc · job 812_2 · PENDING (Resources)',
    );
    await tab(wrapper, 'details');
    expect(wrapper.get('[data-testid="run-where"]').text()).toBe('cluster hpc');
    expect(wrapper.get('[data-testid="slurm-job-id"]').text()).toBe('812_2');
    expect(wrapper.get('[data-testid="slurm-state"]').text()).toBe('PENDING (Resources)');
    expect(wrapper.get('[data-testid="cluster-job"]').text()).toContain(
      'resubmitted after an interruption',
    );
    expect(wrapper.get('[data-testid="slurm-log"]').text()).toBe(
      '…\nslurmstepd: error: *** JOB 812 ON gpu07 CANCELLED ***',
    );
    const asked = fake.calls.filter(([m]) => m === 'runClusterLog').length;
    await wrapper.get('[data-testid="slurm-log-refresh"]').trigger('click');
    await flushPromises();
    expect(fake.calls.filter(([m]) => m === 'runClusterLog')).toHaveLength(asked + 1);
    expect(fake.calls.find(([m]) => m === 'runClusterLog')![1]).toEqual({ id: 1 });
    wrapper.unmount();
  });
});
