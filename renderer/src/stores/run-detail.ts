import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import type {
  EvaluationDetail,
  MethodOutputs,
  Mistake,
  PushEvent,
  RunDetail,
} from '../../../core/api/contract';
import { client } from '../api/client';
import { appendPoints, type KeyedPoint, type MetricPoint } from '../lib/curves';
import { errorText } from '../lib/run-format';
import { useHostStore } from './host';

export type Which = 'best' | 'last';
export type LogLine = MethodOutputs['runLogs'][number];

/** Points per series asked of the host; live points are appended beyond it. */
const METRIC_POINTS = 5000;
const LOG_LIMIT = 2000;
const MISTAKE_LIMIT = 120;

/** One run, its curves, evaluations, logs and actions, kept live by the host's push events. */
export const useRunDetailStore = defineStore('run-detail', () => {
  const id = ref<number | null>(null);
  const detail = ref<RunDetail | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  // Series can hold tens of thousands of points: shallow, and triggered by hand on append.
  const series = shallowRef<Record<string, MetricPoint[]>>({});
  const metricsLoading = ref(false);
  const metricsError = ref<string | null>(null);
  let buffered: KeyedPoint[] = [];

  const evaluations = shallowRef<Partial<Record<Which, EvaluationDetail | null>>>({});
  const evaluationLoading = ref<Record<Which, boolean>>({ best: false, last: false });
  const evaluationError = ref<string | null>(null);

  const mistakes = shallowRef<Mistake[] | null>(null);
  const mistakesError = ref<string | null>(null);
  const logs = ref<LogLine[] | null>(null);
  const logsError = ref<string | null>(null);

  const busy = ref<string | null>(null);
  const actionError = ref<string | null>(null);
  const exported = ref<MethodOutputs['exportRun'] | null>(null);

  let unsubscribe: (() => void) | null = null;
  let localLogId = -1;

  const status = computed(() => detail.value?.run.status ?? null);

  /** Opens a run: details and metrics at once, the rest when a tab asks for it. */
  async function load(runId: number): Promise<void> {
    if (id.value !== runId) {
      id.value = runId;
      detail.value = null;
      series.value = {};
      evaluations.value = {};
      mistakes.value = null;
      logs.value = null;
      exported.value = null;
      actionError.value = null;
    }
    unsubscribe ??= useHostStore().on(onEvent);
    loading.value = true;
    await Promise.all([refresh(), loadMetrics()]);
    loading.value = false;
  }

  /** Stops listening; the view calls it when it goes away. */
  function close(): void {
    unsubscribe?.();
    unsubscribe = null;
    id.value = null;
  }

  async function refresh(): Promise<void> {
    const runId = id.value;
    if (runId === null) return;
    try {
      const d = await client().api.getRun({ id: runId });
      if (id.value !== runId) return;
      detail.value = d;
      error.value = null;
    } catch (err) {
      if (id.value === runId) error.value = errorText(err);
    }
  }

  async function loadMetrics(): Promise<void> {
    const runId = id.value;
    if (runId === null) return;
    metricsLoading.value = true;
    buffered = [];
    try {
      const list = await client().api.runMetrics({ id: runId, maxPoints: METRIC_POINTS });
      if (id.value !== runId) return;
      series.value = Object.fromEntries(list.map((s) => [s.key, s.points]));
      metricsError.value = null;
    } catch (err) {
      if (id.value === runId) metricsError.value = errorText(err);
    } finally {
      metricsLoading.value = false;
      // Points pushed while the request was out: keep those the answer did not already have.
      const late = buffered;
      buffered = [];
      append(late, true);
    }
  }

  function append(points: readonly KeyedPoint[], onlyNewer: boolean): void {
    if (points.length === 0) return;
    appendPoints(series.value, points, onlyNewer);
    triggerRef(series);
  }

  async function loadEvaluation(which: Which): Promise<void> {
    const runId = id.value;
    if (runId === null) return;
    evaluationLoading.value[which] = true;
    try {
      const e = await client().api.runEvaluation({ id: runId, which });
      if (id.value !== runId) return;
      evaluations.value = { ...evaluations.value, [which]: e };
      evaluationError.value = null;
    } catch (err) {
      if (id.value === runId) evaluationError.value = errorText(err);
    } finally {
      evaluationLoading.value[which] = false;
    }
  }

  async function loadMistakes(): Promise<void> {
    const runId = id.value;
    if (runId === null) return;
    try {
      const m = await client().api.runMistakes({ id: runId, limit: MISTAKE_LIMIT });
      if (id.value === runId) [mistakes.value, mistakesError.value] = [m, null];
    } catch (err) {
      if (id.value === runId) mistakesError.value = errorText(err);
    }
  }

  async function loadLogs(): Promise<void> {
    const runId = id.value;
    if (runId === null) return;
    try {
      const l = await client().api.runLogs({ id: runId, limit: LOG_LIMIT });
      if (id.value === runId) [logs.value, logsError.value] = [l, null];
    } catch (err) {
      if (id.value === runId) logsError.value = errorText(err);
    }
  }

  /** Reloads whatever was already loaded of the evaluations and mistakes. */
  function refreshEvaluations(): Promise<unknown> {
    const loaded = (Object.keys(evaluations.value) as Which[]).map(loadEvaluation);
    if (mistakes.value) loaded.push(loadMistakes());
    return Promise.all(loaded);
  }

  function onEvent(event: PushEvent): void {
    if (!('runId' in event) || event.runId !== id.value) return;
    switch (event.type) {
      case 'run-metrics':
        if (metricsLoading.value) buffered.push(...event.points);
        else append(event.points, false);
        break;
      case 'run-progress':
        if (detail.value) detail.value.progress = event;
        break;
      case 'run-status':
        if (detail.value) {
          detail.value.run.status = event.status;
          detail.value.run.error = event.error;
          if (event.status !== 'running') detail.value.progress = null;
        }
        void refresh().then(() => (event.status === 'running' ? undefined : refreshEvaluations()));
        break;
      case 'run-evaluation':
        void Promise.all([refresh(), refreshEvaluations()]);
        break;
      case 'run-log':
        logs.value?.push({
          id: localLogId--,
          level: event.level,
          message: event.message,
          createdAt: new Date().toISOString(),
        });
        if (logs.value && logs.value.length > LOG_LIMIT * 2) logs.value.splice(0, LOG_LIMIT);
        break;
    }
  }

  /** Runs an action, showing its failure instead of throwing; null when it failed. */
  async function act<T>(name: string, fn: (runId: number) => Promise<T>): Promise<T | null> {
    const runId = id.value;
    if (runId === null) return null;
    busy.value = name;
    actionError.value = null;
    try {
      return await fn(runId);
    } catch (err) {
      actionError.value = errorText(err);
      return null;
    } finally {
      busy.value = null;
    }
  }

  const cancel = () =>
    act('cancel', async (runId) => {
      const r = await client().api.cancelRun({ id: runId });
      if (!r.ok) actionError.value = 'The run was not running or queued.';
      await refresh();
      return r.ok;
    });

  /** Resumes from the last checkpoint; `extraEpochs` extends the run beyond its planned epochs. */
  const resume = (extraEpochs?: number) =>
    act('resume', async (runId) => {
      const total = detail.value?.run.epochsTotal ?? 0;
      const epochs = extraEpochs && extraEpochs > 0 ? total + extraEpochs : undefined;
      await client().api.resumeRun(epochs === undefined ? { id: runId } : { id: runId, epochs });
      await refresh();
      return true;
    });

  const exportTo = (out: string, checkpoint?: Which) =>
    act('export', async (runId) => {
      exported.value = null;
      const r = await client().api.exportRun(
        checkpoint ? { id: runId, out, checkpoint } : { id: runId, out },
      );
      exported.value = r;
      return r;
    });

  /** Sets a tag, or removes it when value is null. */
  const setTag = (key: string, value: string | null) =>
    act('tag', async (runId) => {
      await client().api.tagRun({ id: runId, key, value });
      await refresh();
      return true;
    });

  const addNote = (text: string) =>
    act('note', async (runId) => {
      await client().api.noteRun({ id: runId, text });
      await refresh();
      return true;
    });

  const remove = () =>
    act('delete', async (runId) => {
      const r = await client().api.deleteRun({ id: runId });
      if (!r.ok) actionError.value = 'The run could not be deleted.';
      return r.ok;
    });

  return {
    id,
    detail,
    status,
    loading,
    error,
    series,
    metricsLoading,
    metricsError,
    evaluations,
    evaluationLoading,
    evaluationError,
    mistakes,
    mistakesError,
    logs,
    logsError,
    busy,
    actionError,
    exported,
    load,
    close,
    refresh,
    loadEvaluation,
    loadMistakes,
    loadLogs,
    cancel,
    resume,
    exportTo,
    setTag,
    addNote,
    remove,
  };
});
