import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MethodInput } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import { REFRESH_MS, useRunsStore } from '../../renderer/src/stores/runs';
import { installFakeClient } from './fake-client';
import { fakeRun, fakeRuns } from './runs-fixtures';

type ListInput = MethodInput<'listRuns'>;
const listCalls = (fake: ReturnType<typeof installFakeClient>) =>
  fake.calls.filter(([m]) => m === 'listRuns').map(([, input]) => input as ListInput);

describe('runs store', () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.useRealTimers());

  it('loads every run with the default sort and re-sorts on the server', async () => {
    const fake = installFakeClient({
      listRuns: async ({ sort }) => (sort === 'name' ? [fakeRun(1), fakeRun(2)] : fakeRuns(2)),
    });
    const store = useRunsStore();
    await store.load();
    expect(store.runs.map((r) => r.id)).toEqual([2, 1]);
    expect(listCalls(fake)[0]).toEqual({ sort: '-id' });

    await store.sortBy('name');
    expect(store.sort).toBe('name');
    expect(store.runs.map((r) => r.id)).toEqual([1, 2]);
    await store.sortBy('name');
    expect(store.sort).toBe('-name');
    await store.sortBy('metrics.val_top1_error.min');
    expect(store.sort).toBe('metrics.val_top1_error.min');
    expect(listCalls(fake).map((c) => c.sort)).toEqual([
      '-id',
      'name',
      '-name',
      'metrics.val_top1_error.min',
    ]);
  });

  it('debounces the filter and shows an invalid filter’s message, keeping the last list', async () => {
    vi.useFakeTimers();
    const fake = installFakeClient({
      listRuns: async ({ filter }) => {
        if (filter?.includes('statu '))
          throw new ApiError('invalid', "bad --filter:\nunknown field 'statu'");
        return filter ? [fakeRun(1)] : fakeRuns(3);
      },
    });
    const store = useRunsStore();
    await store.load();
    store.setFilter('s');
    store.setFilter('status = completed');
    await vi.advanceTimersByTimeAsync(300);
    expect(listCalls(fake).map((c) => c.filter)).toEqual([undefined, 'status = completed']);
    expect(store.runs).toHaveLength(1);

    store.setFilter('statu = completed');
    await vi.advanceTimersByTimeAsync(300);
    expect(store.filterError).toBe("unknown field 'statu'");
    expect(store.runs).toHaveLength(1);
    expect(store.error).toBeNull();

    store.setFilter('');
    await store.applyFilter();
    expect(store.filterError).toBeNull();
    expect(store.runs).toHaveLength(3);
  });

  it('patches a row from run-progress without refetching', async () => {
    vi.useFakeTimers();
    const fake = installFakeClient({
      listRuns: async () => [fakeRun(7, { status: 'running', epochsDone: 1, epochsTotal: 10 })],
    });
    const store = useRunsStore();
    await store.start();
    fake.emit({
      type: 'run-progress',
      runId: 7,
      epoch: 3,
      epochs: 10,
      batch: 5,
      batches: 10,
      loss: 1.2,
      imagesPerSec: 40,
    });
    await vi.advanceTimersByTimeAsync(2 * REFRESH_MS);
    expect(listCalls(fake)).toHaveLength(1);
    expect(store.runs[0]).toMatchObject({ epochsDone: 3, epochsTotal: 10 });
    expect(store.live.get(7)).toEqual({ epoch: 3, epochs: 10, batch: 5, batches: 10 });
    store.stop();
  });

  it('coalesces run-status and runs-changed into one refetch per interval', async () => {
    vi.useFakeTimers();
    const fake = installFakeClient({ listRuns: async () => fakeRuns(2) });
    const store = useRunsStore();
    await store.start();
    for (let i = 0; i < 5; i++)
      fake.emit({ type: 'run-status', runId: 1, status: 'running', error: null });
    fake.emit({ type: 'runs-changed' });
    await vi.advanceTimersByTimeAsync(REFRESH_MS - 10);
    expect(listCalls(fake)).toHaveLength(1);
    expect(store.runs.find((r) => r.id === 1)!.status).toBe('running');
    await vi.advanceTimersByTimeAsync(20);
    expect(listCalls(fake)).toHaveLength(2);

    store.stop();
    fake.emit({ type: 'runs-changed' });
    await vi.advanceTimersByTimeAsync(2 * REFRESH_MS);
    expect(listCalls(fake)).toHaveLength(2);
  });

  it('selects single runs, shift-click ranges, and allows compare for 2 to 100', async () => {
    installFakeClient({ listRuns: async () => fakeRuns(120) });
    const store = useRunsStore();
    await store.load();
    store.toggleSelect(120);
    expect(store.canCompare).toBe(false);
    store.toggleSelect(115, true);
    expect(store.selectedIds).toEqual([120, 119, 118, 117, 116, 115]);
    expect(store.canCompare).toBe(true);
    store.toggleSelect(118);
    expect(store.selectedIds).toEqual([120, 119, 117, 116, 115]);
    // The anchor moved to 118: a range back up to 119 adds 119 and 118.
    store.toggleSelect(119, true);
    expect(store.selectedIds).toEqual([120, 119, 118, 117, 116, 115]);

    store.toggleSelectAll();
    expect(store.selectedIds).toHaveLength(120);
    expect(store.canCompare).toBe(false);
    store.toggleSelectAll();
    expect(store.selectedIds).toEqual([]);
  });

  it('drops selected runs that a reload no longer lists', async () => {
    let runs = fakeRuns(3);
    installFakeClient({ listRuns: async () => runs });
    const store = useRunsStore();
    await store.load();
    store.toggleSelect(1);
    store.toggleSelect(3);
    runs = [fakeRun(3), fakeRun(2)];
    await store.load();
    expect(store.selectedIds).toEqual([3]);
  });

  it('groups runs under their experiments, in sort order, collapsible', async () => {
    installFakeClient({
      listRuns: async () =>
        fakeRuns(5, (id) => ({ experiment: id % 2 === 0 ? 'lrn-ablation' : 'baseline' })),
    });
    const store = useRunsStore();
    await store.load();
    store.grouped = true;
    const shape = () =>
      store.rows.map((r) => (r.kind === 'group' ? `${r.experiment}:${r.count}` : r.run.id));
    expect(shape()).toEqual(['baseline:3', 5, 3, 1, 'lrn-ablation:2', 4, 2]);

    store.toggleGroup('baseline');
    expect(shape()).toEqual(['baseline:3', 'lrn-ablation:2', 4, 2]);
    // A range never reaches into a collapsed group.
    store.toggleSelect(4);
    store.toggleSelect(2, true);
    expect(store.selectedIds).toEqual([4, 2]);
    store.toggleGroup('baseline');
    expect(store.rows).toHaveLength(7);
  });

  it('reports a failed load', async () => {
    installFakeClient({
      listRuns: async () => {
        throw new ApiError('internal', 'database is locked');
      },
    });
    const store = useRunsStore();
    await store.load();
    expect(store.error).toBe('database is locked');
    expect(store.loaded).toBe(false);
  });
});
