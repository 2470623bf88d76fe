import * as tf from '@tensorflow/tfjs-core';
import { decodeSquare, type RgbImage } from '../image/decode.js';
import { tapModel } from './alexnet.js';
import { writeCrop, type Crop } from './input.js';
import type { ModelBundle } from './io.js';
import type { Preprocessing } from './preprocessing.js';

/** Decodes an image file into the resized, centre-cropped square that preprocessing.json describes. */
export function loadForModel(file: string, preprocessing: Preprocessing): Promise<RgbImage> {
  return decodeSquare(file, preprocessing.resize.size);
}

/** The evaluation crop, or the ten crops (4 corners + centre, then the same flipped). */
export function evalCrops(preprocessing: Preprocessing, tenCrop: boolean): Crop[] {
  const size = preprocessing.evalCrop.size;
  if (!tenCrop) {
    const [top, left] = preprocessing.evalCrop.offset;
    return [{ top, left, size, flip: false }];
  }
  return [false, true].flatMap((flip) =>
    preprocessing.tenCrop.offsets.map(([top, left]) => ({ top, left, size, flip })),
  );
}

/** Stacks the crops of several images into one input batch [images·crops, size, size, 3]. */
export function inputBatch(bundle: ModelBundle, images: RgbImage[], crops: Crop[]): tf.Tensor4D {
  const size = bundle.preprocessing.inputSize;
  const per = size * size * 3;
  const data = new Float32Array(images.length * crops.length * per);
  let n = 0;
  for (const image of images) {
    for (const crop of crops)
      writeCrop(image, crop, bundle.mean, bundle.preprocessing.scale, data, per * n++);
  }
  return tf.tensor4d(data, [n, size, size, 3]);
}

export interface Prediction {
  image: string;
  top: { label: string; index: number; prob: number }[];
  /** fc8 outputs (mean over crops for ten-crop), when asked for. */
  logits?: number[];
}

export interface PredictOptions {
  top: number;
  tenCrop: boolean;
  logits: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Classifies image files, averaging softmax over the crops when ten-crop testing is on. */
export async function predictFiles(
  bundle: ModelBundle,
  files: string[],
  options: PredictOptions,
): Promise<Prediction[]> {
  const logitsModel = tapModel(bundle.model, 'fc8');
  const crops = evalCrops(bundle.preprocessing, options.tenCrop);
  const batchSize = Math.max(1, Math.floor((options.batchSize ?? 32) / crops.length));
  const k = Math.min(options.top, bundle.labels.length);
  const results: Prediction[] = [];
  for (let start = 0; start < files.length; start += batchSize) {
    const chunk = files.slice(start, start + batchSize);
    const images = await Promise.all(chunk.map((f) => loadForModel(f, bundle.preprocessing)));
    const [probs, logits] = tf.tidy(() => {
      const input = inputBatch(bundle, images, crops);
      const out = tf.reshape(logitsModel.predict(input) as tf.Tensor2D, [
        chunk.length,
        crops.length,
        -1,
      ]);
      return [tf.mean(tf.softmax(out), 1) as tf.Tensor2D, tf.mean(out, 1) as tf.Tensor2D];
    });
    const top = tf.topk(probs, k);
    const [values, indices, logitRows] = await Promise.all([
      top.values.array(),
      top.indices.array(),
      logits.array(),
    ]);
    tf.dispose([probs, logits, top.values, top.indices]);
    chunk.forEach((image, i) => {
      const prediction: Prediction = {
        image,
        top: indices[i]!.map((index, j) => ({
          label: bundle.labels[index]!,
          index,
          prob: values[i]![j]!,
        })),
      };
      if (options.logits) prediction.logits = logitRows[i]!;
      results.push(prediction);
    });
    options.onProgress?.(Math.min(start + batchSize, files.length), files.length);
  }
  return results;
}

/**
 * Runs images through the network and hands each batch of fc7 activations (post-ReLU) to
 * `onRows` as a float32 [batch, fc7Width] row block, in file order. Centre crop, no dropout.
 */
export async function extractFeatures(
  bundle: ModelBundle,
  files: string[],
  onRows: (rows: Float32Array, done: number) => void,
  batchSize = 32,
): Promise<void> {
  const featureModel = tapModel(bundle.model, 'fc7');
  const crops = evalCrops(bundle.preprocessing, false);
  for (let start = 0; start < files.length; start += batchSize) {
    const chunk = files.slice(start, start + batchSize);
    const images = await Promise.all(chunk.map((f) => loadForModel(f, bundle.preprocessing)));
    const features = tf.tidy(
      () => featureModel.predict(inputBatch(bundle, images, crops)) as tf.Tensor2D,
    );
    const rows = (await features.data()) as Float32Array;
    features.dispose();
    onRows(rows, start + chunk.length);
  }
}
