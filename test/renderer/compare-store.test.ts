import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MethodInput } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import { useCompareStore } from '../../renderer/src/stores/compare';
import { installFakeClient } from './fake-client';
import { columns, compareResult, evaluation, series } from './run-detail-fixtures';

function fakeHost() {
  return installFakeClient({
    compareRuns: async ({ ids }: MethodInput<'compareRuns'>) => compareResult(ids),
    runsMetrics: async ({ ids }: MethodInput<'runsMetrics'>) =>
      ids.map((id) => ({
        id,
        series: [
          columns(series('val_top1_error', 10, (i) => 0.9 - i / 20 - id / 100)),
          columns(series('train_loss', 400)),
        ],
      })),
    runEvaluation: async () => evaluation(['cat', 'dog'], [0.3, 0.4]),
  });
}

describe('compare store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('loads N runs with their curves, asking for a bounded number of points', async () => {
    const fake = fakeHost();
    const store = useCompareStore();
    await store.load([3, 1, 2, 3]);
    expect(store.runs.map((r) => r.id)).toEqual([3, 1, 2]);
    expect([...store.series.keys()].sort()).toEqual([1, 2, 3]);
    expect(store.series.get(2)?.train_loss).toHaveLength(400);
    // One request for the three runs' curves.
    const metrics = fake.calls.filter(([m]) => m === 'runsMetrics').map(([, i]) => i);
    expect(metrics).toEqual([
      { ids: [3, 1, 2], maxPoints: 1000, keys: expect.arrayContaining(['lr', 'train_loss']) },
    ]);
  });

  it('removes a run without asking the host again', async () => {
    const fake = fakeHost();
    const store = useCompareStore();
    await store.load([1, 2, 3]);
    const calls = fake.calls.length;
    expect(await store.remove(2)).toEqual([1, 3]);
    expect(store.runs.map((r) => r.id)).toEqual([1, 3]);
    expect(store.result?.params.find((p) => p.key === 'optim.lr')?.values).toEqual([
      '0.01',
      '0.03',
    ]);
    expect(store.series.has(2)).toBe(false);
    expect(fake.calls.length).toBe(calls);
    // Adding a run back needs the host, but only for the new run's curves.
    await store.load([1, 3, 2]);
    expect(fake.calls.slice(calls).map(([m, i]) => [m, (i as { ids?: number[] }).ids])).toEqual([
      ['compareRuns', [1, 3, 2]],
      ['runsMetrics', [2]],
    ]);
  });

  it('shows only differing params with diff-only', async () => {
    fakeHost();
    const store = useCompareStore();
    await store.load([1, 2]);
    expect(store.params.map((p) => p.key)).toEqual(['batchSize', 'optim.lr']);
    store.diffOnly = true;
    expect(store.params.map((p) => p.key)).toEqual(['optim.lr']);
  });

  it('fetches each best evaluation once', async () => {
    const fake = fakeHost();
    const store = useCompareStore();
    await store.load([1, 2]);
    await store.loadEvaluation(1);
    await store.loadEvaluation(1);
    expect(fake.calls.filter(([m]) => m === 'runEvaluation')).toEqual([
      ['runEvaluation', { id: 1, which: 'best' }],
    ]);
    expect(store.evaluations.get(1)?.classes).toEqual(['cat', 'dog']);
  });

  it('reports a failed comparison and a run whose curves fail', async () => {
    installFakeClient({
      compareRuns: async () => {
        throw new ApiError('not-found', 'no run 8');
      },
    });
    const store = useCompareStore();
    await store.load([8]);
    expect(store.error).toBe('no run 8');

    installFakeClient({
      compareRuns: async ({ ids }: MethodInput<'compareRuns'>) => compareResult(ids),
      runsMetrics: async ({ ids }: MethodInput<'runsMetrics'>) => {
        if (ids.includes(2)) throw new ApiError('internal', 'disk error');
        return ids.map((id) => ({ id, series: [columns(series('train_loss', 5))] }));
      },
    });
    await store.load([1, 2]);
    expect(store.error).toBeNull();
    expect(store.seriesErrors).toEqual({ 2: 'disk error' });
    expect(store.series.has(1)).toBe(true);
  });
});
