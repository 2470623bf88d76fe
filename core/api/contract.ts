import { z } from 'zod';
import type { Skipped } from '../schema/skip-reasons.js';
import type { RunListItem } from '../store/run-list.js';
import type { CheckpointRow, RunRow, RunStatus } from '../store/runs.js';
import type { DatasetClass, DatasetRow } from '../store/datasets.js';
import type { FeatureIndexRow } from '../store/indexes.js';
import type { RunConfig } from '../schema/run-config.js';
import type { ClusterProfile } from '../schema/cluster.js';
import { sweepSpecSchema } from '../schema/sweep.js';
import type { ImportanceRow } from '../analysis/importance.js';
import type { FieldCatalog, RunColumn } from '../store/run-values.js';
import type { SweepDetail, SweepSummary } from '../sweep/summary.js';
import type { AblationTable } from '../sweep/ablation.js';
import type { DuplicateReport, LabelErrorItem } from '../jobs/analysis-report.js';
import type { DatasetVersion, VersionDiff } from '../store/dataset-versions.js';
import type { AnalysisTask } from '../schema/analysis.js';
import type { SettingsInfo } from '../schema/settings.js';
export type { SettingDescriptor, SettingsInfo } from '../schema/settings.js';
export type { ShorthandDescriptor } from '../schema/setting-shorthands.js';

/**
 * The one API between the UI and a host (Electron main, or `svw serve`): every method's input
 * schema and output type, and every push event. IPC, the preload bridge, the HTTP/WebSocket server
 * and the renderer client are all derived from this file.
 */

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const shortText = z.string().max(200);
const checkpoint = z.enum(['best', 'last']);
const split = z.enum(['train', 'val']);
/** `key=value` settings exactly as `svw train --set` takes them. */
const settings = z.array(z.string().min(1).max(500)).max(200);
const filterText = z.string().max(2000);
/** A field as the filter language names it: `params.optim.lr`, `metrics.val_loss.min`, `status`. */
const fieldText = z.string().min(1).max(300);
/** Runs to look at together: those a filter selects, narrowed to some ids when given. */
const runSet = {
  filter: filterText.optional(),
  ids: z.array(id).max(100_000).optional(),
};
/** The most runs the parallel-coordinates view draws at once. */
export const MAX_COLUMN_RUNS = 10_000;

