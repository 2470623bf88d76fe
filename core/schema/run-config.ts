import { createHash } from 'node:crypto';
import { z } from 'zod';
import { modelConfigSchema, presetConfig, type ModelConfig } from './model-config.js';
import { UserError } from '../util/errors.js';
import { inGroup, settingMeta } from './setting-meta.js';

// The settings `--set` and the New run form take are the leaves below that carry
// `.register(settingMeta, …)`. To add one: give it a field here (its zod type is its kind and
// range), a default in defaultRunConfig, and a meta entry (group, one-line help, unit, aliases).
// Nothing else: the CLI help, the New run form, the sweeps and clones read the descriptors
// (core/schema/settings.ts), and test/unit/settings.test.ts fails on a leaf left without meta.

const optim = inGroup('optim');
const schedule = inGroup('schedule');
const data = inGroup('data');
const run = inGroup('run');

export const optimSchema = z.strictObject({
  type: z.enum(['sgd', 'nesterov', 'adam']).register(
    settingMeta,
    optim("update rule: sgd is the paper's momentum rule; nesterov and adam for comparison", {
      aliases: ['optimizer'],
    }),
  ),
  lr: z
    .number()
    .positive()
    .register(
      settingMeta,
      optim('learning rate at the start', { aliases: ['lr'], logScale: true }),
    ),
  momentum: z
    .number()
    .min(0)
    .max(0.999)
    .register(settingMeta, optim('momentum of sgd and nesterov', { aliases: ['momentum'] })),
  weightDecay: z
    .number()
    .min(0)
    .max(1)
    .register(settingMeta, optim('L2 weight decay', { aliases: ['weightDecay'], logScale: true })),
  caffeBias: z
    .boolean()
    .register(
      settingMeta,
      optim("Caffe's convention: biases learn at twice the rate and get no weight decay"),
    ),
  beta1: z.number().min(0).max(0.9999).register(settingMeta, optim('adam: first-moment decay')),
  beta2: z.number().min(0).max(0.99999).register(settingMeta, optim('adam: second-moment decay')),
  epsilon: z
    .number()
    .positive()
    .max(1)
    .register(settingMeta, optim("adam: added to the denominator's square root")),
});

export const scheduleSchema = z.strictObject({
  type: z
    .enum(['fixed', 'step', 'multistep', 'plateau'])
    .register(
      settingMeta,
      schedule(
        "fixed; step: ×gamma every stepSize epochs; multistep: at each milestone; plateau: the paper's ×gamma when val error stops improving",
        { aliases: ['schedule'] },
      ),
    ),
  gamma: z
    .number()
    .positive()
    .max(1)
    .register(settingMeta, schedule('factor the learning rate is multiplied by at each drop')),
  stepSize: z
    .number()
    .int()
    .positive()
    .register(settingMeta, schedule('step: epochs between drops', { unit: 'epochs' })),
  milestones: z.array(z.number().int().positive()).register(
    settingMeta,
    schedule('multistep: the epochs after which the rate drops, comma-separated', {
      unit: 'epochs',
    }),
  ),
  patience: z
    .number()
    .int()
    .min(0)
    .register(
      settingMeta,
      schedule('plateau: epochs without improvement before a drop', { unit: 'epochs' }),
    ),
  maxDrops: z
    .number()
    .int()
    .min(0)
    .register(settingMeta, schedule('plateau: at most this many drops (the paper: 3)')),
  threshold: z
    .number()
    .min(0)
    .register(settingMeta, schedule('plateau: the improvement in val top-1 error that counts')),
});

export const dataSchema = z.strictObject({
  randomCrop: z
    .boolean()
    .register(
      settingMeta,
      data('train on random crops (off: centre crops)', { aliases: ['randomCrop'] }),
    ),
  flip: z
    .boolean()
    .register(settingMeta, data('random horizontal flips in training', { aliases: ['flip'] })),
  pcaSigma: z
    .number()
    .min(0)
    .max(10)
    .register(
      settingMeta,
      data('σ of the PCA colour noise; 0 turns it off (the paper: 0.1)', {
        aliases: ['pcaSigma'],
      }),
    ),
  mean: z.enum(['image', 'pixel', 'none']).register(
    settingMeta,
    data('subtracted from every image: the mean image, the mean pixel, or nothing', {
      aliases: ['mean'],
    }),
  ),
  scale: z
    .number()
    .positive()
    .register(settingMeta, data('pixels are multiplied by this after the mean is subtracted')),
});

export const engineSchema = z.strictObject({
  // On wasm and cpu each thread trains a share of every batch (data-parallel), with the same
  // update as one thread; libtensorflow and GPUs spread a job over the machine themselves.
  threads: z
    .number()
    .int()
    .min(0)
    .max(1024)
    .register(
      settingMeta,
      run(
        'threads one training job runs on, at most the cores; 0 (auto) divides the cores among the jobs running',
        { aliases: ['threads'], unit: 'threads' },
      ),
    ),
});

export const runConfigSchema = z.strictObject({
  model: modelConfigSchema,
  optim: optimSchema,
  schedule: scheduleSchema,
  data: dataSchema,
  // Runs recorded before the setting existed have none: they ran as 'auto' (0) does.
  engine: engineSchema.default({ threads: 0 }),
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .register(
      settingMeta,
      optim('images per training step', { aliases: ['batch'], unit: 'images' }),
    ),
  epochs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .register(settingMeta, run('passes over the training images', { unit: 'epochs' })),
  evalEvery: z
    .number()
    .int()
    .min(1)
    .register(
      settingMeta,
      run('evaluate on the validation split every N epochs (and after the last)', {
        unit: 'epochs',
      }),
    ),
  tenCropAtEnd: z
    .boolean()
    .register(
      settingMeta,
      run('after the last epoch, also evaluate the average of ten crops (corners, centre, flips)'),
    ),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .register(settingMeta, run('seeds the weights, the shuffling and the augmentation')),
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
    engine: { threads: 0 },
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
