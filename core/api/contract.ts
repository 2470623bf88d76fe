import { z } from 'zod';
import type { Skipped } from '../schema/skip-reasons.js';
import type { RunListItem } from '../store/run-list.js';
import type { CheckpointRow, RunRow, RunStatus } from '../store/runs.js';
import type { DatasetClass, DatasetRow } from '../store/datasets.js';
import type { FeatureIndexRow } from '../store/indexes.js';
import type { RunConfig } from '../schema/run-config.js';
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
    preset: shortText,
    settings,
    sweep: z.record(shortText, z.array(z.string().min(1).max(100)).min(1).max(50)).optional(),
    experiment: shortText.optional(),
    name: shortText.optional(),
    start: z.boolean(),
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
  compareRuns: z.strictObject({ ids: z.array(id).min(1).max(50) }),

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
}

export interface MetricSeries {
  key: string;
  /** Points kept after downsampling (all of them when there were fewer than maxPoints). */
  points: { step: number; epoch: number; value: number; time: number }[];
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

export interface MethodOutputs {
  info: HostInfo;
  listRuns: RunSummary[];
  getRun: RunDetail;
  runMetrics: MetricSeries[];
  runEvaluation: EvaluationDetail | null;
  runMistakes: Mistake[];
  runLogs: { id: number; level: string; message: string; createdAt: string }[];
  presets: PresetInfo[];
  settings: SettingsInfo;
  checkRun: CheckResult;
  schedulePreview: { epoch: number; lr: number }[];
  createRuns: { runIds: number[] };
  startRun: { ok: true };
  cancelRun: { ok: boolean };
  resumeRun: { ok: true };
  cloneRun: { preset: string; datasetId: number | null; settings: string[]; experiment: string };
  deleteRun: { ok: boolean };
  tagRun: { ok: true };
  noteRun: { ok: true };
  exportRun: { out: string; checkpoint: 'best' | 'last'; files: string[]; bytes: number };
  compareRuns: CompareResult;
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