export const methodInputs = {
  /** Version, home folder, the engine a job would run on, and what this host can do. */
  info: z.strictObject({}),

  listRuns: z.strictObject({
    filter: z.string().max(2000).optional(),
    sort: z.string().max(100).optional(),
    experiment: shortText.optional(),
    limit: z.number().int().positive().max(1_000_000).optional(),
  }),
  getRun: z.strictObject({ id }),
  /** Metric series of a run, each reduced to at most maxPoints (min/max-preserving buckets). */
  runMetrics: z.strictObject({
    id,
    keys: z.array(shortText).max(50).optional(),
    maxPoints: z.number().int().min(10).max(100_000).optional(),
  }),
  /**
   * Metric series of many runs at once (Compare), each reduced in SQLite to at most maxPoints
   * (the lowest and highest point of each range of steps).
   */
  runsMetrics: z.strictObject({
    ids: z.array(id).min(1).max(100),
    keys: z.array(shortText).max(50).optional(),
    maxPoints: z.number().int().min(10).max(100_000).optional(),
  }),
  /** The best or the last validation evaluation, with per-class errors and the confusion. */
  runEvaluation: z.strictObject({ id, which: checkpoint }),
  /** Misclassified validation images of the run's latest evaluation that kept them. */
  runMistakes: z.strictObject({ id, limit: z.number().int().positive().max(500).optional() }),
  runLogs: z.strictObject({
    id,
    afterId: z.number().int().nonnegative().optional(),
    limit: z.number().int().positive().max(5000).optional(),
  }),

  /** Presets with their full default configs and the ablation switches. */
  presets: z.strictObject({}),
  /**
   * Every setting `--set` takes, described once: key, aliases, group, kind, each preset's
   * default, range or choices, unit and help; the shorthands; the groups in order.
   */
  settings: z.strictObject({}),
  /** Validates a new run's settings (and the dataset, when given) without creating anything. */
  checkRun: z.strictObject({
    preset: shortText,
    datasetId: id.optional(),
    settings,
  }),
  /** Learning rate per epoch of the schedule the settings describe (the step-schedule preview). */
  schedulePreview: z.strictObject({ preset: shortText, settings }),
  /**
   * Creates one run per combination of the sweep values (`{ lr: ['0.01', '0.02'] }` ⨯ …),
   * queued; with start, they are handed to the scheduler at once.
   */
  createRuns: z.strictObject({
    datasetId: id,
    /** The dataset version to train on; the newest when omitted. */
    datasetVersion: id.optional(),
    preset: shortText,
    settings,
    sweep: z.record(shortText, z.array(z.string().min(1).max(100)).min(1).max(50)).optional(),
    experiment: shortText.optional(),
    name: shortText.optional(),
    start: z.boolean(),
    /** A cluster profile to run them on (a sweep goes out as one job array); this machine if unset. */
    on: shortText.optional(),
  }),
  startRun: z.strictObject({ id }),
  cancelRun: z.strictObject({ id }),
  resumeRun: z.strictObject({ id, epochs: z.number().int().positive().max(100_000).optional() }),
  /** The preset, dataset and settings that recreate a run (for the New run form). */
  cloneRun: z.strictObject({ id }),
  deleteRun: z.strictObject({ id }),
  tagRun: z.strictObject({ id, key: shortText.min(1), value: z.string().max(2000).nullable() }),
  noteRun: z.strictObject({ id, text: z.string().min(1).max(20_000) }),
  exportRun: z.strictObject({
    id,
    checkpoint: checkpoint.optional(),
    out: z.string().min(1).max(4096),
    force: z.boolean().optional(),
  }),
  compareRuns: z.strictObject({ ids: z.array(id).min(1).max(100) }),

  /** The params (with whether each is numeric) and metrics that a set of runs have. */
  runFields: z.strictObject(runSet),
  /** Values of fields for a set of runs, a column each (the parallel-coordinates view). */
  runColumns: z.strictObject({
    ...runSet,
    fields: z.array(fieldText).min(1).max(40),
    limit: z.number().int().positive().max(MAX_COLUMN_RUNS).optional(),
  }),
  /** The filter that axis selections mean (within a base filter), and how many runs it selects. */
  brushFilter: z.strictObject({
    base: filterText.optional(),
    selections: z
      .array(
        z.union([
          z.strictObject({ field: fieldText, min: z.number(), max: z.number() }),
          z.strictObject({
            field: fieldText,
            values: z
              .array(z.union([z.string().max(500), z.number()]))
              .min(1)
              .max(1000),
          }),
        ]),
      )
      .max(40),
  }),
  /** Random-forest permutation importance of every varying param for a metric, with Spearman's ρ. */
  paramImportance: z.strictObject({
    ...runSet,
    metric: z
      .string()
      .regex(/^[a-z0-9_]+$/)
      .max(100),
  }),

  /** A grid or random search, with or without ASHA early stopping; its runs are queued. */
  createSweep: sweepSpecSchema.extend({
    datasetId: id,
    /** The dataset version its trials train on; the newest when omitted. */
    datasetVersion: id.optional(),
    preset: shortText,
    experiment: shortText.optional(),
    name: shortText.optional(),
    /** The cluster profile its trials run on (listClusters); this machine when omitted. */
    on: shortText.optional(),
    start: z.boolean(),
  }),
  listSweeps: z.strictObject({}),
  getSweep: z.strictObject({ id }),
  /** Cancels a sweep's queued and running runs; ASHA stops judging it. */
  cancelSweep: z.strictObject({ id }),
  /** The paper's ablation study on a dataset: each variant with N seeds, queued. */
  createAblation: z.strictObject({
    datasetId: id,
    datasetVersion: id.optional(),
    preset: shortText,
    seeds: z.number().int().min(1).max(20).optional(),
    epochs: z.number().int().min(1).max(10_000).optional(),
    settings: settings.optional(),
    experiment: shortText.optional(),
    name: shortText.optional(),
    on: shortText.optional(),
    start: z.boolean(),
  }),
  /** An ablation study's table, with its CSV and Markdown exports. */
  ablationTable: z.strictObject({ id }),

  listDatasets: z.strictObject({}),
  getDataset: z.strictObject({ id }),
  datasetImages: z.strictObject({
    id,
    split: split.optional(),
    label: z.number().int().nonnegative().optional(),
    offset: z.number().int().nonnegative().max(100_000_000).optional(),
    limit: z.number().int().positive().max(1000).optional(),
    random: z.boolean().optional(),
  }),
  /** Starts importing a folder on the host; progress and the result arrive as push events. */
  importDataset: z.strictObject({
    path: z.string().min(1).max(4096),
    name: shortText.min(1),
    size: z.number().int().min(8).max(1024).optional(),
    valSplit: z.number().min(0).max(0.9).optional(),
    seed: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31)
      .optional(),
    maxPerClass: z.number().int().positive().optional(),
    labels: z.enum(['folders', 'filename']).optional(),
  }),
  removeDataset: z.strictObject({ id }),
  /** A native folder picker; only the Electron host has one (info().canPickFolder). */
  pickFolder: z.strictObject({ title: shortText.optional() }),

  listIndexes: z.strictObject({ runId: id }),
  /** Starts extracting fc7 features of a split in a worker; `index-done` follows. */
  buildIndex: z.strictObject({
    runId: id,
    checkpoint,
    split: z.enum(['train', 'val', 'all']),
    /** A cluster profile to build it on; this machine if unset. */
    on: shortText.optional(),
  }),
  search: z.strictObject({
    indexId: id,
    query: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('image'), imageIdx: z.number().int().nonnegative() }),
      /** A dropped or picked file's bytes, base64 (at most 20 MB decoded). */
      z.strictObject({
        kind: z.literal('file'),
        name: shortText,
        base64: z.string().min(1).max(28_000_000),
      }),
    ]),
    k: z.number().int().positive().max(100),
    metric: z.enum(['euclidean', 'cosine']).optional(),
  }),

  /** The Slurm cluster profiles jobs can be sent to (svw cluster add). */
  listClusters: z.strictObject({}),
  /** The end of the Slurm log of a run's newest job on a cluster. */
  runClusterLog: z.strictObject({
    id,
    maxBytes: z.number().int().positive().max(1_000_000).optional(),
  }),
  /**
   * The 2-D map of every image in the run's fc7 index. Computed once in a worker (progress and
   * the end arrive as analysis events) and cached beside the index; later calls return it.
   */
  embeddingMap: z.strictObject({
    runId: id,
    method: z.enum(['pca', 'umap']),
    checkpoint: checkpoint.optional(),
  }),
  /** Images whose label is likely wrong, most suspicious first; computed and cached like the map. */
  labelErrors: z.strictObject({
    runId: id,
    checkpoint: checkpoint.optional(),
    k: z.number().int().min(1).max(100).optional(),
    /** The images to score against the train images: train (default), val or all. */
    split: z.enum(['train', 'val', 'all']).optional(),
    limit: z.number().int().positive().max(10_000).optional(),
  }),
  /** Exact and near copies, within a split and leaking across; computed and cached like the map. */
  duplicates: z.strictObject({
    runId: id,
    checkpoint: checkpoint.optional(),
    threshold: z.number().min(0).max(1).optional(),
    pixelThreshold: z.number().min(0).max(1).optional(),
  }),
  /** Every version of a dataset, version 1 (as imported) first. */
  datasetVersions: z.strictObject({ id }),
  /** The images a version relabels or leaves out, against the version it was made from. */
  datasetVersionDiff: z.strictObject({ id, version: id }),
  /** Makes a new version of a dataset from `parent` with images relabelled or excluded. */
  createDatasetVersion: z.strictObject({
    id,
    parent: id,
    changes: z
      .array(
        z.strictObject({
          imageIdx: z.number().int().nonnegative(),
          action: z.enum(['relabel', 'exclude']),
          label: z.number().int().nonnegative().optional(),
        }),
      )
      .min(1)
      .max(100_000),
    note: z.string().max(2000).optional(),
    sourceRunId: id.optional(),
  }),

  /** Imports the bundled demo dataset if needed and starts a short alexnet-cifar run on it. */
  startDemo: z.strictObject({ epochs: z.number().int().positive().max(50).optional() }),
} as const;

