import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildAlexNet, summarize } from '../../core/model/alexnet.js';
import { presetConfig, type ModelConfig } from '../../core/schema/model-config.js';
import { applyModelSettings as applySettings } from '../../core/schema/apply-settings.js';
import { UserError } from '../../core/util/errors.js';

const PAPER_PARAMS = 60_965_224; // DESIGN.md / the paper: two towers, 1000 classes
const TORCHVISION_PARAMS = 61_100_840; // torchvision's single-tower AlexNet (other conv widths)
// fc6/fc7 hold 54M of the paper's 61M weights; tests about conv/LRN/pool/dropout shrink them.
const SMALL_FC = 'fc=64,64';
const NAMED = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'];

/** Textbook count: k·k·(in/groups)·out + out per conv, in·out + out per fc. */
function handCount(c: ModelConfig): number {
  let [size, channels, total] = [c.inputSize, 3, 0];
  for (const l of c.conv) {
    total += l.kernel * l.kernel * (channels / (l.grouped ? c.groups : 1)) * l.filters + l.filters;
    size = Math.floor((size + 2 * l.pad - l.kernel) / l.stride) + 1;
    if (l.pool) size = Math.floor((size - c.pool.size) / c.pool.stride) + 1;
    channels = l.filters;
  }
  let fanIn = size * size * channels;
  for (const units of [...c.fc, c.classes]) {
    total += fanIn * units + units;
    fanIn = units;
  }
  return total;
}

function build(preset: string, settings: string[] = [], seed?: number): tfl.LayersModel {
  return buildAlexNet(applySettings(presetConfig(preset), settings), { seed });
}

/** Output shapes (no batch) of the named layers, as '55x55x96 27x27x96 …'. */
function shapes(model: tfl.LayersModel, names: string[]): string {
  const byName = new Map(summarize(model).layers.map((l) => [l.name, l.outputShape.join('x')]));
  return names.map((n) => byName.get(n) ?? `no ${n}`).join(' ');
}

const values = (m: tfl.LayersModel, layer: string, index: number) =>
  m.getLayer(layer).getWeights()[index]!.dataSync() as Float32Array;
const allEqual = (xs: Float32Array, v: number) => xs.every((x) => x === v);
const layerNames = (m: tfl.LayersModel) => m.layers.map((l) => l.name);
/** Element-wise equality (vitest's toEqual is slow on million-element typed arrays). */
const sameValues = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

function expectUserError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  expect((caught as Error).message).toMatch(message);
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('alexnet-paper', () => {
  let model: tfl.LayersModel;
  beforeAll(() => {
    model = build('alexnet-paper', [], 7);
    return () => model.dispose();
  });

  it('has the paper parameter count and feature-map sizes', () => {
    expect(handCount(presetConfig('alexnet-paper'))).toBe(PAPER_PARAMS);
    expect(summarize(model).params).toBe(PAPER_PARAMS);
    expect(model.inputs[0]!.shape).toEqual([null, 227, 227, 3]);
    const layers = 'conv1 pool1 conv2 pool2 conv3 conv4 conv5 pool5 fc6 fc7 fc8'.split(' ');
    expect(shapes(model, layers)).toBe(
      '55x55x96 27x27x96 27x27x256 13x13x256 13x13x384 13x13x384 13x13x256 6x6x256 4096 4096 1000',
    );
  });

  it('names layers and weights like Caffe, with grouped kernels at half input depth', () => {
    expect(layerNames(model)).toEqual(expect.arrayContaining(NAMED));
    const weightNames = NAMED.flatMap((n) => [`${n}/kernel`, `${n}/bias`]);
    expect(model.weights.map((w) => w.originalName)).toEqual(weightNames);
    const kernelShape = (n: string) => model.getLayer(n).getWeights()[0]!.shape.join('x');
    expect(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6'].map(kernelShape)).toEqual([
      '11x11x3x96',
      '5x5x48x256',
      '3x3x256x384',
      '3x3x192x384',
      '3x3x192x256',
      '9216x4096',
    ]);
  });

  it('initialises weights N(0, 0.01) and biases 1 in conv2/4/5, fc6/7, 0 elsewhere', () => {
    for (const name of ['fc6', 'conv1']) {
      const w = values(model, name, 0);
      let [sum, sumSq] = [0, 0];
      for (const v of w) [sum, sumSq] = [sum + v, sumSq + v * v];
      const mean = sum / w.length;
      expect(Math.abs(mean)).toBeLessThan(2e-4);
      expect(Math.abs(Math.sqrt(sumSq / w.length - mean * mean) - 0.01)).toBeLessThan(2e-4); // 2%
    }
    for (const n of ['conv2', 'conv4', 'conv5', 'fc6', 'fc7'])
      expect(allEqual(values(model, n, 1), 1)).toBe(true);
    for (const n of ['conv1', 'conv3', 'fc8']) expect(allEqual(values(model, n, 1), 0)).toBe(true);
  });
});

describe('seeds and init ablation', () => {
  it('same seed gives identical weights, a different seed different ones', () => {
    // Seed 0 is every run's default.
    const [a, b, c] = [0, 0, 2].map((s) =>
      build('alexnet-paper', [SMALL_FC], s),
    ) as tfl.LayersModel[];
    for (const name of ['conv1', 'conv4', 'fc6', 'fc8']) {
      expect(sameValues(values(a!, name, 0), values(b!, name, 0))).toBe(true);
      expect(sameValues(values(a!, name, 0), values(c!, name, 0))).toBe(false);
    }
    [a, b, c].forEach((m) => m!.dispose());
  });

  it('init.bias=0.1 (Caffe) puts 0.1 where the paper has 1', () => {
    const m = build('alexnet-paper', [SMALL_FC, 'init.bias=0.1'], 3);
    for (const n of ['conv2', 'conv4', 'conv5', 'fc6', 'fc7']) {
      expect(allEqual(values(m, n, 1), Math.fround(0.1))).toBe(true);
    }
    expect(allEqual(values(m, 'conv1', 1), 0)).toBe(true);
    m.dispose();
  });
});

