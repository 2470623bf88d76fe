import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { inGroup, settingMeta } from './setting-meta.js';

// Model settings (`--set dropout=0.3`, `conv1.filters=48`) carry `.register(settingMeta, …)`,
// like the run settings in run-config.ts, which says how to add one.
const model = inGroup('model');

/** One convolutional stage: conv → ReLU → [LRN] → [max-pool]; `--set` names them conv1…conv5. */
const convLayerSchema = z.strictObject({
  filters: z.number().int().positive().register(settingMeta, model('output channels')),
  kernel: z
    .number()
    .int()
    .positive()
    .register(settingMeta, model('kernel side', { unit: 'px' })),
  stride: z
    .number()
    .int()
    .positive()
    .register(settingMeta, model('stride', { unit: 'px' })),
  /** The paper's conv1 has 0, conv2 2, conv3–5 1. */
  pad: z
    .number()
    .int()
    .nonnegative()
    .register(settingMeta, model('zero padding on each side', { unit: 'px' })),
  /** conv2, conv4 and conv5 in the paper. */
  grouped: z.boolean().register(settingMeta, model('split into the towers when groups is 2')),
  lrn: z.boolean().register(settingMeta, model('local response normalisation after the ReLU')),
  pool: z.boolean().register(settingMeta, model('max-pooling after it')),
});

export const LRN_MODES = ['paper', 'caffe', 'off'] as const;