export type MethodName = keyof typeof methodInputs;
export type MethodInput<M extends MethodName> = z.input<(typeof methodInputs)[M]>;

/** Why a call failed: bad input, a missing thing, a refused action, or a bug on the host. */
export type ApiErrorCode = 'invalid' | 'not-found' | 'refused' | 'internal';
export interface ApiErrorBody {
  code: ApiErrorCode;
  message: string;
  /** Where in the input (for 'invalid'), e.g. "settings.2". */
  path?: string;
}

export interface HostInfo {
  version: string;
  home: string;
  host: 'electron' | 'serve';
  /** The engine a job would run on now (auto ladder), with the rungs skipped and why. */
  engine: { backend: string; detail: string; skipped: { backend: string; reason: string }[] };
  concurrency: number;
  canPickFolder: boolean;
  /** True when the database has no runs and no datasets (the first-run screen). */
  empty: boolean;
  demoAvailable: boolean;
}

export interface RunSummary extends RunListItem {
  /** Best retrieval precision@k measured for the run, by k. */
  retrieval: Record<string, number>;
  tags: Record<string, string>;
}

export interface RunDetail {
  run: Omit<RunRow, 'config'>;
  config: RunConfig;
  params: Record<string, string>;
  best: Record<string, number>;
  latest: Record<string, number>;
  tags: Record<string, string>;
  notes: { text: string; createdAt: string }[];
  checkpoints: CheckpointRow[];
  indexes: FeatureIndexRow[];
  /** Progress of the running epoch, when the run is running in this host. */
  progress: ProgressEvent | null;
  /** Its newest job on a Slurm cluster, if it was sent to one. */
  cluster: ClusterJobInfo | null;
}

