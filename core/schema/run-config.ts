import { createHash } from 'node:crypto';
import { z } from 'zod';
import { modelConfigSchema, presetConfig, type ModelConfig } from './model-config.js';
import { UserError } from '../util/errors.js';

export const optimSchema = z.strictObject({
  /** sgd: the paper's momentum rule; nesterov: Nesterov momentum; adam: for comparison. */
  type: z.enum(['sgd', 'nesterov', 'adam']),
  lr: z.number().positive(),
  momentum: z.number().min(0).max(0.999),
  weightDecay: z.number().min(0).max(1),
  /** Caffe's convention: biases learn at 2× the rate and get no weight decay. */
  caffeBias: z.boolean(),
  beta1: z.number().min(0).max(0.9999),
  beta2: z.number().min(0).max(0.99999),
  epsilon: z.number().positive().max(1),
});

export const scheduleSchema = z.strictObject({
  /** fixed; step: ×gamma every stepSize epochs; multistep: at each milestone; plateau: the paper's ÷10 when val error stops improving. */
  type: z.enum(['fixed', 'step', 'multistep', 'plateau']),
  gamma: z.number().positive().max(1),
  stepSize: z.number().int().positive(),
  milestones: z.array(z.number().int().positive()),
  /** plateau: epochs without improvement before a drop. */
  patience: z.number().int().min(0),
  /** plateau: at most this many drops (the paper: 3). */
  maxDrops: z.number().int().min(0),
  /** plateau: the improvement in val top-1 error that counts. */
  threshold: z.number().min(0),
});

export const dataSchema = z.strictObject({
  randomCrop: z.boolean(),
  flip: z.boolean(),
  /** σ of the PCA colour noise; 0 turns it off (the paper: 0.1). */
  pcaSigma: z.number().min(0).max(10),
  mean: z.enum(['image', 'pixel', 'none']),
  scale: z.number().positive(),
});

export const engineSchema = z.strictObject({
  /**
   * Threads one training job uses: 'auto' (the cores divided among the jobs running) or a
   * number, at most the machine's cores. On wasm and cpu each thread trains a share of every
   * batch (data-parallel); the update is the same as on one thread.
   */
  threads: z.union([z.literal('auto'), z.number().int().min(1).max(1024)]),
});

export const runConfigSchema = z.strictObject({
  model: modelConfigSchema,
  optim: optimSchema,
  schedule: scheduleSchema,
  data: dataSchema,
  // Runs recorded before the setting existed have none: they were single-job 'auto' too.
  engine: engineSchema.default({ threads: 'auto' }),
  batchSize: z.number().int().min(1).max(4096),
  epochs: z.number().int().min(1).max(10_000),
  /** Evaluate on the validation split every N epochs (and always after the last). */
  evalEvery: z.number().int().min(1),
  /** Ten-crop evaluation after the last epoch. */
  tenCropAtEnd: z.boolean(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
});

export type RunConfig = z.infer<typeof runConfigSchema>;
export type OptimConfig = z.infer<typeof optimSchema>;
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
export type EngineConfig = z.infer<typeof engineSchema>;

/**
 * The paper's training recipe (section 5) around a model: SGD with momentum 0.9 and weight decay
 * 0.0005 at learning rate 0.01, divided by 10 when the validation error stops improving, batch
 * 128, random crops, flips and PCA colour noise, mean image subtracted.
 */
export function defaultRunConfig(model: ModelConfig): RunConfig {
  const config: RunConfig = {
    model,
    optim: {
      type: 'sgd',
      lr: 0.01,
      momentum: 0.9,
      weightDecay: 0.0005,
      caffeBias: false,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    },
    schedule: {
      type: 'plateau',
      gamma: 0.1,
      stepSize: 30,
      milestones: [],
      patience: 2,
      maxDrops: 3,
      threshold: 0.001,
    },
    data: { randomCrop: true, flip: true, pcaSigma: 0.1, mean: 'image', scale: 1 },
    engine: { threads: 'auto' },
    batchSize: 128,
    epochs: 90,
    evalEvery: 1,
    tenCropAtEnd: false,
    seed: 0,
  };
  if (model.init.scheme === 'he') {
    // He initialisation assumes inputs of about unit variance; pixel values minus the mean have
    // a standard deviation near 64, so scale them down (the paper's N(0, 0.01) absorbs it instead).
    config.data.scale = 1 / 64;
    config.epochs = 30;
  }
  return config;
}

/** A preset's run config: the model preset plus the paper's recipe. */
export function presetRunConfig(preset: string): RunConfig {
  return defaultRunConfig(presetConfig(preset));
}

/** Validates a run config, with one readable line per problem. */
export function validateRunConfig(value: unknown): RunConfig {
  const parsed = runConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new UserError(`invalid run config: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** Every leaf of the config as a dotted key, for the params table (`optim.lr`, `model.lrn.k`). */
export function flattenParams(config: RunConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const walk = (value: unknown, prefix: string): void => {
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v !== 'object')) out[prefix] = value.join(',');
      else value.forEach((v, i) => walk(v, `${prefix}.${i + 1}`));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else if (
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    ) {
      out[prefix] = value;
    }
  };
  walk(config, '');
  return out;
}

/**
 * A stable hash of the config (keys sorted), to spot identical runs. The engine settings are
 * left out: the thread count changes how fast a run trains, not what it learns.
 */
export function configHash(config: RunConfig): string {
  const params = flattenParams(config);
  const text = Object.keys(params)
    .filter((k) => !k.startsWith('engine.'))
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