describe('ablations', () => {
  it('groups=1 gives full-depth kernels and the hand-computed count', () => {
    const config = applySettings(presetConfig('alexnet-paper'), ['groups=1']);
    const m = buildAlexNet(config);
    // conv2/4/5 see all input channels: 5·5·48·256 + 3·3·192·384 + 3·3·192·256 more weights.
    const extra = 5 * 5 * 48 * 256 + 3 * 3 * 192 * 384 + 3 * 3 * 192 * 256;
    expect(handCount(config)).toBe(PAPER_PARAMS + extra);
    expect(summarize(m).params).toBe(PAPER_PARAMS + extra);
    expect(summarize(m).params).not.toBe(TORCHVISION_PARAMS);
    expect(m.getLayer('conv2').getWeights()[0]!.shape).toEqual([5, 5, 96, 256]);
    expect(m.getLayer('conv5').getWeights()[0]!.shape).toEqual([3, 3, 384, 256]);
    m.dispose();
  });

  it('lrn=off removes the LRN layers; lrn=caffe keeps them with k=1', () => {
    const base = build('alexnet-paper', [SMALL_FC]);
    const off = build('alexnet-paper', [SMALL_FC, 'lrn=off']);
    const caffe = build('alexnet-paper', [SMALL_FC, 'lrn=caffe']);
    expect(layerNames(base)).toEqual(expect.arrayContaining(['lrn1', 'lrn2']));
    expect(layerNames(off).filter((n) => n.startsWith('lrn'))).toEqual([]);
    for (const name of ['lrn1', 'lrn2']) {
      expect(caffe.getLayer(name).getConfig()).toMatchObject({ mode: 'caffe', k: 1 });
      expect(base.getLayer(name).getConfig()).toMatchObject({ mode: 'paper', k: 2, alpha: 1e-4 });
    }
    [base, off, caffe].forEach((m) => m.dispose());
  });

  it('pool=2/2 uses non-overlapping 2×2 pools with the same 27/13/6 sizes', () => {
    const m = build('alexnet-paper', [SMALL_FC, 'pool=2/2']);
    for (const name of ['pool1', 'pool2', 'pool5']) {
      expect(m.getLayer(name).getConfig()).toMatchObject({ poolSize: [2, 2], strides: [2, 2] });
    }
    expect(shapes(m, ['pool1', 'pool2', 'pool5'])).toBe('27x27x96 13x13x256 6x6x256');
    m.dispose();
  });

  it('dropout=0 removes dropout layers; dropout=0.3 sets the rate', () => {
    const none = build('alexnet-paper', [SMALL_FC, 'dropout=0']);
    const some = build('alexnet-paper', [SMALL_FC, 'dropout=0.3']);
    const dropouts = (m: tfl.LayersModel) => m.layers.filter((l) => l.getClassName() === 'Dropout');
    expect(dropouts(none)).toEqual([]);
    expect(dropouts(some).map((l) => l.getConfig().rate)).toEqual([0.3, 0.3]);
    [none, some].forEach((m) => m.dispose());
  });

  it('classes=10 makes fc8 10 wide; inputSize=224 gives a 54×54 conv1', () => {
    const ten = build('alexnet-paper', [SMALL_FC, 'classes=10']);
    expect(shapes(ten, ['fc8', 'prob'])).toBe('10 10');
    const small = build('alexnet-paper', [SMALL_FC, 'inputSize=224']);
    expect(shapes(small, ['conv1'])).toBe('54x54x96');
    [ten, small].forEach((m) => m.dispose());
  });
});

describe('alexnet-cifar', () => {
  it('builds for 24×24×3 crops with the same layer names and a hand-computed count', () => {
    const m = build('alexnet-cifar');
    expect(m.inputs[0]!.shape).toEqual([null, 24, 24, 3]);
    expect(layerNames(m)).toEqual(expect.arrayContaining(NAMED));
    // 24 →conv1(5, pad 2) 24 →pool 11 →conv2 11 →pool 5 →conv3–5 5 →pool 2: flatten 2·2·128.
    const conv = [5 * 5 * 3 * 64 + 64, 5 * 5 * (64 / 2) * 128 + 128, 3 * 3 * 128 * 192 + 192];
    conv.push(3 * 3 * (192 / 2) * 192 + 192, 3 * 3 * (192 / 2) * 128 + 128); // conv4, conv5
    const fc = [2 * 2 * 128 * 1024 + 1024, 1024 * 1024 + 1024, 1024 * 10 + 10];
    expect(summarize(m).params).toBe([...conv, ...fc].reduce((s, n) => s + n, 0));
    expect(shapes(m, ['pool5'])).toBe('2x2x128');
    m.dispose();
  });
});

describe('bad settings', () => {
  it('throw UserError naming the problem', () => {
    expectUserError(() => presetConfig('alexnet-huge'), /unknown preset 'alexnet-huge'/);
    const paper = (setting: string) => () =>
      applySettings(presetConfig('alexnet-paper'), [setting]);
    expectUserError(paper('foo=1'), /unknown setting 'foo'/);
    expectUserError(paper('groups=3'), /groups:/);
    expectUserError(paper('dropout=2'), /dropout:.*0\.95/);
    expectUserError(paper('classes=1'), /classes:.*2/);
    expectUserError(paper('inputSize=300'), /300.*larger.*256/);
    expectUserError(paper('conv1.filters=95'), /conv2.*95.*groups/);
  });
});
