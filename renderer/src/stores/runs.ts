import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import type { PushEvent, RunSummary } from '../../../core/api/contract';
import { ApiError, client } from '../api/client';
import type { LiveProgress } from '../components/runs/format';
import { useHostStore } from './host';

/** A line of the runs table: an experiment header (when grouping) or a run. */
export type RunsRow =
  | { kind: 'group'; experiment: string; count: number; collapsed: boolean }
  | { kind: 'run'; run: RunSummary };

/** Push events arrive in bursts while jobs run; refetch at most about twice a second. */
export const REFRESH_MS = 500;
export const FILTER_DEBOUNCE_MS = 250;
/** compareRuns takes at most 100 ids. */
export const MAX_COMPARE = 100;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The runs list: server-side filter and sort, grouping, selection and live updates. */
export const useRunsStore = defineStore('runs', () => {
  const runs = ref<RunSummary[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const filter = ref('');
  /** The filter of the list shown (the text may be mid-edit, or wrong). */
  const appliedFilter = ref('');
  const filterError = ref<string | null>(null);
  const sort = ref('-id');
  const grouped = ref(false);
  const collapsed = reactive(new Set<string>());
  const selected = reactive(new Set<number>());
  /** Runs a parallel-coordinates brush keeps; null when nothing is brushed. */
  const brushed = shallowRef<ReadonlySet<number> | null>(null);
  /** The runs the table shows: the filter's, narrowed by the brush. */
  const visible = computed(() =>
    brushed.value ? runs.value.filter((r) => brushed.value!.has(r.id)) : runs.value,
  );
  /** Batch-level progress of running runs; rows read it so a progress event needs no refetch. */
  const live = reactive(new Map<number, LiveProgress>());
  let anchor: number | null = null;

  let seq = 0;
  let filterTimer: ReturnType<typeof setTimeout> | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let unsubscribe: (() => void) | null = null;

  const sortKey = computed(() => sort.value.replace(/^-/, ''));
  const sortDescending = computed(() => sort.value.startsWith('-'));

  const rows = computed<RunsRow[]>(() => {
    if (!grouped.value) return visible.value.map((run) => ({ kind: 'run', run }));
    // Groups appear in the order of their first run, so the sort orders the groups too.
    const groups = new Map<string, RunSummary[]>();
    for (const run of visible.value) {
      const group = groups.get(run.experiment);
      if (group) group.push(run);
      else groups.set(run.experiment, [run]);
    }
    const out: RunsRow[] = [];
    for (const [experiment, members] of groups) {
      const isCollapsed = collapsed.has(experiment);
      out.push({ kind: 'group', experiment, count: members.length, collapsed: isCollapsed });
      if (!isCollapsed) for (const run of members) out.push({ kind: 'run', run });
    }
    return out;
  });

  /** Ids of the runs shown, top to bottom (collapsed groups hide theirs). */
  const shownIds = computed(() =>
    rows.value.flatMap((row) => (row.kind === 'run' ? [row.run.id] : [])),
  );
  /** Selected ids in list order. */
  const selectedIds = computed(() => runs.value.filter((r) => selected.has(r.id)).map((r) => r.id));
  const canCompare = computed(
    () => selectedIds.value.length >= 2 && selectedIds.value.length <= MAX_COMPARE,
  );

  async function load(): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    const text = filter.value.trim();
    try {
      const result = await client().api.listRuns({
        sort: sort.value,
        ...(text ? { filter: text } : {}),
      });
      if (mine !== seq) return;
      runs.value = result;
      appliedFilter.value = text;
      loaded.value = true;
      error.value = null;
      filterError.value = null;
      const present = new Set(result.map((r) => r.id));
      for (const id of selected) if (!present.has(id)) selected.delete(id);
    } catch (err) {
      if (mine !== seq) return;
      // A bad filter keeps the last good list on screen; the message points at the mistake.
      if (err instanceof ApiError && err.code === 'invalid' && text && err.path !== 'sort')
        filterError.value = err.message.replace(/^bad --filter:\s*\n/, '');
      else error.value = messageOf(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** Narrows the table to these runs (a brush), or shows them all again (null). */
  function setBrushed(ids: readonly number[] | null): void {
    brushed.value = ids ? new Set(ids) : null;
  }

  /** Sets the filter text; the list follows once typing pauses. */
  function setFilter(text: string): void {
    filter.value = text;
    if (filterTimer) clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filterTimer = null;
      void load();
    }, FILTER_DEBOUNCE_MS);
  }

  /** Applies the filter now (Enter in the input). */
  function applyFilter(): Promise<void> {
    if (filterTimer) clearTimeout(filterTimer);
    filterTimer = null;
    return load();
  }

  /** Sorts by a column's key; the same key again flips the direction. */
  function sortBy(key: string, firstDescending = false): Promise<void> {
    const descending = key === sortKey.value ? !sortDescending.value : firstDescending;
    sort.value = `${descending ? '-' : ''}${key}`;
    return load();
  }

  function requestRefresh(): void {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void load();
    }, REFRESH_MS);
  }

  function onEvent(event: PushEvent): void {
    switch (event.type) {
      case 'run-progress': {
        const { runId, epoch, epochs, batch, batches } = event;
        live.set(runId, { epoch, epochs, batch, batches });
        const run = runs.value.find((r) => r.id === runId);
        if (run) {
          run.epochsDone = Math.max(run.epochsDone, epoch);
          run.epochsTotal = epochs;
        }
        break;
      }
      case 'run-status': {
        // The badge changes at once; the refetch brings the rest (end time, best errors).
        const run = runs.value.find((r) => r.id === event.runId);
        if (run) run.status = event.status;
        if (event.status !== 'running') live.delete(event.runId);
        requestRefresh();
        break;
      }
      case 'runs-changed':
        requestRefresh();
        break;
      default:
        break;
    }
  }

  /** Loads the list and follows the host's events until stop(). */
  function start(): Promise<void> {
    unsubscribe ??= useHostStore().on(onEvent);
    return load();
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = null;
    for (const timer of [filterTimer, refreshTimer]) if (timer) clearTimeout(timer);
    filterTimer = refreshTimer = null;
  }

  /** Toggles one run; with `range`, selects every shown run from the last plain click to this one. */
  function toggleSelect(id: number, range = false): void {
    const order = shownIds.value;
    const from = anchor === null ? -1 : order.indexOf(anchor);
    const to = order.indexOf(id);
    if (range && from >= 0 && to >= 0) {
      const [a, b] = from < to ? [from, to] : [to, from];
      for (const each of order.slice(a, b + 1)) selected.add(each);
      return;
    }
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    anchor = id;
  }

  /** Selects every shown run, or clears the selection when all of them are selected. */
  function toggleSelectAll(): void {
    const ids = shownIds.value;
    const all = ids.length > 0 && ids.every((id) => selected.has(id));
    if (all) selected.clear();
    else ids.forEach((id) => selected.add(id));
  }

  function clearSelection(): void {
    selected.clear();
    anchor = null;
  }

  function toggleGroup(experiment: string): void {
    if (collapsed.has(experiment)) collapsed.delete(experiment);
    else collapsed.add(experiment);
  }

  return {
    runs,
    loaded,
    loading,
    error,
    filter,
    appliedFilter,
    filterError,
    brushed,
    visible,
    setBrushed,
    sort,
    sortKey,
    sortDescending,
    grouped,
    collapsed,
    selected,
    live,
    rows,
    shownIds,
    selectedIds,
    canCompare,
    load,
    setFilter,
    applyFilter,
    sortBy,
    start,
    stop,
    toggleSelect,
    toggleSelectAll,
    clearSelection,
    toggleGroup,
  };
});
