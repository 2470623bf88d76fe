import { z } from 'zod';
import type { ModelConfig } from '../schema/model-config.js';

/** Mean RGB pixels used when a model has no dataset statistics of its own yet. */
export const DEFAULT_MEAN_PIXEL = {
  /** ILSVRC-2012 training set (the values Caffe and torchvision use, ×255). */
  imagenet: [123.68, 116.779, 103.939],
  /** CIFAR-10 training set. */
  cifar: [125.307, 122.95, 113.865],
} as const;

const offsetSchema = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);

/**
 * preprocessing.json: how an image file becomes the network's input. Travels with every
 * exported model so the same transform is applied wherever the model is used.
 */
export const preprocessingSchema = z.strictObject({
  version: z.literal(1),
  /** Side of the network input, in pixels. */
  inputSize: z.number().int().positive(),
  channelOrder: z.literal('RGB'),
  layout: z.literal('NHWC'),
  /** Step 1: resize so the shorter side is `shorterSide`, then centre-crop `size`×`size`. */
  resize: z.strictObject({
    shorterSide: z.number().int().positive(),
    crop: z.literal('centre'),
    size: z.number().int().positive(),
  }),
  /** Step 2 (evaluation): the single crop, `offset` = [top, left] within the resized image. */
  evalCrop: z.strictObject({ size: z.number().int().positive(), offset: offsetSchema }),
  /** Ten-crop testing: these five crops (4 corners, centre) and their horizontal flips. */
  tenCrop: z.strictObject({ offsets: z.array(offsetSchema).length(5), flips: z.literal(true) }),
  /** Step 3: subtract the mean, a per-channel pixel or a whole image of the resized size. */
  mean: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('pixel'),
      values: z.tuple([z.number(), z.number(), z.number()]),
    }),
    z.strictObject({
      type: z.literal('image'),
      file: z.string().regex(/^[\w.-]+$/),
      shape: z.tuple([z.number().int(), z.number().int(), z.literal(3)]),
      dtype: z.literal('float32'),
    }),
  ]),
  /** Step 4: multiply by this after subtracting the mean (1 keeps the paper's 0–255 scale). */
  scale: z.number().positive(),
});

export type Preprocessing = z.infer<typeof preprocessingSchema>;

/** Crop offsets [top, left]: the centre crop and the four corners, for `crop` out of `size`. */
export function cropOffsets(size: number, crop: number) {
  const far = size - crop;
  const centre = Math.floor(far / 2);
  return {
    centre: [centre, centre] as [number, number],
    tenCrop: [
      [0, 0],
      [0, far],
      [far, 0],
      [far, far],
      [centre, centre],
    ] as [number, number][],
  };
}

/** The preprocessing for a model config, with a given mean (a pixel by default). */
export function preprocessingFor(
  config: ModelConfig,
  mean: Preprocessing['mean'] = {
    type: 'pixel',
    values: [...(config.sourceSize <= 64 ? DEFAULT_MEAN_PIXEL.cifar : DEFAULT_MEAN_PIXEL.imagenet)],
  },
): Preprocessing {
  const offsets = cropOffsets(config.sourceSize, config.inputSize);
  return {
    version: 1,
    inputSize: config.inputSize,
    channelOrder: 'RGB',
    layout: 'NHWC',
    resize: { shorterSide: config.sourceSize, crop: 'centre', size: config.sourceSize },
    evalCrop: { size: config.inputSize, offset: offsets.centre },
    tenCrop: { offsets: offsets.tenCrop, flips: true },
    mean,
    scale: 1,
  };
}