/** A run's job on a Slurm cluster, as Run detail shows it. */
export interface ClusterJobInfo {
  cluster: string;
  /** `1234`, or `1234_2` for a task of a sweep's job array; null while being submitted. */
  slurmJobId: string | null;
  /** Slurm's state with its reason: `PENDING (Resources)`, `RUNNING`, `NODE_FAIL (NodeDown)`. */
  state: string;
  node: string | null;
  /** 1, then 2, 3… for automatic resubmissions after interruptions. */
  attempt: number;
  /** Whether a workbench process still follows it (it has not ended). */
  open: boolean;
  logPath: string;
}

export interface MetricSeries {
  key: string;
  /** Points kept after downsampling (all of them when there were fewer than maxPoints). */
  points: { step: number; epoch: number; value: number; time: number }[];
  total: number;
}

/**
 * A metric series as columns, the i-th point being (step[i], epoch[i], value[i], time[i]): how
 * Compare receives up to 100 runs' curves, half the JSON of one object per point to write and
 * to parse.
 */
export interface MetricColumns {
  key: string;
  step: number[];
  epoch: number[];
  value: number[];
  time: number[];
  total: number;
}

export interface EvaluationDetail {
  epoch: number;
  split: 'train' | 'val';
  tenCrop: boolean;
  checkpoint: string | null;
  images: number;
  top1Error: number;
  top5Error: number;
  classes: string[];
  perClassError: (number | null)[];
  perClassCount: number[];
  /** Sparse confusion: (true, predicted, count) triples; off-diagonal and diagonal. */
  confusion: number[];
}

export interface Mistake {
  datasetId: number;
  imageIdx: number;
  label: number;
  predicted: number;
  /** Softmax probability of the predicted class. */
  confidence: number;
}

