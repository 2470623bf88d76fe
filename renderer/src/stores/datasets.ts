import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import type { DatasetDetail, DatasetImageRef, PushEvent } from '../../../core/api/contract';
import type { Skipped } from '../../../core/schema/skip-reasons';
import type { DatasetRow } from '../../../core/store/datasets';
import { ApiError, client } from '../api/client';
import {
  checkImportForm,
  emptyImportForm,
  folderName,
  isImportField,
  type FieldErrors,
  type ImportForm,
} from '../lib/import-form';
import { errorMessage } from '../lib/run-format';
import { useHostStore } from './host';

export const SAMPLE_PAGE = 32;

export interface ImportState {
  phase: 'idle' | 'starting' | 'running' | 'done' | 'failed';
  importId: string | null;
  done: number;
  total: number;
  error: string | null;
  datasetId: number | null;
  skipped: Skipped[];
}

type ImportEvent = Extract<PushEvent, { type: 'import-progress' | 'import-done' }>;

/** Datasets: the list, one dataset's detail and samples, importing and removing. */
export const useDatasetsStore = defineStore('datasets', () => {
  const api = client().api;
  const host = useHostStore();

  const datasets = ref<DatasetRow[]>([]);
  const loading = ref(false);
  const listError = ref<string | null>(null);
  const selectedId = ref<number | null>(null);
  const detail = shallowRef<DatasetDetail | null>(null);
  const detailLoading = ref(false);
  const detailError = ref<string | null>(null);
  const samples = ref<DatasetImageRef[]>([]);
  const sampleLabel = ref<number | null>(null);
  const samplesLoading = ref(false);
  const removeError = ref<{ id: number; message: string } | null>(null);
  const form = reactive<ImportForm>(emptyImportForm());
  const fieldErrors = ref<FieldErrors>({});
  const importState = ref<ImportState>(idleImport());
  const canPickFolder = computed(() => host.info?.canPickFolder === true);
  const importing = computed(
    () => importState.value.phase === 'starting' || importState.value.phase === 'running',
  );

  let nameEdited = false;
  let detailToken = 0;
  let sampleToken = 0;
  // The host may push progress (even the result) before importDataset's answer arrives; events
  // are held while the answer is pending, then those of our import are replayed.
  let early: ImportEvent[] = [];

  async function load(): Promise<void> {
    loading.value = true;
    try {
      datasets.value = await api.listDatasets({});
      listError.value = null;
    } catch (err) {
      listError.value = errorMessage(err);
    } finally {
      loading.value = false;
    }
  }

  /** Opens a dataset's detail (classes, skipped files, mean) and a first random sample. */
  async function select(id: number | null): Promise<void> {
    const token = ++detailToken;
    selectedId.value = id;
    detail.value = null;
    detailError.value = null;
    samples.value = [];
    sampleLabel.value = null;
    if (id === null) return;
    detailLoading.value = true;
    try {
      const found = await api.getDataset({ id });
      if (token !== detailToken) return;
      detail.value = found;
    } catch (err) {
      if (token === detailToken) detailError.value = errorMessage(err);
      return;
    } finally {
      if (token === detailToken) detailLoading.value = false;
    }
    await loadSamples(false);
  }

  /** Random images of the dataset (of one class when filtered); `more` appends to those shown. */
  async function loadSamples(more: boolean): Promise<void> {
    const id = selectedId.value;
    if (id === null) return;
    const token = ++sampleToken;
    samplesLoading.value = true;
    try {
      const label = sampleLabel.value ?? undefined;
      const page = await api.datasetImages({ id, random: true, limit: SAMPLE_PAGE, label });
      if (token !== sampleToken) return;
      const shown = new Set(more ? samples.value.map((s) => s.idx) : []);
      const fresh = page.items.filter((s) => !shown.has(s.idx));
      samples.value = more ? [...samples.value, ...fresh] : fresh;
    } catch (err) {
      if (token === sampleToken) detailError.value = errorMessage(err);
    } finally {
      if (token === sampleToken) samplesLoading.value = false;
    }
  }

  async function filterSamples(label: number | null): Promise<void> {
    sampleLabel.value = label;
    await loadSamples(false);
  }

  /** Removes a dataset; the host refuses while runs still use it, and says so. */
  async function remove(id: number): Promise<boolean> {
    removeError.value = null;
    try {
      await api.removeDataset({ id });
    } catch (err) {
      removeError.value = { id, message: errorMessage(err) };
      return false;
    }
    if (selectedId.value === id) await select(null);
    await load();
    return true;
  }

  /** Sets the folder; the name follows the folder's own name until the user types one. */
  function setPath(path: string): void {
    form.path = path;
    if (!nameEdited) form.name = folderName(path);
    delete fieldErrors.value.path;
  }

  function setName(name: string): void {
    form.name = name;
    nameEdited = name.trim() !== '';
    delete fieldErrors.value.name;
  }

  /** The host's native folder dialog (Electron only). */
  async function pickFolder(): Promise<void> {
    if (!canPickFolder.value) return;
    try {
      const { path } = await api.pickFolder({ title: 'Choose an image folder to import' });
      if (path) setPath(path);
    } catch (err) {
      fieldErrors.value = { ...fieldErrors.value, path: errorMessage(err) };
    }
  }

  async function startImport(): Promise<void> {
    if (importing.value) return;
    const { input, errors } = checkImportForm(form);
    fieldErrors.value = errors ?? {};
    if (!input) return;
    importState.value = { ...idleImport(), phase: 'starting' };
    early = [];
    try {
      const { importId } = await api.importDataset(input);
      importState.value = { ...importState.value, phase: 'running', importId };
      const mine = early.filter((e) => e.importId === importId);
      early = [];
      mine.forEach(onImportEvent);
    } catch (err) {
      early = [];
      if (err instanceof ApiError && err.code === 'invalid' && isImportField(err.path)) {
        fieldErrors.value = { [err.path]: err.message };
        importState.value = idleImport();
      } else importState.value = { ...idleImport(), phase: 'failed', error: errorMessage(err) };
    }
  }

  function onImportEvent(event: ImportEvent): void {
    const state = importState.value;
    if (state.phase === 'starting') {
      early.push(event);
      return;
    }
    if (state.phase !== 'running' || event.importId !== state.importId) return;
    if (event.type === 'import-progress') {
      importState.value = { ...state, done: event.done, total: event.total };
      return;
    }
    if (event.error !== null || event.datasetId === null) {
      importState.value = {
        ...state,
        phase: 'failed',
        error: event.error ?? 'the import ended without a dataset',
        skipped: event.skipped,
      };
      return;
    }
    importState.value = {
      ...state,
      phase: 'done',
      done: state.total,
      datasetId: event.datasetId,
      skipped: event.skipped,
    };
    Object.assign(form, emptyImportForm());
    nameEdited = false;
    void load().then(() => select(event.datasetId));
  }

  function dismissImport(): void {
    if (!importing.value) importState.value = idleImport();
  }

  host.on((event) => {
    if (event.type === 'import-progress' || event.type === 'import-done') onImportEvent(event);
    // Imports and removals from the CLI or another window show up here too.
    else if (event.type === 'datasets-changed') void load();
  });

  return {
    datasets,
    loading,
    listError,
    selectedId,
    detail,
    detailLoading,
    detailError,
    samples,
    sampleLabel,
    samplesLoading,
    removeError,
    form,
    fieldErrors,
    importState,
    importing,
    canPickFolder,
    load,
    select,
    loadSamples,
    filterSamples,
    remove,
    setPath,
    setName,
    pickFolder,
    startImport,
    dismissImport,
  };
});

function idleImport(): ImportState {
  return {
    phase: 'idle',
    importId: null,
    done: 0,
    total: 0,
    error: null,
    datasetId: null,
    skipped: [],
  };
}
