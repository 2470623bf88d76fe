import type {
  CompareResult,
  EvaluationDetail,
  MetricColumns,
  MetricSeries,
  RunDetail,
  RunSummary,
} from '../../core/api/contract';
import type { RunStatus } from '../../core/store/runs';
import { presetRunConfig } from '../../core/schema/run-config';
import { fakeRun } from './runs-fixtures';

/** A run as getRun answers for it. */
export function runDetail(id: number, status: RunStatus = 'running'): RunDetail {
  return {
    run: {
      id,
      experimentId: 1,
      experiment: 'cifar-baseline',
      name: `run-${id}`,
      datasetId: 4,
      datasetVersion: 1,
      dataset: 'cifar10-small',
      preset: 'alexnet-cifar',
      status,
      createdAt: '2026-01-05T10:00:00.000Z',
      startedAt: '2026-01-05T10:00:02.000Z',
      endedAt: null,
      error: status === 'failed' ? 'training diverged' : null,
      errorStack: null,
      backend: 'wasm',
      enginePackage: '@tensorflow/tfjs-backend-wasm',
      engineVersion: '4.22.0',
      device: 'cpu',
      seed: 7,
      configHash: 'abc',
      hostPid: 10,
      workerPid: 11,
      hostId: 'lease-1',
      gpu: null,
      cluster: null,
      node: 'workstation',
      sweepId: null,
      sweepTrial: null,
      epochsDone: 2,
      epochsTotal: 10,
    },
    config: presetRunConfig('alexnet-cifar'),
    params: { 'optim.lr': '0.01', batchSize: '128', epochs: '10' },
    best: { val_top1_error: 0.42 },
    latest: { val_top1_error: 0.45, train_loss: 1.3 },
    tags: { baseline: 'yes' },
    notes: [{ text: 'first try', createdAt: '2026-01-05T10:05:00.000Z' }],
    checkpoints: [
      {
        kind: 'last',
        epoch: 2,
        step: 80,
        path: '/runs/1/last',
        valTop1Error: 0.45,
        createdAt: '2026-01-05T10:04:00.000Z',
      },
    ],
    indexes: [],
    progress: null,
    cluster: null,
  };
}

/** A step-level series of n points, 40 steps per epoch, one second apart. */
export function series(key: string, n: number, value = (i: number) => 2 - i / n): MetricSeries {
  return {
    key,
    total: n,
    points: Array.from({ length: n }, (_, i) => ({
      step: i + 1,
      epoch: (i + 1) / 40,
      value: value(i),
      time: 1_700_000_000 + i,
    })),
  };
}

/** The same series as Compare receives it: columns. */
export function columns({ key, total, points }: MetricSeries): MetricColumns {
  return {
    key,
    total,
    step: points.map((p) => p.step),
    epoch: points.map((p) => p.epoch),
    value: points.map((p) => p.value),
    time: points.map((p) => p.time),
  };
}

/** An evaluation over the named classes; `errors` per class, confusion from the given triples. */
export function evaluation(
  classes: string[],
  errors: (number | null)[],
  confusion: number[] = [],
): EvaluationDetail {
  return {
    epoch: 2,
    split: 'val',
    tenCrop: false,
    checkpoint: 'best',
    images: classes.length * 100,
    top1Error: 0.42,
    top5Error: 0.12,
    classes,
    perClassError: errors,
    perClassCount: classes.map(() => 100),
    confusion,
  };
}

export function summary(id: number): RunSummary {
  return fakeRun(id, {
    experiment: 'cifar-baseline',
    params: { lr: 0.01, batchSize: 128, epochs: 10 },
    metrics: { val_top1_error: 0.4, val_top5_error: 0.1 },
    epochsDone: 10,
    epochsTotal: 10,
    createdAt: '2026-01-05T10:00:00.000Z',
    startedAt: null,
    endedAt: null,
    durationSec: null,
  });
}

/** compareRuns' answer: `optim.lr` differs by run, `batchSize` is shared. */
export function compareResult(ids: number[]): CompareResult {
  return {
    runs: ids.map(summary),
    params: [
      { key: 'batchSize', values: ids.map(() => '128'), differs: false },
      { key: 'optim.lr', values: ids.map((id) => String(id / 100)), differs: ids.length > 1 },
    ],
    metrics: [{ key: 'val_top1_error', values: ids.map((id) => 0.5 - id / 100) }],
  };
}
