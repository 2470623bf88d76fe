import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  AnalysisPending,
  MethodOutputs,
  Mistake,
  PushEvent,
  RunDetail,
} from '../../../core/api/contract';
import type { AnalysisTask } from '../../../core/schema/analysis';
import { client } from '../api/client';
import { errorMessage } from '../lib/run-format';
import { useHostStore } from './host';

type Ready<M extends 'labelErrors' | 'duplicates'> = Extract<MethodOutputs[M], { state: 'ready' }>;

/** A change the user chose for an image, not yet saved as a dataset version. */
export interface PendingChange {
  imageIdx: number;
  action: 'relabel' | 'exclude';
  label?: number;
}

interface Section<T> {
  data: T | null;
  pending: AnalysisPending | null;
  error: string | null;
}

const empty = <T>(): Section<T> => ({ data: null, pending: null, error: null });

/**
 * The review queue of a run: its most confident mistakes, the label-error candidates and the
 * duplicates, and the relabel and exclude actions chosen on them (here or on the map), saved
 * together as a new version of the run's dataset.
 */
export const useReviewStore = defineStore('review', () => {
  const api = client().api;
  const host = useHostStore();

  const runId = ref<number | null>(null);
  const run = shallowRef<RunDetail | null>(null);
  const classes = ref<string[]>([]);
  const mistakes = ref<Section<Mistake[]>>(empty());
  const labelErrors = ref<Section<Ready<'labelErrors'>>>(empty());
  const duplicates = ref<Section<Ready<'duplicates'>>>(empty());
  const changes = ref(new Map<number, PendingChange>());
  const note = ref('');
  const saving = ref(false);
  const saveError = ref<string | null>(null);
  /** The version the last save made. */
  const created = ref<{ datasetId: number; version: number } | null>(null);
  let token = 0;

  const datasetId = computed(() => run.value?.run.datasetId ?? null);
  const counts = computed(() => {
    const all = [...changes.value.values()];
    return {
      relabel: all.filter((c) => c.action === 'relabel').length,
      exclude: all.filter((c) => c.action === 'exclude').length,
    };
  });

  async function selectRun(id: number | null): Promise<void> {
    const mine = ++token;
    // Actions chosen for another run's dataset do not carry over.
    if (id !== runId.value) changes.value = new Map();
    runId.value = id;
    run.value = null;
    mistakes.value = empty();
    labelErrors.value = empty();
    duplicates.value = empty();
    if (id === null) return;
    try {
      const detail = await api.getRun({ id });
      if (mine !== token) return;
      run.value = detail;
      if (detail.run.datasetId !== null) {
        const dataset = await api.getDataset({ id: detail.run.datasetId });
        if (mine === token) classes.value = dataset.classes.map((c) => c.name);
      }
    } catch (err) {
      if (mine === token) mistakes.value = { ...empty(), error: errorMessage(err) };
      return;
    }
    await Promise.all([loadMistakes(), load('label-errors'), load('duplicates')]);
  }

  async function loadMistakes(): Promise<void> {
    const id = runId.value;
    if (id === null) return;
    try {
      const data = await api.runMistakes({ id, limit: 100 });
      if (id === runId.value) mistakes.value = { ...empty(), data };
    } catch (err) {
      if (id === runId.value) mistakes.value = { ...empty(), error: errorMessage(err) };
    }
  }

  function update(task: 'label-errors' | 'duplicates', next: Section<unknown>): void {
    if (task === 'label-errors') labelErrors.value = next as Section<Ready<'labelErrors'>>;
    else duplicates.value = next as Section<Ready<'duplicates'>>;
  }

  /** Loads one analysis, or learns that it is computing (its end arrives as an event). */
  async function load(task: 'label-errors' | 'duplicates'): Promise<void> {
    const id = runId.value;
    if (id === null) return;
    try {
      const answer =
        task === 'label-errors'
          ? await api.labelErrors({ runId: id, limit: 200 })
          : await api.duplicates({ runId: id });
      if (id !== runId.value) return;
      if (answer.state === 'ready') update(task, { ...empty(), data: answer });
      else update(task, { ...empty(), pending: answer });
    } catch (err) {
      if (id === runId.value) update(task, { ...empty(), error: errorMessage(err) });
    }
  }

  /** Chooses an action for an image (replacing any other for it); null clears it. */
  function stage(imageIdx: number, change: Omit<PendingChange, 'imageIdx'> | null): void {
    const next = new Map(changes.value);
    if (change) next.set(imageIdx, { imageIdx, ...change });
    else next.delete(imageIdx);
    changes.value = next;
  }

  /** Saves the chosen actions as a new version made from the run's version. */
  async function save(): Promise<void> {
    const detail = run.value;
    if (!detail || detail.run.datasetId === null || changes.value.size === 0) return;
    saving.value = true;
    saveError.value = null;
    try {
      const { version } = await api.createDatasetVersion({
        id: detail.run.datasetId,
        parent: detail.run.datasetVersion,
        changes: [...changes.value.values()],
        note: note.value.trim() || `review of run ${detail.run.id}`,
        sourceRunId: detail.run.id,
      });
      created.value = { datasetId: detail.run.datasetId, version };
      changes.value = new Map();
      note.value = '';
    } catch (err) {
      saveError.value = errorMessage(err);
    } finally {
      saving.value = false;
    }
  }

  host.on((event: PushEvent) => {
    if (!('runId' in event) || event.runId !== runId.value) return;
    const task = 'task' in event ? (event.task as AnalysisTask) : null;
    if (task !== 'label-errors' && task !== 'duplicates') return;
    const section = task === 'label-errors' ? labelErrors.value : duplicates.value;
    if (event.type === 'analysis-progress' && section.pending)
      update(task, {
        ...empty(),
        pending: { state: 'computing', stage: event.stage, done: event.done, total: event.total },
      });
    else if (event.type === 'analysis-done') {
      if (event.error) update(task, { ...empty(), error: event.error });
      else void load(task);
    }
  });

  return {
    runId,
    run,
    classes,
    datasetId,
    mistakes,
    labelErrors,
    duplicates,
    changes,
    counts,
    note,
    saving,
    saveError,
    created,
    selectRun,
    load,
    stage,
    save,
  };
});
