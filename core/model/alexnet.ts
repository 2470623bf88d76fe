import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelConfig } from '../schema/model-config.js';
import { GroupedConv2D } from './layers/grouped-conv.js';
import { LocalResponseNorm } from './layers/lrn.js';

/** Layers whose bias starts at `init.bias` (the paper's 1) rather than 0. */
const BIAS_ONE_LAYERS = new Set(['conv2', 'conv4', 'conv5', 'fc6', 'fc7']);

export interface BuildOptions {
  /** Seeds the weight initialisers; the same seed on the same backend gives the same weights. */
  seed?: number;
}

/**
 * Builds AlexNet from a validated config. Input [batch, inputSize, inputSize, 3] (RGB, mean
 * subtracted), output [batch, classes] softmax probabilities from the layer `prob`; the logits
 * are the output of `fc8`, the retrieval features that of `fc7` (post-ReLU).
 */
export function buildAlexNet(config: ModelConfig, options: BuildOptions = {}): tfl.LayersModel {
  let layerIndex = 0;
  // Never 0: tfjs's initialisers take a seed of 0 for none and draw from Math.random, so seed 0
  // (every run's default) would give conv1 different weights each time.
  const seedFor = () =>
    options.seed === undefined ? undefined : options.seed * 101 + ++layerIndex;
  const std = (fanIn: number) =>
    config.init.scheme === 'he' ? Math.sqrt(2 / fanIn) : config.init.std;
  const biasFor = (name: string) => (BIAS_ONE_LAYERS.has(name) ? config.init.bias : 0);

  const input = tfl.input({ shape: [config.inputSize, config.inputSize, 3], name: 'data' });
  let x = input as tfl.SymbolicTensor;
  let channels = 3;
  config.conv.forEach((layer, i) => {
    const name = `conv${i + 1}`;
    const groups = layer.grouped ? config.groups : 1;
    x = new GroupedConv2D({
      name,
      filters: layer.filters,
      kernelSize: layer.kernel,
      strides: layer.stride,
      pad: layer.pad,
      groups,
      activation: 'relu',
      kernelStd: std((layer.kernel * layer.kernel * channels) / groups),
      seed: seedFor(),
      biasValue: biasFor(name),
    }).apply(x) as tfl.SymbolicTensor;
    if (layer.lrn && config.lrn.mode !== 'off') {
      x = new LocalResponseNorm({
        name: `lrn${i + 1}`,
        size: config.lrn.size,
        k: config.lrn.k,
        alpha: config.lrn.alpha,
        beta: config.lrn.beta,
        mode: config.lrn.mode,
      }).apply(x) as tfl.SymbolicTensor;
    }
    if (layer.pool) {
      x = tfl.layers
        .maxPooling2d({
          name: `pool${i + 1}`,
          poolSize: config.pool.size,
          strides: config.pool.stride,
          padding: 'valid',
        })
        .apply(x) as tfl.SymbolicTensor;
    }
    channels = layer.filters;
  });

  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  let fanIn = x.shape[1] as number;
  config.fc.forEach((units, i) => {
    const name = `fc${i + 6}`;
    x = dense(name, units, 'relu', std(fanIn), seedFor(), biasFor(name)).apply(
      x,
    ) as tfl.SymbolicTensor;
    if (config.dropout > 0) {
      x = tfl.layers
        .dropout({ name: `drop${i + 6}`, rate: config.dropout })
        .apply(x) as tfl.SymbolicTensor;
    }
    fanIn = units;
  });
  x = dense('fc8', config.classes, 'linear', std(fanIn), seedFor(), 0).apply(
    x,
  ) as tfl.SymbolicTensor;
  const prob = tfl.layers
    .activation({ name: 'prob', activation: 'softmax' })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: prob, name: config.preset });
}

function dense(
  name: string,
  units: number,
  activation: 'relu' | 'linear',
  stddev: number,
  seed: number | undefined,
  bias: number,
): tfl.layers.Layer {
  return tfl.layers.dense({
    name,
    units,
    activation,
    kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev, seed }),
    biasInitializer: tfl.initializers.constant({ value: bias }),
  });
}

/** A model sharing `model`'s weights whose output is the named layer's activations. */
export function tapModel(
  model: tfl.LayersModel,
  layerName: 'fc7' | 'fc8' | string,
): tfl.LayersModel {
  const layer = model.getLayer(layerName);
  return tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor });
}

export interface LayerSummary {
  name: string;
  /** Output shape without the batch dimension. */
  outputShape: number[];
  params: number;
}

export interface ModelSummary {
  params: number;
  layers: LayerSummary[];
}

/** Parameter counts and output shapes per layer (input layer excluded). */
export function summarize(model: tfl.LayersModel): ModelSummary {
  const layers = model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => ({
      name: l.name,
      outputShape: (l.outputShape as (number | null)[]).slice(1) as number[],
      params: l.countParams(),
    }));
  return { params: layers.reduce((s, l) => s + l.params, 0), layers };
}

export { tf };
