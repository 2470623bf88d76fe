import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { CompareResult, EvaluationDetail, MetricColumns } from '../../../core/api/contract';
import { client } from '../api/client';
import { keepRuns, visibleParams } from '../lib/compare-result';
import type { MetricPoint } from '../lib/curves';
import { errorText } from '../lib/run-format';

/** The metrics the overlay offers, in the selector's order. */
export const COMPARE_METRICS = [
  { key: 'val_top1_error', label: 'Val top-1 error' },
  { key: 'val_top5_error', label: 'Val top-5 error' },
  { key: 'train_loss', label: 'Train loss (per step)' },
  { key: 'epoch_train_loss', label: 'Train loss (per epoch)' },
  { key: 'lr', label: 'Learning rate' },
] as const;

export const MAX_COMPARED = 100;
/** Points per series asked of the host; the chart reduces further to its width. */
const METRIC_POINTS = 1000;
/**
 * How long arriving curves wait for others before the chart is redrawn with them: a host that
 * answers within it gets one draw of every curve (a draw of 100 curves costs 100–200 ms, which a
 * partial one would add before it), a slow one a redraw this often.
 */
const SERIES_BATCH_MS = 400;
/** Runs per metrics request, and requests in flight at once: curves appear as chunks arrive. */
const CHUNK = 25;
const PARALLEL = 4;

type RunSeries = Record<string, readonly MetricPoint[]>;

/** Up to 100 runs side by side: their params, best metrics, curves and per-class errors. */
export const useCompareStore = defineStore('compare', () => {
  const ids = ref<number[]>([]);
  const result = shallowRef<CompareResult | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const diffOnly = ref(false);
  /** Runs a parallel-coordinates brush keeps (the curves show only those); null: all. */
  const brushed = shallowRef<ReadonlySet<number> | null>(null);

  const series = shallowRef<ReadonlyMap<number, RunSeries>>(new Map());
  const seriesErrors = ref<Record<number, string>>({});
  const evaluations = shallowRef<ReadonlyMap<number, EvaluationDetail | null>>(new Map());
  const evaluationErrors = ref<Record<number, string>>({});

  const params = computed(() =>
    result.value ? visibleParams(result.value.params, diffOnly.value) : [],
  );
  const runs = computed(() => result.value?.runs ?? []);

  /**
   * Shows these runs. A subset of what is shown is cut down locally; anything new asks the host
   * for the comparison and for the curves of the runs it has not sent yet.
   */
  async function load(wanted: readonly number[]): Promise<void> {
    const next = [...new Set(wanted)].slice(0, MAX_COMPARED);
    const shown = new Set(result.value?.runs.map((r) => r.id) ?? []);
    ids.value = next;
    brushed.value = null;
    if (result.value && next.every((id) => shown.has(id))) {
      result.value = keepRuns(result.value, next);
      prune(next);
      return;
    }
    if (next.length === 0) {
      result.value = null;
      prune(next);
      return;
    }
    loading.value = true;
    try {
      const r = await client().api.compareRuns({ ids: next });
      if (!sameIds(ids.value, next)) return;
      result.value = r;
      error.value = null;
      prune(next);
      await loadSeries(next.filter((id) => !series.value.has(id)));
    } catch (err) {
      if (sameIds(ids.value, next)) error.value = errorText(err);
    } finally {
      loading.value = false;
    }
  }

  /** Takes a run out of the comparison; returns the ids left, for the URL. */
  async function remove(id: number): Promise<number[]> {
    const left = ids.value.filter((x) => x !== id);
    await load(left);
    return left;
  }

  function prune(keep: readonly number[]): void {
    const k = new Set(keep);
    series.value = new Map([...series.value].filter(([id]) => k.has(id)));
    evaluations.value = new Map([...evaluations.value].filter(([id]) => k.has(id)));
  }

  async function loadSeries(todo: number[]): Promise<void> {
    const keys = COMPARE_METRICS.map((m) => m.key);
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += CHUNK) chunks.push(todo.slice(i, i + CHUNK));
    // Curves arriving together are shown together: a chart of 100 runs is redrawn a few times
    // while they load, not once per run.
    const arrived = new Map<number, RunSeries>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (arrived.size === 0) return;
      const next = new Map(series.value);
      for (const [id, s] of arrived) if (ids.value.includes(id)) next.set(id, s);
      arrived.clear();
      series.value = next;
    };
    const worker = async () => {
      for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
        try {
          const list = await client().api.runsMetrics({
            ids: chunk,
            keys,
            maxPoints: METRIC_POINTS,
          });
          for (const { id, series: s } of list) {
            arrived.set(id, Object.fromEntries(s.map((x) => [x.key, points(x)])));
            delete seriesErrors.value[id];
          }
          timer ??= setTimeout(flush, SERIES_BATCH_MS);
        } catch (err) {
          // One run the host cannot read must not blank the others: ask for them one by one.
          if (chunk.length > 1) chunks.push(...chunk.map((id) => [id]));
          else seriesErrors.value[chunk[0]!] = errorText(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker));
    flush();
  }

  /** The best evaluation of a run, fetched once (null when the run has none yet). */
  async function loadEvaluation(id: number): Promise<void> {
    if (evaluations.value.has(id)) return;
    try {
      const e = await client().api.runEvaluation({ id, which: 'best' });
      if (!ids.value.includes(id)) return;
      evaluations.value = new Map(evaluations.value).set(id, e);
      delete evaluationErrors.value[id];
    } catch (err) {
      evaluationErrors.value[id] = errorText(err);
    }
  }

  function setBrushed(keep: readonly number[] | null): void {
    brushed.value = keep ? new Set(keep) : null;
  }

  return {
    ids,
    brushed,
    setBrushed,
    result,
    runs,
    params,
    loading,
    error,
    diffOnly,
    series,
    seriesErrors,
    evaluations,
    evaluationErrors,
    load,
    remove,
    loadEvaluation,
  };
});

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A series' points from the columns the host sends. */
function points(c: MetricColumns): MetricPoint[] {
  return c.step.map((step, i) => ({
    step,
    epoch: c.epoch[i]!,
    value: c.value[i]!,
    time: c.time[i]!,
  }));
}
