import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { UserError, errorMessage } from '../util/errors.js';
import { validateModelConfig, type ModelConfig } from '../schema/model-config.js';
import { preprocessingSchema, type Preprocessing } from './preprocessing.js';
import type { Mean } from './input.js';
// Custom layers must be registered before a model that uses them is deserialised.
import './layers/grouped-conv.js';
import './layers/lrn.js';

export const MODEL_FILES = {
  topology: 'model.json',
  weights: 'weights.bin',
  labels: 'labels.json',
  preprocessing: 'preprocessing.json',
} as const;

/** A model with everything needed to use it on new images. */
export interface ModelBundle {
  model: tfl.LayersModel;
  config: ModelConfig;
  labels: string[];
  preprocessing: Preprocessing;
  /** The mean as preprocessing.json describes it, loaded (the mean image read from its file). */
  mean: Mean;
}

const weightSpecSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.literal('float32'),
});

const modelJsonSchema = z.object({
  format: z.literal('layers-model'),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string().regex(/^[\w.-]+$/)).min(1),
        weights: z.array(weightSpecSchema),
      }),
    )
    .length(1),
  userDefinedMetadata: z.object({
    svw: z.object({ config: z.unknown(), weightsSha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  }),
});

const labelsSchema = z.array(z.string().min(1)).min(2);

/** A model loaded from its folder, with the checksum its weights were verified against. */
export type LoadedModel = ModelBundle & { weightsSha256: string };

/**
 * Writes a TF.js layers model (model.json + weights.bin) plus labels.json and preprocessing.json
 * to `dir`. Each file is written to a temporary name and renamed, so a reader never sees half a file.
 * A mean image (preprocessing.mean.type 'image') is written from `meanImage`.
 */
export async function saveModelDir(
  dir: string,
  bundle: Omit<ModelBundle, 'mean'> & { meanImage?: Float32Array },
): Promise<void> {
  const { model, config, labels, preprocessing } = bundle;
  if (labels.length !== config.classes) {
    throw new Error(`${labels.length} labels for a model with ${config.classes} classes`);
  }
  await mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs)
    throw new Error('model produced no weights');
  const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: artifacts.weightSpecs }],
    userDefinedMetadata: { svw: { config, weightsSha256: sha256(new Uint8Array(weightData)) } },
  };
  const files: [string, string | Uint8Array][] = [
    [MODEL_FILES.weights, new Uint8Array(weightData)],
    [MODEL_FILES.topology, JSON.stringify(modelJson)],
    [MODEL_FILES.labels, JSON.stringify(labels, null, 2) + '\n'],
    [MODEL_FILES.preprocessing, JSON.stringify(preprocessing, null, 2) + '\n'],
  ];
  if (preprocessing.mean.type === 'image') {
    if (!bundle.meanImage) throw new Error('preprocessing names a mean image but none was given');
    files.push([
      preprocessing.mean.file,
      new Uint8Array(
        bundle.meanImage.buffer,
        bundle.meanImage.byteOffset,
        bundle.meanImage.byteLength,
      ),
    ]);
  }
  for (const [name, content] of files) {
    const target = path.join(dir, name);
    await writeFile(`${target}.tmp`, content);
    await rename(`${target}.tmp`, target);
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readJson(dir: string, name: string): Promise<unknown> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`${dir} is not a model directory: ${name} is missing`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${errorMessage(err)}`);
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserError(
      `${file} is malformed: ${first?.path.join('.') || 'value'}: ${first?.message}`,
    );
  }
  return parsed.data;
}

/** Loads a model directory written by saveModelDir, checking every file against what it claims. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new UserError(`model directory ${dir} does not exist`);
  const modelJson = parseOrThrow(
    modelJsonSchema,
    await readJson(dir, MODEL_FILES.topology),
    MODEL_FILES.topology,
  );
  const config = validateModelConfig(modelJson.userDefinedMetadata.svw.config);
  const labels = parseOrThrow(
    labelsSchema,
    await readJson(dir, MODEL_FILES.labels),
    MODEL_FILES.labels,
  );
  const preprocessing = parseOrThrow(
    preprocessingSchema,
    await readJson(dir, MODEL_FILES.preprocessing),
    MODEL_FILES.preprocessing,
  );
  if (labels.length !== config.classes) {
    throw new UserError(
      `${MODEL_FILES.labels} has ${labels.length} labels but the model has ${config.classes} classes`,
    );
  }
  const manifest = modelJson.weightsManifest[0]!;
  const specs = manifest.weights;
  const expectedBytes = specs.reduce((sum, s) => sum + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  const chunks = await Promise.all(
    manifest.paths.map((p) => readFile(path.join(dir, p)).catch(() => null)),
  );
  if (chunks.some((c) => c === null))
    throw new UserError(`${dir}: a weights file listed in model.json is missing`);
  const weights = Buffer.concat(chunks as Buffer[]);
  if (weights.byteLength !== expectedBytes) {
    throw new UserError(
      `${dir}: weights are ${weights.byteLength} bytes but model.json describes ${expectedBytes} (truncated or tampered)`,
    );
  }
  if (sha256(weights) !== modelJson.userDefinedMetadata.svw.weightsSha256) {
    throw new UserError(
      `${dir}: weights do not match the checksum in model.json (corrupt or tampered)`,
    );
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: specs,
        weightData: weights.buffer.slice(
          weights.byteOffset,
          weights.byteOffset + weights.byteLength,
        ),
      }),
    );
  } catch (err) {
    throw new UserError(
      `${dir}: model.json does not describe a loadable model: ${errorMessage(err)}`,
    );
  }
  const mean = await loadMean(dir, preprocessing);
  const { weightsSha256 } = modelJson.userDefinedMetadata.svw;
  return { model, config, labels, preprocessing, mean, weightsSha256 };
}

/** The SHA-256 of a model folder's weights as its model.json records it (nothing is loaded). */
export function modelWeightsSha256(dir: string): string {
  const file = path.join(dir, MODEL_FILES.topology);
  return parseOrThrow(modelJsonSchema, JSON.parse(readFileSync(file, 'utf8')), file)
    .userDefinedMetadata.svw.weightsSha256;
}

async function loadMean(dir: string, preprocessing: Preprocessing): Promise<Mean> {
  const spec = preprocessing.mean;
  if (spec.type === 'pixel') return { type: 'pixel', values: spec.values };
  const buf = await readFile(path.join(dir, spec.file)).catch(() => {
    throw new UserError(`${dir}: mean image ${spec.file} is missing`);
  });
  const [h, w] = spec.shape;
  if (buf.byteLength !== h * w * 3 * 4)
    throw new UserError(`${dir}: ${spec.file} does not hold a ${h}×${w}×3 float32 image`);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { type: 'image', data, width: w };
}