export interface PresetInfo {
  name: string;
  description: string;
  defaults: RunConfig;
  /** Flattened defaults by param key (`optim.lr` → 0.01, `model.conv.1.filters` → 64). */
  flat: Record<string, string | number | boolean>;
  /** Paper-ablation switches, each a ready `--set` assignment with a label. */
  ablations: { label: string; setting: string }[];
}

export type CheckResult =
  | { ok: true; config: RunConfig; flat: Record<string, string | number | boolean> }
  | { ok: false; errors: { setting: string | null; message: string }[] };

export interface CompareResult {
  runs: RunSummary[];
  /** Every param key of any run, with each run's value (null where a run lacks it). */
  params: { key: string; values: (string | null)[]; differs: boolean }[];
  /** Best value of each metric per run (min for errors and losses, max for precision). */
  metrics: { key: string; values: (number | null)[] }[];
}

export interface DatasetDetail {
  dataset: DatasetRow;
  classes: DatasetClass[];
  skipped: Skipped[];
  /** Mean pixel (RGB, 0..255) of the training images, from the stored statistics. */
  meanPixel: number[];
  /** Eigenvalues of the RGB covariance (pixels on the 0..1 scale), largest first. */
  eigenvalues: number[];
}

export interface DatasetImageRef {
  datasetId: number;
  idx: number;
  split: 'train' | 'val';
  label: number;
  className: string;
}

export interface SearchResult {
  query: { imageIdx: number | null; label: number | null; className: string | null };
  neighbours: (DatasetImageRef & { distance: number; sameClass: boolean | null })[];
  /** Share of the k neighbours with the query's class (null for an unlabelled file query). */
  precisionAtK: number | null;
  metric: 'euclidean' | 'cosine';
}

/** An analysis not done yet: it is being computed in a worker, at this stage. */
export interface AnalysisPending {
  state: 'computing';
  stage: string | null;
  done: number;
  total: number;
}

/** Every image of a run's index placed in 2-D, with its label and the network's prediction. */
export interface EmbeddingMap {
  runId: number;
  datasetId: number;
  method: 'pca' | 'umap';
  classes: string[];
  /** Per point: dataset image id, coordinates, label (in the run's dataset version), split. */
  ids: number[];
  x: number[];
  y: number[];
  labels: number[];
  train: boolean[];
  predicted: number[];
  confidence: number[];
  /** PCA: share of the variance each axis explains. */
  explained: number[] | null;
}

export interface MethodOutputs {
  info: HostInfo;
  listRuns: RunSummary[];
  getRun: RunDetail;
  runMetrics: MetricSeries[];
  runsMetrics: { id: number; series: MetricColumns[] }[];
  runEvaluation: EvaluationDetail | null;
  runMistakes: Mistake[];
  runLogs: { id: number; level: string; message: string; createdAt: string }[];
  presets: PresetInfo[];
  settings: SettingsInfo;
  checkRun: CheckResult;
  schedulePreview: { epoch: number; lr: number }[];
  /** A sweep of several runs is recorded as a grid sweep. */
  createRuns: { runIds: number[]; sweepId?: number };
  startRun: { ok: true };
  cancelRun: { ok: boolean };
  resumeRun: { ok: true };
  cloneRun: {
    preset: string;
    datasetId: number | null;
    datasetVersion: number | null;
    settings: string[];
    experiment: string;
    /** The cluster profile the run went to (null: this machine). */
    on: string | null;
  };
  deleteRun: { ok: boolean };
  tagRun: { ok: true };
  noteRun: { ok: true };
  exportRun: { out: string; checkpoint: 'best' | 'last'; files: string[]; bytes: number };
  compareRuns: CompareResult;
  runFields: FieldCatalog & { total: number };
  runColumns: { ids: number[]; total: number; columns: RunColumn[] };
  brushFilter: { filter: string; count: number };
  paramImportance: ImportanceRow[];
  createSweep: { sweepId: number; runIds: number[] };
  listSweeps: SweepSummary[];
  getSweep: SweepDetail;
  cancelSweep: { cancelled: number };
  createAblation: { sweepId: number; runIds: number[] };
  ablationTable: AblationTable & {
    /** Each variant's label and what the paper says of it. */
    notes: { name: string; label: string; note: string }[];
    csv: string;
    markdown: string;
  };
  listDatasets: DatasetRow[];
  getDataset: DatasetDetail;
  datasetImages: { total: number; items: DatasetImageRef[] };
  importDataset: { importId: string };
  removeDataset: { ok: boolean };
  pickFolder: { path: string | null };
  listIndexes: FeatureIndexRow[];
  buildIndex: { ok: true };
  search: SearchResult;
  startDemo: { datasetId: number; runId: number };
  listClusters: ClusterProfile[];
  runClusterLog: { path: string; text: string; truncated: boolean } | null;
  embeddingMap: { state: 'ready'; map: EmbeddingMap } | AnalysisPending;
  labelErrors:
    | { state: 'ready'; datasetId: number; scored: number; k: number; items: LabelErrorItem[] }
    | AnalysisPending;
  duplicates: { state: 'ready'; datasetId: number; report: DuplicateReport } | AnalysisPending;
  datasetVersions: DatasetVersion[];
  datasetVersionDiff: VersionDiff[];
  createDatasetVersion: { version: number };
}

