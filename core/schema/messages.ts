import { z } from 'zod';
import { ANALYSIS_TASKS, analysisOptionsSchema } from './analysis.js';
import { backendChoiceSchema, gpuAdapterSchema } from './backends.js';

/**
 * Every message between a job host and its worker process: one discriminated union each way,
 * validated with zod on receipt, so a confused or compromised worker cannot write nonsense.
 */

const errorSchema = z.object({ message: z.string(), stack: z.string().optional() });

const metricSchema = z.object({
  key: z.string().regex(/^[a-z0-9_]+$/),
  step: z.number().int().nonnegative(),
  epoch: z.number().nonnegative(),
  value: z.number(),
  wallTime: z.number(),
});

/** Misclassified images an evaluation keeps: the most confident wrong predictions. */
export const MAX_MISTAKES = 48;

const mistakeSchema = z.object({
  /** Dataset image index. */
  idx: z.number().int().nonnegative(),
  label: z.number().int().nonnegative(),
  predicted: z.number().int().nonnegative(),
  /** Softmax probability of the predicted class. */
  confidence: z.number().min(0).max(1),
});

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('started'),
    pid: z.number().int(),
    engine: z.object({
      backend: z.string(),
      tfBackend: z.string(),
      package: z.string(),
      version: z.string(),
      detail: z.string(),
      adapter: gpuAdapterSchema.optional(),
    }),
    skipped: z.array(z.object({ backend: z.string(), reason: z.string() })),
    /** Threads a training job runs on, where the engine runs one per thread (wasm, cpu). */
    threads: z.number().int().positive().optional(),
  }),
  z.object({
    type: z.literal('progress'),
    epoch: z.number().int().nonnegative(),
    epochs: z.number().int().positive(),
    batch: z.number().int().nonnegative(),
    batches: z.number().int().positive(),
    step: z.number().int().nonnegative(),
    loss: z.number(),
    imagesPerSec: z.number().nonnegative(),
    phase: z.enum(['train', 'eval']),
  }),
  z.object({ type: z.literal('metrics'), metrics: z.array(metricSchema).max(10_000) }),
  z.object({
    type: z.literal('evaluation'),
    epoch: z.number().int().nonnegative(),
    step: z.number().int().nonnegative(),
    split: z.enum(['train', 'val']),
    tenCrop: z.boolean(),
    checkpoint: z.enum(['best', 'last']).nullable(),
    images: z.number().int().nonnegative(),
    loss: z.number().nullable(),
    top1Error: z.number().min(0).max(1),
    top5Error: z.number().min(0).max(1),
    perClassError: z.array(z.number().nullable()),
    perClassCount: z.array(z.number().int().nonnegative()),
    /** Sparse confusion matrix: (true, predicted, count) triples, flattened. */
    confusion: z.array(z.number().int().nonnegative()),
    /** The most confident wrong predictions, most confident first (workers before it sent none). */
    mistakes: z.array(mistakeSchema).max(MAX_MISTAKES).default([]),
  }),
  z.object({
    type: z.literal('checkpoint'),
    kind: z.enum(['last', 'best']),
    epoch: z.number().int().nonnegative(),
    step: z.number().int().nonnegative(),
    path: z.string(),
    valTop1Error: z.number().nullable(),
  }),
  z.object({
    type: z.literal('epoch'),
    epochsDone: z.number().int().nonnegative(),
  }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string().max(100_000),
  }),
  z.object({
    type: z.literal('index'),
    checkpointEpoch: z.number().int().nonnegative(),
    /** The weights the features came from (their SHA-256), exactly as loaded. */
    checkpointSha256: z.string().regex(/^[0-9a-f]{64}$/),
    split: z.enum(['train', 'val', 'all']),
    count: z.number().int().nonnegative(),
    dims: z.number().int().positive(),
    path: z.string(),
    idsPath: z.string(),
  }),
  z.object({
    type: z.literal('embedding'),
    dims: z.number().int().positive(),
    /** The weights the features came from (their SHA-256), exactly as loaded. */
    checkpointSha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** fc7 features of each requested image, in request order. */
    features: z.array(z.array(z.number())),
  }),
  z.object({
    type: z.literal('analysis-progress'),
    /** What the analysis is doing: 'features', 'graph', 'pca', 'umap', 'hashes', 'pixels'… */
    stage: z.string().max(40),
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
  }),
  /** An analysis finished: its result is in this file (schemas in analysis.ts). */
  z.object({ type: z.literal('analysis'), path: z.string() }),
  z.object({ type: z.literal('error'), error: errorSchema }),
  z.object({ type: z.literal('done'), status: z.enum(['completed', 'cancelled']) }),
]);

