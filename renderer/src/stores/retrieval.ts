import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { DatasetImageRef, PushEvent, RunDetail, RunSummary } from '../../../core/api/contract';
import type { FeatureIndexRow } from '../../../core/store/indexes';
import { client } from '../api/client';
import {
  defaultIndex,
  queryFileProblem,
  readBase64,
  storedPrecision as precisionByK,
  type HistoryEntry,
  type K,
  type Metric,
  type Query,
} from '../lib/retrieval-query';
import { errorMessage } from '../lib/run-format';
import { useHostStore } from './host';

export const BROWSE_PAGE = 24;

/** Nearest-neighbour retrieval over a run's fc7 feature indexes (the paper's Figure 4). */
export const useRetrievalStore = defineStore('retrieval', () => {
  const api = client().api;
  const host = useHostStore();

  const runs = ref<RunSummary[]>([]);
  const runsLoading = ref(false);
  const runId = ref<number | null>(null);
  const run = shallowRef<RunDetail | null>(null);
  const indexes = ref<FeatureIndexRow[]>([]);
  const indexId = ref<number | null>(null);
  const indexesLoading = ref(false);
  const k = ref<K>(5);
  const metric = ref<Metric>('euclidean');
  const buildingRunId = ref<number | null>(null);
  const buildError = ref<string | null>(null);
  const browse = ref<{ items: DatasetImageRef[]; total: number; offset: number }>(emptyPage());
  const browseLoading = ref(false);
  const history = ref<HistoryEntry[]>([]);
  const searching = ref(false);
  const error = ref<string | null>(null);

  // Responses that arrive after the user moved on are dropped, by comparing these tokens.
  let runToken = 0;
  let browseToken = 0;
  let searchToken = 0;

  const datasetId = computed(() => run.value?.run.datasetId ?? null);
  const index = computed(() => indexes.value.find((i) => i.id === indexId.value) ?? null);
  const current = computed(() => history.value.at(-1) ?? null);
  const result = computed(() => current.value?.result ?? null);
  const building = computed(() => buildingRunId.value !== null);
  const summary = computed(() => runs.value.find((r) => r.id === runId.value) ?? null);

  /** The run's own retrieval P@k measurements (`svw retrieval-eval`), by k. */
  const storedPrecision = computed(() => precisionByK(summary.value?.retrieval, run.value?.best));

  async function loadRuns(): Promise<void> {
    runsLoading.value = true;
    try {
      runs.value = await api.listRuns({ filter: 'status = completed', sort: '-id' });
    } catch (err) {
      error.value = errorMessage(err);
    } finally {
      runsLoading.value = false;
    }
  }

  /** Switches to a run: its checkpoints, feature indexes and the first page of val images. */
  async function selectRun(id: number | null): Promise<void> {
    const token = ++runToken;
    runId.value = id;
    run.value = null;
    indexes.value = [];
    indexId.value = null;
    history.value = [];
    browse.value = emptyPage();
    error.value = null;
    buildError.value = null;
    if (id === null) return;
    indexesLoading.value = true;
    try {
      const [detail, list] = await Promise.all([
        api.getRun({ id }),
        api.listIndexes({ runId: id }),
      ]);
      if (token !== runToken) return;
      run.value = detail;
      indexes.value = list;
      indexId.value = defaultIndex(list)?.id ?? null;
    } catch (err) {
      if (token === runToken) error.value = errorMessage(err);
      return;
    } finally {
      if (token === runToken) indexesLoading.value = false;
    }
    await loadBrowse(0);
  }

  async function selectIndex(id: number): Promise<void> {
    indexId.value = id;
    await runSearch();
  }

  async function setOptions(options: { k?: K; metric?: Metric }): Promise<void> {
    if (options.k !== undefined) k.value = options.k;
    if (options.metric !== undefined) metric.value = options.metric;
    await runSearch();
  }

  async function loadBrowse(offset: number): Promise<void> {
    const id = datasetId.value;
    if (id === null) return;
    const token = ++browseToken;
    browseLoading.value = true;
    try {
      const page = await api.datasetImages({ id, split: 'val', offset, limit: BROWSE_PAGE });
      if (token === browseToken) browse.value = { items: page.items, total: page.total, offset };
    } catch (err) {
      if (token === browseToken) error.value = errorMessage(err);
    } finally {
      if (token === browseToken) browseLoading.value = false;
    }
  }

  async function randomQuery(): Promise<void> {
    const id = datasetId.value;
    if (id === null) return;
    error.value = null;
    try {
      const page = await api.datasetImages({ id, split: 'val', random: true, limit: 1 });
      const image = page.items[0];
      if (!image) error.value = "The run's dataset has no val images to query with.";
      else await searchImage(image.idx);
    } catch (err) {
      error.value = errorMessage(err);
    }
  }

  /** Searches from a dataset image (a val image picked, or a neighbour clicked). */
  async function searchImage(imageIdx: number): Promise<void> {
    await push({ kind: 'image', imageIdx });
  }

  /** Searches from an image file; oversize or non-image files are refused here, not sent. */
  async function searchFile(file: File): Promise<void> {
    error.value = queryFileProblem(file);
    if (error.value) return;
    let base64: string;
    try {
      base64 = await readBase64(file);
    } catch (err) {
      error.value = `Cannot read ${file.name}: ${errorMessage(err)}`;
      return;
    }
    await push({ kind: 'file', name: file.name.slice(0, 200), base64, mime: file.type });
  }

  async function push(query: Query): Promise<void> {
    history.value = [...history.value, { query, result: null, key: '' }];
    await runSearch();
  }

  /** Returns to the previous query; its result is reused when nothing changed since. */
  async function back(): Promise<void> {
    if (history.value.length < 2) return;
    history.value = history.value.slice(0, -1);
    await runSearch();
  }

  /** Jumps back to a query of the breadcrumb, dropping the later ones. */
  async function goTo(position: number): Promise<void> {
    if (position < 0 || position >= history.value.length - 1) return;
    history.value = history.value.slice(0, position + 1);
    await runSearch();
  }

  async function runSearch(): Promise<void> {
    // Whatever happens below, a search still in flight no longer answers what is shown.
    const token = ++searchToken;
    searching.value = false;
    const entry = current.value;
    if (!entry) return;
    const gallery = indexId.value;
    if (gallery === null) {
      error.value = 'Choose a gallery (a feature index of the run), or build one, to search.';
      return;
    }
    const key = `${gallery}/${k.value}/${metric.value}`;
    if (entry.result && entry.key === key) return;
    searching.value = true;
    error.value = null;
    try {
      const { query } = entry;
      const found = await api.search({
        indexId: gallery,
        query:
          query.kind === 'image'
            ? { kind: 'image', imageIdx: query.imageIdx }
            : { kind: 'file', name: query.name, base64: query.base64 },
        k: k.value,
        metric: metric.value,
      });
      if (token !== searchToken) return;
      entry.result = found;
      entry.key = key;
    } catch (err) {
      if (token === searchToken) error.value = errorMessage(err);
    } finally {
      if (token === searchToken) searching.value = false;
    }
  }

  /** Starts extracting features; `building` stays true until the host's `index-done`. */
  async function buildIndex(
    checkpoint: 'best' | 'last',
    split: 'train' | 'val' | 'all',
  ): Promise<void> {
    const id = runId.value;
    if (id === null || buildingRunId.value !== null) return;
    buildError.value = null;
    buildingRunId.value = id;
    try {
      await api.buildIndex({ runId: id, checkpoint, split });
    } catch (err) {
      buildingRunId.value = null;
      buildError.value = errorMessage(err);
    }
  }

  async function onIndexDone(event: Extract<PushEvent, { type: 'index-done' }>): Promise<void> {
    const ours = event.runId === buildingRunId.value;
    if (ours) buildingRunId.value = null;
    if (event.runId !== runId.value) return;
    if (event.error) {
      if (ours) buildError.value = event.error;
      return;
    }
    try {
      const list = await api.listIndexes({ runId: event.runId });
      if (event.runId !== runId.value) return;
      indexes.value = list;
      // Our own build switches to the new gallery; one built elsewhere only joins the list.
      const wanted = ours ? event.indexId : indexId.value;
      indexId.value = list.find((i) => i.id === wanted)?.id ?? defaultIndex(list)?.id ?? null;
    } catch (err) {
      buildError.value = errorMessage(err);
      return;
    }
    await runSearch();
  }

  host.on((event) => {
    if (event.type === 'index-done') void onIndexDone(event);
    // A run finishing while this screen is open becomes choosable without a reload.
    else if (event.type === 'run-status' && event.status === 'completed') void loadRuns();
  });

  return {
    runs,
    runsLoading,
    runId,
    run,
    summary,
    indexes,
    indexId,
    index,
    indexesLoading,
    k,
    metric,
    building,
    buildingRunId,
    buildError,
    browse,
    browseLoading,
    history,
    current,
    result,
    searching,
    error,
    datasetId,
    storedPrecision,
    loadRuns,
    selectRun,
    selectIndex,
    setOptions,
    loadBrowse,
    randomQuery,
    searchImage,
    searchFile,
    back,
    goTo,
    buildIndex,
  };
});

function emptyPage() {
  return { items: [] as DatasetImageRef[], total: 0, offset: 0 };
}