/** The API as the renderer sees it: one async function per method. */
export type WorkbenchApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutputs[M]>;
};

/** What the Electron preload puts on `window.workbench`: the API plus push events. */
export interface WorkbenchBridge extends WorkbenchApi {
  /** Subscribes to push events; returns the unsubscribe function. */
  onEvent(listener: (event: PushEvent) => void): () => void;
}

export interface ProgressEvent {
  type: 'run-progress';
  runId: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  imagesPerSec: number;
}

/** Everything the host pushes to the UI without being asked. */
export type PushEvent =
  | { type: 'run-status'; runId: number; status: RunStatus; error: string | null }
  | ProgressEvent
  | {
      type: 'run-metrics';
      runId: number;
      points: { key: string; step: number; epoch: number; value: number; time: number }[];
    }
  | { type: 'run-evaluation'; runId: number; epoch: number }
  | { type: 'run-log'; runId: number; level: string; message: string }
  | { type: 'runs-changed' }
  | { type: 'import-progress'; importId: string; done: number; total: number }
  | {
      type: 'import-done';
      importId: string;
      datasetId: number | null;
      error: string | null;
      skipped: Skipped[];
    }
  | { type: 'index-done'; runId: number; indexId: number | null; error: string | null }
  | {
      type: 'analysis-progress';
      runId: number;
      task: AnalysisTask;
      stage: string;
      done: number;
      total: number;
    }
  | { type: 'analysis-done'; runId: number; task: AnalysisTask; error: string | null }
  | { type: 'datasets-changed' };

/**
 * Images the UI shows, served by the host (the renderer has no file access): a dataset image,
 * a dataset's mean image, and a run checkpoint's conv1 filters (the paper's Figure 3), as PNG.
 * Their URLs are `res/image/<datasetId>/<idx>`, `res/mean/<datasetId>` and
 * `res/filters/<runId>/<best|last>`, relative to the host (the renderer builds them itself).
 */
export const resourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('image'), datasetId: id, idx: z.number().int().nonnegative() }),
  z.strictObject({ kind: z.literal('mean'), datasetId: id }),
  z.strictObject({ kind: z.literal('filters'), runId: id, checkpoint }),
]);
export type Resource = z.infer<typeof resourceSchema>;

/** Parses a resource URL path (`res/image/3/17`); null when it names no resource. */
export function parseResourcePath(p: string): Resource | null {
  const m = /^\/?res\/(image|mean|filters)\/(\d{1,15})(?:\/(\d{1,15}|best|last))?$/.exec(p);
  if (!m) return null;
  const [, kind, a, b] = m;
  const raw =
    kind === 'image'
      ? { kind, datasetId: Number(a), idx: Number(b) }
      : kind === 'mean'
        ? { kind, datasetId: Number(a) }
        : { kind, runId: Number(a), checkpoint: b };
  const parsed = resourceSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export const METHOD_NAMES = Object.keys(methodInputs) as MethodName[];
