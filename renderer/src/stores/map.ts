import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  AnalysisPending,
  EmbeddingMap,
  PushEvent,
  RunSummary,
} from '../../../core/api/contract';
import { client } from '../api/client';
import { errorMessage } from '../lib/run-format';
import { CORRECT, WRONG, classColor, packColor } from '../lib/scatter';
import { useHostStore } from './host';

export type MapMethod = 'pca' | 'umap';
export type ColorBy = 'label' | 'predicted' | 'correct';

/** The embedding map of a run's fc7 index: loading or computing it, its colours and selection. */
export const useMapStore = defineStore('map', () => {
  const api = client().api;
  const host = useHostStore();

  const runs = ref<RunSummary[]>([]);
  const runId = ref<number | null>(null);
  const method = ref<MapMethod>('pca');
  const colorBy = ref<ColorBy>('label');
  const map = shallowRef<EmbeddingMap | null>(null);
  const pending = ref<AnalysisPending | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** The run has no feature index yet: the map needs one built first. */
  const needsIndex = ref(false);
  const building = ref(false);
  /** Points (positions in the map) the lasso selected. */
  const selection = shallowRef<number[]>([]);
  let token = 0;

  const colors = computed(() => {
    const m = map.value;
    if (!m) return new Uint32Array(0);
    const out = new Uint32Array(m.ids.length);
    const [good, bad] = [packColor(CORRECT), packColor(WRONG)];
    for (let i = 0; i < out.length; i++) {
      if (colorBy.value === 'correct') out[i] = m.predicted[i] === m.labels[i] ? good : bad;
      else
        out[i] = packColor(classColor(colorBy.value === 'label' ? m.labels[i]! : m.predicted[i]!));
    }
    return out;
  });

  const selectedMask = computed(() => {
    if (!map.value || selection.value.length === 0) return null;
    const mask = new Uint8Array(map.value.ids.length);
    for (const i of selection.value) mask[i] = 1;
    return mask;
  });

  /** Share of the points the network classifies as labelled. */
  const accuracy = computed(() => {
    const m = map.value;
    if (!m || m.ids.length === 0) return null;
    return m.predicted.filter((p, i) => p === m.labels[i]).length / m.ids.length;
  });

  async function loadRuns(): Promise<void> {
    try {
      runs.value = await api.listRuns({ filter: 'status = completed', sort: '-id' });
    } catch (err) {
      error.value = errorMessage(err);
    }
  }

  /** Asks for the map of the current run and method; a map still computing reports progress. */
  async function load(): Promise<void> {
    const id = runId.value;
    const mine = ++token;
    map.value = null;
    selection.value = [];
    pending.value = null;
    error.value = null;
    needsIndex.value = false;
    if (id === null) return;
    loading.value = true;
    try {
      const answer = await api.embeddingMap({ runId: id, method: method.value });
      if (mine !== token) return;
      if (answer.state === 'ready') map.value = answer.map;
      else pending.value = answer;
    } catch (err) {
      if (mine !== token) return;
      const message = errorMessage(err);
      needsIndex.value = /no fc7 feature index/.test(message);
      error.value = needsIndex.value ? null : message;
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function selectRun(id: number | null): Promise<void> {
    runId.value = id;
    await load();
  }

  async function setMethod(m: MapMethod): Promise<void> {
    method.value = m;
    await load();
  }

  /** Extracts fc7 features of every image of the run (the 'all' index); the map follows. */
  async function buildIndex(): Promise<void> {
    if (runId.value === null) return;
    building.value = true;
    error.value = null;
    try {
      await api.buildIndex({ runId: runId.value, checkpoint: 'best', split: 'all' });
    } catch (err) {
      building.value = false;
      error.value = errorMessage(err);
    }
  }

  function select(indices: number[]): void {
    selection.value = indices;
  }

  function onEvent(event: PushEvent): void {
    if (!('runId' in event) || event.runId !== runId.value) return;
    const task = `map-${method.value}`;
    if (event.type === 'analysis-progress' && event.task === task && pending.value)
      pending.value = {
        state: 'computing',
        stage: event.stage,
        done: event.done,
        total: event.total,
      };
    else if (event.type === 'analysis-done' && event.task === task) {
      if (event.error) {
        pending.value = null;
        error.value = event.error;
      } else void load();
    } else if (event.type === 'index-done' && building.value) {
      building.value = false;
      if (event.error) error.value = event.error;
      else void load();
    }
  }
  host.on(onEvent);

  return {
    runs,
    runId,
    method,
    colorBy,
    map,
    pending,
    loading,
    error,
    needsIndex,
    building,
    selection,
    colors,
    selectedMask,
    accuracy,
    loadRuns,
    load,
    selectRun,
    setMethod,
    buildIndex,
    select,
  };
});