export type WorkerMessage = z.infer<typeof workerMessageSchema>;
export type MetricPoint = z.infer<typeof metricSchema>;
export type EvalMistake = z.infer<typeof mistakeSchema>;

/** The dataset a job reads: its cache folder and the images of each split with their labels. */
export const datasetPayloadSchema = z.object({
  dir: z.string(),
  size: z.number().int().positive(),
  classes: z.array(z.string()).min(2),
  trainIdx: z.array(z.number().int().nonnegative()),
  trainLabels: z.array(z.number().int().nonnegative()),
  valIdx: z.array(z.number().int().nonnegative()),
  valLabels: z.array(z.number().int().nonnegative()),
});

export type DatasetPayload = z.infer<typeof datasetPayloadSchema>;

/** What every job gets: its run, the run's stored config (validated again by the worker), its folder and dataset. */
const jobBase = {
  runId: z.number().int().positive(),
  config: z.unknown(),
  runDir: z.string(),
  dataset: datasetPayloadSchema,
};

/** Jobs that read a checkpoint of the run. */
const checkpointJobBase = {
  ...jobBase,
  checkpointDir: z.string(),
};

/** What a worker is asked to do; everything it needs comes with it, it never opens the database. */
export const jobSpecSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('train'),
    ...jobBase,
    /** Continue from the checkpoint in this folder (the run's last), or start afresh. */
    resumeFrom: z.string().nullable(),
    /** Threads to train on (engine.threads resolved by the host); engines that spread over the machine themselves ignore it. */
    threads: z.number().int().positive().default(1),
  }),
  z.object({
    kind: z.literal('eval'),
    ...checkpointJobBase,
    checkpoint: z.enum(['best', 'last']),
    split: z.enum(['train', 'val']),
    tenCrop: z.boolean(),
  }),
  z.object({
    kind: z.literal('features'),
    ...checkpointJobBase,
    checkpoint: z.enum(['best', 'last']),
    split: z.enum(['train', 'val', 'all']),
    /** The .npy to write (atomically) and the JSON of the rows' image ids. */
    outPath: z.string(),
    idsPath: z.string(),
  }),
  z.object({
    kind: z.literal('analysis'),
    ...checkpointJobBase,
    task: z.enum(ANALYSIS_TASKS),
    /** The run's fc7 index files at one checkpoint (the 'all' index, or train and val). */
    parts: z
      .array(z.object({ path: z.string(), idsPath: z.string() }))
      .min(1)
      .max(3),
    /** The result file to write (atomically), and where mirrored features are kept between runs. */
    outPath: z.string(),
    mirrorPath: z.string(),
    options: analysisOptionsSchema,
  }),
  z.object({
    kind: z.literal('embed'),
    ...checkpointJobBase,
    /** Image files outside the dataset, preprocessed like the dataset's evaluation images. */
    files: z.array(z.string()).min(1).max(1000),
  }),
]);

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type FeaturesJob = Extract<JobSpec, { kind: 'features' }>;
export type EmbedJob = Extract<JobSpec, { kind: 'embed' }>;
export type AnalysisJob = Extract<JobSpec, { kind: 'analysis' }>;

export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    job: jobSpecSchema,
    backend: backendChoiceSchema,
  }),
  z.object({ type: z.literal('cancel') }),
]);

export type HostMessage = z.infer<typeof hostMessageSchema>;