export const modelConfigSchema = z.strictObject({
  preset: z.string().min(1),
  inputSize: z
    .number()
    .int()
    .min(8)
    .max(1024)
    .register(settingMeta, model('side of the square crop the network sees', { unit: 'px' })),
  sourceSize: z
    .number()
    .int()
    .min(8)
    .max(2048)
    .register(
      settingMeta,
      model('side of the stored images the crops are taken from', {
        unit: 'px',
        fromDataset: true,
      }),
    ),
  classes: z
    .number()
    .int()
    .min(2)
    .max(100_000)
    .register(settingMeta, model("output classes (fc8's width)", { fromDataset: true })),
  conv: z.array(convLayerSchema).length(5),
  fc: z
    .tuple([z.number().int().positive(), z.number().int().positive()])
    .register(
      settingMeta,
      model("widths of fc6 and fc7; fc7's activations are the retrieval features"),
    ),
  groups: z
    .union([z.literal(1), z.literal(2)])
    .register(
      settingMeta,
      model("towers: 2 splits the grouped layers' channels in two, as on the paper's two GPUs"),
    ),
  lrn: z.strictObject({
    mode: z
      .enum(LRN_MODES)
      .register(settingMeta, model('LRN: paper (α as given), caffe (α divided by size), off')),
    size: z
      .number()
      .int()
      .positive()
      .max(63)
      .register(settingMeta, model('LRN: adjacent channels summed over (n)')),
    k: z.number().positive().register(settingMeta, model('LRN: k, added before the power')),
    alpha: z.number().positive().register(settingMeta, model('LRN: α, the scale of Σa²')),
    beta: z.number().positive().register(settingMeta, model('LRN: β, the exponent')),
  }),
  pool: z.strictObject({
    size: z
      .number()
      .int()
      .min(1)
      .max(8)
      .register(
        settingMeta,
        model("max-pooling window (3 with stride 2: the paper's overlapping pooling)", {
          unit: 'px',
        }),
      ),
    stride: z
      .number()
      .int()
      .min(1)
      .max(8)
      .register(settingMeta, model('max-pooling stride', { unit: 'px' })),
  }),
  dropout: z.number().min(0).max(0.95).register(settingMeta, model('dropout rate of fc6 and fc7')),
  init: z.strictObject({
    scheme: z
      .enum(['paper', 'he'])
      .register(settingMeta, model('initial weights: paper N(0, std); he N(0, √(2/fan-in))')),
    std: z
      .number()
      .positive()
      .max(1)
      .register(settingMeta, model('paper init: σ of the initial weights')),
    bias: z
      .number()
      .min(0)
      .max(10)
      .register(
        settingMeta,
        model("initial bias of conv2, conv4, conv5, fc6 and fc7: the paper's 1, Caffe's 0.1"),
      ),
  }),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ConvLayerConfig = z.infer<typeof convLayerSchema>;

const paperConv: ConvLayerConfig[] = [
  { filters: 96, kernel: 11, stride: 4, pad: 0, grouped: false, lrn: true, pool: true },
  { filters: 256, kernel: 5, stride: 1, pad: 2, grouped: true, lrn: true, pool: true },
  { filters: 384, kernel: 3, stride: 1, pad: 1, grouped: false, lrn: false, pool: false },
  { filters: 384, kernel: 3, stride: 1, pad: 1, grouped: true, lrn: false, pool: false },
  { filters: 256, kernel: 3, stride: 1, pad: 1, grouped: true, lrn: false, pool: true },
];

const paperLrn = { mode: 'paper', size: 5, k: 2, alpha: 1e-4, beta: 0.75 } as const;

/**
 * The presets. `alexnet-paper` is the network of Krizhevsky et al. (2012) exactly;
 * `alexnet-cifar` keeps its structure (5 conv + 3 fc, LRN after conv1/conv2, overlapping
 * 3/2 pooling, two towers on conv2/4/5, dropout) scaled for 32×32 sources and 24×24 crops.
 */
export const PRESETS = {
  'alexnet-paper': {
    preset: 'alexnet-paper',
    inputSize: 227,
    sourceSize: 256,
    classes: 1000,
    conv: paperConv,
    fc: [4096, 4096],
    groups: 2,
    lrn: paperLrn,
    pool: { size: 3, stride: 2 },
    dropout: 0.5,
    init: { scheme: 'paper', std: 0.01, bias: 1 },
  },
  'alexnet-cifar': {
    preset: 'alexnet-cifar',
    inputSize: 24,
    sourceSize: 32,
    classes: 10,
    conv: [
      { filters: 64, kernel: 5, stride: 1, pad: 2, grouped: false, lrn: true, pool: true },
      { filters: 128, kernel: 5, stride: 1, pad: 2, grouped: true, lrn: true, pool: true },
      { filters: 192, kernel: 3, stride: 1, pad: 1, grouped: false, lrn: false, pool: false },
      { filters: 192, kernel: 3, stride: 1, pad: 1, grouped: true, lrn: false, pool: false },
      { filters: 128, kernel: 3, stride: 1, pad: 1, grouped: true, lrn: false, pool: true },
    ],
    fc: [1024, 1024],
    groups: 2,
    lrn: paperLrn,
    pool: { size: 3, stride: 2 },
    dropout: 0.5,
    // Eight layers of N(0, 0.01) starve a small net's gradients; He scaling trains from scratch.
    init: { scheme: 'he', std: 0.01, bias: 0.1 },
  },
} as const satisfies Record<string, ModelConfig>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The preset's config, deep-copied so callers may change it. */
export function presetConfig(name: string): ModelConfig {
  if (!(name in PRESETS)) {
    throw new UserError(`unknown preset '${name}' (choose ${PRESET_NAMES.join(', ')})`);
  }
  return structuredClone(PRESETS[name as PresetName]) as ModelConfig;
}

/** Validates a config, turning zod's report into one readable line. */
export function validateModelConfig(value: unknown): ModelConfig {
  const parsed = modelConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new UserError(`invalid model config: ${issues.join('; ')}`);
  }
  const config = parsed.data;
  checkGeometry(config);
  return config;
}

/** Rejects configs whose feature maps shrink below one pixel or cannot be split into towers. */
function checkGeometry(config: ModelConfig): void {
  if (config.inputSize > config.sourceSize) {
    throw new UserError(
      `input size ${config.inputSize} is larger than the source image size ${config.sourceSize}`,
    );
  }
  let size = config.inputSize;
  let channels = 3;
  config.conv.forEach((layer, i) => {
    const name = `conv${i + 1}`;
    if (config.groups > 1 && layer.grouped) {
      if (channels % config.groups || layer.filters % config.groups) {
        throw new UserError(
          `${name}: ${channels} input and ${layer.filters} output channels do not split into ${config.groups} groups`,
        );
      }
    }
    size = Math.floor((size + 2 * layer.pad - layer.kernel) / layer.stride) + 1;
    if (size < 1)
      throw new UserError(`${name}: input size ${config.inputSize} is too small for this network`);
    if (layer.pool) {
      size = Math.floor((size - config.pool.size) / config.pool.stride) + 1;
      if (size < 1) {
        throw new UserError(
          `pool after ${name}: input size ${config.inputSize} is too small for this network`,
        );
      }
    }
    channels = layer.filters;
  });
}
