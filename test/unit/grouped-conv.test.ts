import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { GroupedConv2D, groupedConv2d } from '../../core/model/layers/grouped-conv.js';
import { buildAlexNet } from '../../core/model/alexnet.js';
import { presetConfig } from '../../core/schema/model-config.js';

type Explicit = [[0, 0], [number, number], [number, number], [0, 0]];
const explicitPad = (p: number): Explicit => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

/** Two towers by hand: each input-channel half convolved with its own block of output channels. */
function twoTowers(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: number, pad: number) {
  const half = x.shape[3] / 2;
  const out = kernel.shape[3] / 2;
  const tower = (g: number) =>
    tf.conv2d(
      tf.slice(x, [0, 0, 0, g * half], [-1, -1, -1, half]),
      tf.slice(kernel, [0, 0, 0, g * out], [-1, -1, -1, out]),
      strides,
      explicitPad(pad),
    );
  return tf.concat([tower(0), tower(1)], 3);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

async function roundTrip(model: tfl.LayersModel) {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  // Through JSON text, as when written to model.json on disk.
  const topology = JSON.parse(JSON.stringify(saved!.modelTopology)) as object;
  const loaded = await tfl.loadLayersModel(
    tf.io.fromMemory({ ...saved!, modelTopology: topology }),
  );
  return { loaded, weightNames: saved!.weightSpecs!.map((s) => s.name) };
}

/** Rescales every weight by a random factor in [0.5, 1.5), so a load that re-ran the initialisers would show. */
function scrambleWeights(model: tfl.LayersModel, seed: number): void {
  const fresh = model
    .getWeights()
    .map((w, i) => tf.mul(w, tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i)));
  model.setWeights(fresh);
  tf.dispose(fresh);
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('groupedConv2d', () => {
  const cases = [
    { kernel: 3, strides: 1, pad: 0 },
    { kernel: 3, strides: 1, pad: 1 },
    { kernel: 3, strides: 1, pad: 2 },
    { kernel: 5, strides: 1, pad: 2 },
    { kernel: 3, strides: 2, pad: 0 },
    { kernel: 3, strides: 2, pad: 1 },
    { kernel: 5, strides: 2, pad: 2 },
    { kernel: 4, strides: 2, pad: 1 },
  ];
  for (const { kernel, strides, pad } of cases) {
    it(`equals two separate convolutions (k${kernel}, stride ${strides}, pad ${pad})`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 9, 8, 6], 0, 1, 'float32', 1) as tf.Tensor4D;
        const k = tf.randomNormal([kernel, kernel, 3, 10], 0, 1, 'float32', 2) as tf.Tensor4D;
        const got = groupedConv2d(x, k, 2, strides, pad);
        const size = (n: number) => Math.floor((n + 2 * pad - kernel) / strides) + 1;
        expect(got.shape).toEqual([2, size(9), size(8), 10]);
        expect(maxAbsDiff(got, twoTowers(x, k, strides, pad))).toBeLessThan(1e-4);
      });
    });
  }

  it('is not the ungrouped convolution (towers do not see each other)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([1, 6, 6, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
      const k = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
      const grouped = groupedConv2d(x, k, 2, 1, 1);
      // Changing only the second half of the input channels leaves the first tower's output alone.
      const x2 = tf.concat([tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 2]), tf.zeros([1, 6, 6, 2])], 3);
      const grouped2 = groupedConv2d(x2 as tf.Tensor4D, k, 2, 1, 1);
      const firstTower = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 0], [-1, -1, -1, 2]);
      const secondTower = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 2], [-1, -1, -1, 2]);
      expect(maxAbsDiff(firstTower(grouped), firstTower(grouped2))).toBe(0);
      expect(maxAbsDiff(secondTower(grouped), secondTower(grouped2))).toBeGreaterThan(0.1);
    });
  });
});

describe('GroupedConv2D layer', () => {
  it('computes the two-tower convolution plus bias, then ReLU', () => {
    const layer = new GroupedConv2D({
      ...{ name: 'g', filters: 8, kernelSize: 5, strides: 2, pad: 2, groups: 2 },
      ...{ activation: 'relu', kernelStd: 0.3, seed: 5, biasValue: 0 },
    });
    const x = tf.randomNormal([2, 11, 11, 6], 0, 1, 'float32', 6) as tf.Tensor4D;
    const y = layer.apply(x) as tf.Tensor;
    const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
    expect(kernel.shape).toEqual([5, 5, 3, 8]);
    expect(y.shape).toEqual([2, 6, 6, 8]);
    expect(layer.computeOutputShape([null, 11, 11, 6])).toEqual([null, 6, 6, 8]);
    // Non-zero biases, so a dropped or misplaced bias shows.
    const newWeights = [kernel.clone(), tf.linspace(-1, 1, 8)];
    layer.setWeights(newWeights);
    const y2 = layer.apply(x) as tf.Tensor;
    const preRelu = tf.add(twoTowers(x, kernel, 2, 2), layer.getWeights()[1]!);
    expect(maxAbsDiff(y2, tf.relu(preRelu))).toBeLessThan(1e-4);
    expect(tf.min(preRelu).dataSync()[0]).toBeLessThan(0); // the ReLU did clip something
    expect(bias.shape).toEqual([8]);
    tf.dispose([x, y, y2, preRelu, ...newWeights]);
  });

  it('serialises in a model and loads back with identical outputs and weight names', async () => {
    const input = tfl.input({ shape: [10, 10, 4] });
    const common = { kernelSize: 3, strides: 1, pad: 1, groups: 2, kernelStd: 0.2, biasValue: 1 };
    const a = new GroupedConv2D({ name: 'towers1', filters: 6, activation: 'relu', ...common });
    const b = new GroupedConv2D({ name: 'towers2', filters: 4, activation: 'linear', ...common });
    const output = b.apply(a.apply(input)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    scrambleWeights(model, 10);
    const { loaded, weightNames } = await roundTrip(model);
    const names = ['towers1/kernel', 'towers1/bias', 'towers2/kernel', 'towers2/bias'];
    expect(weightNames).toEqual(names);
    expect(loaded.weights.map((w) => w.originalName)).toEqual(names);
    expect(loaded.getLayer('towers1')).toBeInstanceOf(GroupedConv2D);
    expect(loaded.getLayer('towers2').getConfig()).toMatchObject({
      groups: 2,
      activation: 'linear',
    });
    const x = tf.randomNormal([3, 10, 10, 4], 0, 1, 'float32', 11);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    const after = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(after)).toEqual(Array.from(before));
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });
});

describe('alexnet-cifar', () => {
  it('round-trips through save/load with identical outputs', async () => {
    const model = buildAlexNet(presetConfig('alexnet-cifar'), { seed: 1 });
    scrambleWeights(model, 100);
    const { loaded, weightNames } = await roundTrip(model);
    expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    expect(weightNames).toEqual(model.weights.map((w) => w.originalName));
    const x = tf.randomUniform([4, 24, 24, 3], -1, 1, 'float32', 12);
    const before = model.predict(x) as tf.Tensor;
    const after = loaded.predict(x) as tf.Tensor;
    expect(after.shape).toEqual([4, 10]);
    expect(Math.max(...before.dataSync())).toBeLessThan(0.99); // not saturated, so weights matter
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    tf.dispose([x, before, after]);
    model.dispose();
    loaded.dispose();
  });
});
