import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { benchPaired } from '../../bench/paired.js';
import { registerWasmTrainingKernels } from '../../core/engine/wasm-kernels.js';
import { LocalStepper } from '../../core/train/step.js';

const original = LocalStepper.prototype.step;
import {
  compareWithReference,
  formatComparison,
  type PytorchRequest,
} from '../../bench/reference.js';
import { formatResult, type BenchResult } from '../../bench/result.js';

const ours = (name: string, batch: number, imagesPerSec: number): BenchResult => ({
  name,
  backend: 'wasm',
  batch,
  imagesPerSec,
  msPerBatch: Math.round((batch / imagesPerSec) * 1000),
});

const torch = (name: string, batch: number, imagesPerSec: number, threads: number) => ({
  ...ours(name, batch, imagesPerSec),
  backend: 'pytorch 1.13.0',
  threads,
});

describe('the PyTorch comparison', () => {
  it('pairs results by kind, preset, batch and threads, ratio = ours ÷ PyTorch on as many', () => {
    const rows = compareWithReference(
      [
        ours('train alexnet-cifar', 128, 80),
        { ...ours('train alexnet-cifar', 128, 140), threads: 2 },
        ours('forward alexnet-cifar', 128, 300),
        ours('train alexnet-paper', 16, 4),
        ours('import cifar10-small (32×32 JPEG)', 1, 1500),
      ],
      [
        torch('train alexnet-cifar', 128, 160, 1),
        torch('train alexnet-cifar', 128, 250, 2),
        torch('forward alexnet-cifar', 128, 400, 1),
        torch('forward alexnet-cifar', 128, 500, 2),
        // Another batch size is not the same case.
        torch('train alexnet-paper', 32, 5, 1),
      ],
    );
    expect(rows).toEqual([
      {
        kind: 'train',
        preset: 'alexnet-cifar',
        batch: 128,
        threads: 1,
        oursImagesPerSec: 80,
        referenceImagesPerSec: 160,
        ratio: 0.5,
      },
      {
        kind: 'train',
        preset: 'alexnet-cifar',
        batch: 128,
        threads: 2,
        oursImagesPerSec: 140,
        referenceImagesPerSec: 250,
        ratio: 0.56,
        scaling: 1.75,
      },
      {
        kind: 'forward',
        preset: 'alexnet-cifar',
        batch: 128,
        threads: 1,
        oursImagesPerSec: 300,
        referenceImagesPerSec: 400,
        ratio: 0.75,
      },
    ]);
  });

  it('prints training rows first, numbers right-aligned, our scaling where threads > 1', () => {
    const rows = compareWithReference(
      [
        ours('forward alexnet-paper', 16, 15.04),
        ours('train alexnet-paper', 16, 3.9),
        { ...ours('train alexnet-paper', 16, 7.02), threads: 2 },
      ],
      [
        torch('forward alexnet-paper', 16, 13.6, 1),
        torch('train alexnet-paper', 16, 4.7, 1),
        torch('train alexnet-paper', 16, 6.2, 2),
      ],
    );
    expect(formatComparison(rows).split('\n')).toEqual([
      '         preset         batch  threads  ours img/s  PyTorch img/s  ours ÷ PyTorch  ours ÷ ours on 1 thread',
      'train    alexnet-paper     16        1         3.9            4.7           0.83×                        —',
      'train    alexnet-paper     16        2         7.0            6.2           1.13×                    1.80×',
      'forward  alexnet-paper     16        1        15.0           13.6           1.11×                        —',
    ]);
  });

  it('shows memory, thread and scaling figures in the summary line', () => {
    const line = formatResult({
      ...ours('train alexnet-cifar, 2 jobs at once on 1 thread each (sum)', 128, 150),
      jobs: 2,
      scaling: 1.9,
      peakRssMB: 2900,
      tensorBytes: 484 * 2 ** 20,
      tensors: 33,
      threads: 1,
    });
    expect(line).toContain('150.0 img/s');
    expect(line).toContain(
      '1 thread  peak RSS 2900 MB  33 tensors, 484 MB  1.90× one job on 1 thread',
    );
  });
});

describe('the paired comparison against PyTorch', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('alternates our steps and PyTorch’s, round by round, and reports the median round', async () => {
    const events: string[] = [];
    const step = vi.spyOn(LocalStepper.prototype, 'step');
    step.mockImplementation(async function (this: LocalStepper, ...args) {
      events.push('ours');
      return original.apply(this, args);
    });
    // PyTorch's speed in each of three rounds.
    const rates = [1, 4, 2];
    const requests: PytorchRequest[] = [];
    const session = {
      async measure(request: PytorchRequest): Promise<BenchResult[]> {
        requests.push(request);
        events.push('pytorch');
        const rate = rates[requests.length - 1]!;
        return request.kinds.map((kind) => ({
          ...torch(`${kind} ${request.preset}`, request.batch, rate, request.threads),
          msPerBatch: Math.round((request.batch / rate) * 1000),
        }));
      },
    };
    const paired = await benchPaired(
      {
        cases: [{ preset: 'alexnet-cifar', batch: 2 }],
        backend: 'wasm',
        threads: [1],
        rounds: 3,
        quick: true,
      },
      session,
    );
    step.mockRestore();
    // A block of our steps (an untimed one first), then PyTorch's, three times.
    const runs = events.filter((e, k) => e !== events[k - 1]);
    expect(runs).toEqual(['ours', 'pytorch', 'ours', 'pytorch', 'ours', 'pytorch']);
    expect(events.filter((e) => e === 'ours')).toHaveLength(6);
    expect(requests.map((r) => [r.threads, r.kinds, r.warmup])).toEqual([
      [1, ['train', 'forward'], 2],
      [1, ['train', 'forward'], 1],
      [1, ['train', 'forward'], 1],
    ]);
    expect(requests[0]!.params).toBe(2190730);
    const train = paired.comparisons.find((c) => c.kind === 'train')!;
    expect(train.ratios).toHaveLength(3);
    // PyTorch was 4× faster in the second round than in the first: the rounds' ratios show it.
    expect(train.ratios![0]! / train.ratios![1]!).toBeGreaterThan(2);
    expect(train.ratio).toBe([...train.ratios!].sort((a, b) => a - b)[1]);
    expect(train.referenceImagesPerSec).toBe(2);
    expect(paired.reference.map((r) => r.imagesPerSec)).toEqual([2, 2]);
    expect(paired.ours.map((r) => r.name)).toEqual([
      'train alexnet-cifar',
      'forward alexnet-cifar',
    ]);
    expect(formatComparison(paired.comparisons).split('\n')[0]).toContain('middle half of rounds');
  });

  it('prints the middle half of the rounds’ ratios and scalings beside their medians', () => {
    const row = {
      kind: 'train' as const,
      preset: 'alexnet-cifar',
      batch: 128,
      threads: 2,
      oursImagesPerSec: 250,
      referenceImagesPerSec: 200,
      ratio: 1.25,
      ratios: [1.31, 1.25, 0.97, 1.4, 1.2, 1.28, 1.1, 1.26],
      scaling: 1.85,
      scalings: [1.85, 1.91, 1.62, 1.88],
    };
    expect(formatComparison([row]).split('\n')).toEqual([
      '       preset         batch  threads  ours img/s  PyTorch img/s  ours ÷ PyTorch  middle half of rounds  ours ÷ ours on 1 thread  middle half of rounds',
      'train  alexnet-cifar    128        2       250.0          200.0           1.25×              1.20–1.28                    1.85×              1.85–1.88',
    ]);
  });
});
