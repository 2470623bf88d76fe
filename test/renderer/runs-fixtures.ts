import type { RunSummary } from '../../core/api/contract';

/** A run as listRuns returns it; `over` replaces any field. */
export function fakeRun(id: number, over: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    name: `run-${id}`,
    experiment: 'default',
    dataset: 'cifar10-small',
    preset: 'alexnet-cifar',
    status: 'completed',
    params: { lr: 0.01, batchSize: 128, epochs: 30 },
    metrics: { val_top1_error: 0.4 + (id % 10) / 100, val_top5_error: 0.1 },
    epochsDone: 30,
    epochsTotal: 30,
    createdAt: '2025-01-01T00:00:00.000Z',
    startedAt: '2025-01-01T00:00:01.000Z',
    endedAt: '2025-01-01T00:10:01.000Z',
    durationSec: 600,
    backend: 'wasm',
    retrieval: {},
    tags: {},
    ...over,
  };
}

/** `n` runs, newest first, as the default `-id` sort gives them. */
export function fakeRuns(n: number, over: (id: number) => Partial<RunSummary> = () => ({})) {
  return Array.from({ length: n }, (_, i) => fakeRun(n - i, over(n - i)));
}
