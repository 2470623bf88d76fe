import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../core/schema/run-config.js';
import { Optimizer } from '../../core/train/optimizer.js';
import { LrSchedule } from '../../core/train/schedule.js';
import { presetConfig } from '../../core/schema/model-config.js';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const optim = (over: Partial<ReturnType<typeof defaultRunConfig>['optim']>) => ({
  ...defaultRunConfig(presetConfig('alexnet-cifar')).optim,
  ...over,
});

/** Runs `steps` updates of one weight with fixed gradients and learning rates; returns w after each. */
function trajectory(
  config: ReturnType<typeof optim>,
  w0: number,
  grads: number[],
  lrs: number[],
  isBias = false,
): number[] {
  const variable = tf.variable(tf.scalar(w0), true, `w${Math.random()}`);
  const opt = new Optimizer(config, [{ name: 'w', variable, isBias }]);
  const out: number[] = [];
  grads.forEach((g, i) => {
    const grad = tf.scalar(g);
    opt.apply({ [variable.name]: grad }, lrs[i]!);
    grad.dispose();
    out.push(variable.dataSync()[0]!);
  });
  opt.dispose();
  variable.dispose();
  return out;
}

describe('Optimizer', () => {
  const grads = [0.5, -0.2, 0.3];
  const lrs = [0.1, 0.1, 0.01]; // a drop on the third step

  it("follows the paper's rule: v ← 0.9v − 0.0005·ε·w − ε·g, w ← w + v", () => {
    let w = 2;
    let v = 0;
    const expected = grads.map((g, i) => {
      v = 0.9 * v - 0.0005 * lrs[i]! * w - lrs[i]! * g;
      w = w + v;
      return w;
    });
    trajectory(optim({ type: 'sgd' }), 2, grads, lrs).forEach((got, i) =>
      expect(got).toBeCloseTo(expected[i]!, 6),
    );
  });

  it('Nesterov applies the look-ahead step', () => {
    let w = 2;
    let v = 0;
    const expected = grads.map((g, i) => {
      const step = -lrs[i]! * (g + 0.0005 * w);
      v = 0.9 * v + step;
      w = w + 0.9 * v + step;
      return w;
    });
    trajectory(optim({ type: 'nesterov' }), 2, grads, lrs).forEach((got, i) =>
      expect(got).toBeCloseTo(expected[i]!, 6),
    );
  });

  it("Caffe's bias rule doubles the rate and drops the decay for biases only", () => {
    const config = optim({ type: 'sgd', caffeBias: true, weightDecay: 0.1, momentum: 0 });
    const [bias] = trajectory(config, 1, [0.5], [0.1], true);
    expect(bias).toBeCloseTo(1 - 2 * 0.1 * 0.5, 6);
    const [weight] = trajectory(config, 1, [0.5], [0.1], false);
    expect(weight).toBeCloseTo(1 - 0.1 * (0.5 + 0.1 * 1), 6);
  });

  it('Adam matches the bias-corrected update', () => {
    const config = optim({ type: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    let w = 1;
    let m = 0;
    let s = 0;
    const expected = grads.map((g, i) => {
      m = 0.9 * m + 0.1 * g;
      s = 0.999 * s + 0.001 * g * g;
      w -= (lrs[i]! * (m / (1 - 0.9 ** (i + 1)))) / (Math.sqrt(s / (1 - 0.999 ** (i + 1))) + 1e-8);
      return w;
    });
    trajectory(config, 1, grads, lrs).forEach((got, i) => expect(got).toBeCloseTo(expected[i]!, 5));
  });

  it('saves and restores its state so a resumed run continues identically', () => {
    const config = optim({ type: 'sgd' });
    const a = tf.variable(tf.scalar(1), true, 'resume-a');
    const optA = new Optimizer(config, [{ name: 'p', variable: a, isBias: false }]);
    optA.apply({ [a.name]: tf.scalar(0.5) }, 0.1);
    const saved = optA.state();
    const b = tf.variable(tf.scalar(a.dataSync()[0]!), true, 'resume-b');
    const optB = new Optimizer(config, [{ name: 'p', variable: b, isBias: false }]);
    optB.restore(saved.steps, new Map(saved.tensors.map((t) => [t.name, t.tensor.clone()])));
    optA.apply({ [a.name]: tf.scalar(0.2) }, 0.1);
    optB.apply({ [b.name]: tf.scalar(0.2) }, 0.1);
    expect(b.dataSync()[0]).toBeCloseTo(a.dataSync()[0]!, 7);
  });
});

describe('LrSchedule', () => {
  const base = defaultRunConfig(presetConfig('alexnet-cifar')).schedule;

  it('step and multistep multiply by gamma at the right epochs', () => {
    const step = new LrSchedule({ ...base, type: 'step', stepSize: 3 }, 0.1);
    expect([0, 2, 3, 5, 6].map((e) => step.lrFor(e))).toEqual([
      0.1,
      0.1,
      0.1 * 0.1,
      0.1 * 0.1,
      0.1 * 0.1 * 0.1,
    ]);
    const multi = new LrSchedule({ ...base, type: 'multistep', milestones: [2, 5] }, 1);
    expect([0, 1, 2, 4, 5, 9].map((e) => multi.lrFor(e))).toEqual([
      1,
      1,
      0.1,
      0.1,
      0.1 * 0.1,
      0.1 * 0.1,
    ]);
    expect(new LrSchedule({ ...base, type: 'fixed' }, 0.5).lrFor(100)).toBe(0.5);
  });

  it('plateau divides by 10 when validation error stops improving, at most maxDrops times', () => {
    const s = new LrSchedule(
      { ...base, type: 'plateau', patience: 1, maxDrops: 2, threshold: 0.01 },
      0.01,
    );
    const drops = [0.8, 0.7, 0.7, 0.695, 0.69, 0.69, 0.69, 0.69, 0.69].map((err) => s.observe(err));
    expect(drops).toEqual([false, false, false, true, false, true, false, false, false]);
    expect(s.lrFor(9)).toBeCloseTo(0.0001, 10);
    const resumed = new LrSchedule(
      { ...base, type: 'plateau', patience: 1, maxDrops: 2, threshold: 0.01 },
      0.01,
      s.snapshot(),
    );
    expect(resumed.lrFor(10)).toBeCloseTo(0.0001, 10);
    expect(resumed.snapshot()).toEqual(s.snapshot());
  });
});
