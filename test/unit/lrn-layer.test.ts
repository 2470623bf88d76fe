import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { LocalResponseNorm, type LocalResponseNormArgs } from '../../core/model/layers/lrn.js';

const SHAPE = [2, 3, 3, 7] as const;

/** Deterministic values in (-3, 3) from the Park–Miller generator, independent of tfjs. */
function randomValues(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 6 - 3;
  });
}

/**
 * Krizhevsky et al. 2012, section 3.3, with plain loops over NHWC data:
 * b_i = a_i / (k + α Σ_{j=max(0,i−n/2)}^{min(C−1,i+n/2)} a_j²)^β; Caffe divides α by n.
 */
function lrnByHand(a: number[], channels: number, args: Omit<LocalResponseNormArgs, 'name'>) {
  const { size: n, k, beta, mode } = args;
  const alpha = mode === 'caffe' ? args.alpha / n : args.alpha;
  const half = Math.floor(n / 2);
  const b = new Array<number>(a.length);
  for (let pixel = 0; pixel < a.length / channels; pixel++) {
    const base = pixel * channels;
    for (let i = 0; i < channels; i++) {
      let sum = 0;
      for (let j = Math.max(0, i - half); j <= Math.min(channels - 1, i + half); j++) {
        sum += a[base + j]! ** 2;
      }
      b[base + i] = a[base + i]! / (k + alpha * sum) ** beta;
    }
  }
  return b;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function roundTrip(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  // Through JSON text, as when written to model.json on disk.
  const topology = JSON.parse(JSON.stringify(saved!.modelTopology)) as object;
  return tfl.loadLayersModel(tf.io.fromMemory({ ...saved!, modelTopology: topology }));
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('LocalResponseNorm', () => {
  const input = randomValues(
    SHAPE.reduce((p, d) => p * d, 1),
    42,
  );
  const cases: Omit<LocalResponseNormArgs, 'name'>[] = [
    { mode: 'paper', size: 5, k: 2, alpha: 1e-4, beta: 0.75 },
    { mode: 'paper', size: 5, k: 2, alpha: 0.5, beta: 0.75 },
    { mode: 'caffe', size: 5, k: 1, alpha: 1e-4, beta: 0.75 },
    { mode: 'caffe', size: 5, k: 1, alpha: 0.5, beta: 0.75 },
    { mode: 'paper', size: 3, k: 1, alpha: 0.3, beta: 0.5 },
  ];

  for (const args of cases) {
    it(`matches the formula by hand: ${JSON.stringify(args)}`, () => {
      const layer = new LocalResponseNorm({ name: 'lrn', ...args });
      const x = tf.tensor4d(input, [...SHAPE]);
      const y = layer.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([...SHAPE]);
      const expected = lrnByHand(input, SHAPE[3], args);
      const got = y.dataSync();
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
      // With a large α the layer must actually rescale, so the test can tell it from identity.
      if (args.alpha >= 0.3) expect(maxAbsDiff(got, input)).toBeGreaterThan(0.1);
      tf.dispose([x, y]);
    });
  }

  it('caffe mode is paper mode with α/n', () => {
    const x = tf.tensor4d(input, [...SHAPE]);
    const run = (mode: 'paper' | 'caffe', alpha: number) =>
      (
        new LocalResponseNorm({ name: mode, mode, size: 5, k: 2, alpha, beta: 0.75 }).apply(
          x,
        ) as tf.Tensor
      ).dataSync();
    expect(maxAbsDiff(run('caffe', 0.5), run('paper', 0.5 / 5))).toBeLessThan(1e-6);
    expect(maxAbsDiff(run('caffe', 0.5), run('paper', 0.5))).toBeGreaterThan(0.01);
    x.dispose();
  });

  it('rejects an even size', () => {
    const args = { name: 'bad', mode: 'paper', size: 4, k: 2, alpha: 1, beta: 1 } as const;
    expect(() => new LocalResponseNorm(args)).toThrow(/odd/);
  });

  it('serialises with its settings and loads back with identical outputs', async () => {
    const settings = { mode: 'caffe', size: 5, k: 1.5, alpha: 0.5, beta: 0.6 } as const;
    const inp = tfl.input({ shape: [3, 3, 7] });
    const lrn = new LocalResponseNorm({ name: 'lrn1', ...settings });
    const model = tfl.model({ inputs: inp, outputs: lrn.apply(inp) as tfl.SymbolicTensor });
    const loaded = await roundTrip(model);
    const restored = loaded.getLayer('lrn1');
    expect(restored).toBeInstanceOf(LocalResponseNorm);
    expect(restored.getConfig()).toMatchObject(settings);
    const x = tf.tensor4d(input, [...SHAPE]);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    const after = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(maxAbsDiff(after, lrnByHand(input, 7, settings))).toBeLessThan(1e-5);
    tf.dispose([x]);
    model.dispose();
    loaded.dispose();
  });
});
