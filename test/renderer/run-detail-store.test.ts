import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MethodInput } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import { useRunDetailStore } from '../../renderer/src/stores/run-detail';
import { installFakeClient, type FakeClient } from './fake-client';
import { evaluation, runDetail, series } from './run-detail-fixtures';

const flush = () => new Promise((r) => setTimeout(r, 0));
const count = (fake: FakeClient, method: string) => fake.calls.filter(([m]) => m === method).length;

function fakeHost(status: Parameters<typeof runDetail>[1] = 'running') {
  let current = runDetail(1, status);
  const fake = installFakeClient({
    getRun: async () => structuredClone(current),
    runMetrics: async () => [series('train_loss', 100), series('val_top1_error', 2)],
    runEvaluation: async () => evaluation(['cat', 'dog'], [0.3, 0.5]),
    runLogs: async () => [
      { id: 1, level: 'info', message: 'started', createdAt: '2026-01-05T10:00:02Z' },
    ],
    cancelRun: async () => ({ ok: true }),
    resumeRun: async () => ({ ok: true }),
    exportRun: async (i: MethodInput<'exportRun'>) => ({
      out: i.out,
      checkpoint: 'best',
      files: ['model.json', 'weights.bin'],
      bytes: 2048,
    }),
    tagRun: async () => ({ ok: true }),
    noteRun: async () => ({ ok: true }),
    deleteRun: async () => ({ ok: true }),
  });
  return { fake, set: (d: ReturnType<typeof runDetail>) => (current = d) };
}

describe('run detail store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('loads the run and its metrics', async () => {
    const { fake } = fakeHost();
    const store = useRunDetailStore();
    await store.load(1);
    expect(store.detail?.run.name).toBe('run-1');
    expect(store.series.train_loss).toHaveLength(100);
    expect(fake.calls.find(([m]) => m === 'runMetrics')?.[1]).toMatchObject({ id: 1 });
  });

  it('appends pushed metric points without asking the host again', async () => {
    const { fake } = fakeHost();
    const store = useRunDetailStore();
    await store.load(1);
    fake.emit({
      type: 'run-metrics',
      runId: 1,
      points: [
        { key: 'train_loss', step: 101, epoch: 2.525, value: 0.9, time: 1_700_000_100 },
        { key: 'lr', step: 101, epoch: 2.525, value: 0.01, time: 1_700_000_100 },
      ],
    });
    // Another run's points are not this run's.
    fake.emit({
      type: 'run-metrics',
      runId: 2,
      points: [{ key: 'train_loss', step: 5, epoch: 0.1, value: 3, time: 1 }],
    });
    expect(store.series.train_loss).toHaveLength(101);
    expect(store.series.train_loss!.at(-1)).toMatchObject({ step: 101, value: 0.9 });
    expect(store.series.lr).toHaveLength(1);
    expect(count(fake, 'runMetrics')).toBe(1);
  });

  it('keeps points pushed while the metrics were being fetched, without duplicates', async () => {
    let answer: (v: ReturnType<typeof series>[]) => void = () => undefined;
    const fake = installFakeClient({
      getRun: async () => runDetail(1),
      runMetrics: () => new Promise((resolve) => (answer = resolve)),
    });
    const store = useRunDetailStore();
    const loading = store.load(1);
    await flush();
    const point = (step: number) => ({
      key: 'train_loss',
      step,
      epoch: step / 40,
      value: 1,
      time: step,
    });
    // Step 100 is also in the answer; step 101 is not.
    fake.emit({ type: 'run-metrics', runId: 1, points: [point(100), point(101)] });
    answer([series('train_loss', 100)]);
    await loading;
    expect(store.series.train_loss?.map((p) => p.step).slice(-3)).toEqual([99, 100, 101]);
  });

  it('tracks progress and refetches details and loaded evaluations on status changes', async () => {
    const { fake, set } = fakeHost();
    const store = useRunDetailStore();
    await store.load(1);
    await store.loadEvaluation('best');
    fake.emit({
      type: 'run-progress',
      runId: 1,
      epoch: 2,
      epochs: 10,
      batch: 3,
      batches: 40,
      loss: 1.2,
      imagesPerSec: 55,
    });
    expect(store.detail?.progress?.imagesPerSec).toBe(55);

    set(runDetail(1, 'completed'));
    fake.emit({ type: 'run-status', runId: 1, status: 'completed', error: null });
    expect(store.status).toBe('completed');
    await flush();
    await flush();
    expect(count(fake, 'getRun')).toBe(2);
    expect(count(fake, 'runEvaluation')).toBe(2);
    expect(store.detail?.progress).toBeNull();

    fake.emit({ type: 'run-evaluation', runId: 1, epoch: 3 });
    await flush();
    expect(count(fake, 'runEvaluation')).toBe(3);
  });

  it('appends pushed log lines after the log is loaded', async () => {
    const { fake } = fakeHost();
    const store = useRunDetailStore();
    await store.load(1);
    await store.loadLogs();
    fake.emit({ type: 'run-log', runId: 1, level: 'warn', message: 'slow batch' });
    expect(store.logs?.map((l) => l.message)).toEqual(['started', 'slow batch']);
  });

  it('calls each action with the right input', async () => {
    const { fake } = fakeHost('completed');
    const store = useRunDetailStore();
    await store.load(1);
    await store.cancel();
    await store.resume(5);
    await store.resume();
    await store.exportTo('/tmp/out', 'best');
    await store.setTag('keep', 'yes');
    await store.setTag('baseline', null);
    await store.addNote('lr too high');
    expect(await store.remove()).toBe(true);
    const actions = fake.calls.filter(([m]) => !['getRun', 'runMetrics'].includes(m));
    expect(actions).toEqual([
      ['cancelRun', { id: 1 }],
      // The run plans 10 epochs; 5 extra make 15.
      ['resumeRun', { id: 1, epochs: 15 }],
      ['resumeRun', { id: 1 }],
      ['exportRun', { id: 1, out: '/tmp/out', checkpoint: 'best' }],
      ['tagRun', { id: 1, key: 'keep', value: 'yes' }],
      ['tagRun', { id: 1, key: 'baseline', value: null }],
      ['noteRun', { id: 1, text: 'lr too high' }],
      ['deleteRun', { id: 1 }],
    ]);
    expect(store.exported?.files).toHaveLength(2);
    expect(store.actionError).toBeNull();
  });

  it('shows the host error of a failed action and of a failed load', async () => {
    installFakeClient({
      getRun: async () => runDetail(1, 'completed'),
      runMetrics: async () => [],
      resumeRun: async () => {
        throw new ApiError('refused', 'run 1 has no checkpoint to resume from');
      },
    });
    const store = useRunDetailStore();
    await store.load(1);
    expect(await store.resume()).toBeNull();
    expect(store.actionError).toBe('run 1 has no checkpoint to resume from');
    expect(store.busy).toBeNull();

    installFakeClient({
      getRun: async () => {
        throw new ApiError('not-found', 'no run 9');
      },
      runMetrics: async () => [],
    });
    await store.load(9);
    expect(store.error).toBe('no run 9');
    expect(store.detail).toBeNull();
  });
});
