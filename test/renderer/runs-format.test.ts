import { describe, expect, it } from 'vitest';
import {
  bestRetrieval,
  epochProgress,
  formatDuration,
  formatLr,
  percent,
  runDuration,
} from '../../renderer/src/components/runs/format';
import { fakeRun } from './runs-fixtures';

describe('runs table formatting', () => {
  it('formats rates, learning rates and durations', () => {
    expect(percent(0.4231)).toBe('42.3');
    expect(percent(null)).toBe('—');
    expect(formatLr(0.01)).toBe('0.01');
    expect(formatLr(0.0001)).toBe('1e-4');
    expect(formatLr(0.00025)).toBe('2.5e-4');
    expect(formatLr(10 ** -4)).toBe('1e-4');
    expect(formatLr(1.23456e-5)).toBe('1.235e-5');
    expect(formatLr(0.1 * 0.1 * 0.1)).toBe('0.001');
    expect(formatLr('0.02')).toBe('0.02');
    expect(formatDuration(12.6)).toBe('12s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(7380)).toBe('2h 03m');
    expect(formatDuration(null)).toBe('—');
  });

  it('picks the best retrieval precision', () => {
    expect(bestRetrieval({})).toBeNull();
    expect(bestRetrieval({ '1': 0.5, '5': 0.31, '10': 0.5 })).toEqual({ k: 10, precision: 0.5 });
  });

  it('counts a running run’s duration up to now', () => {
    const run = fakeRun(1, { status: 'running', endedAt: null, durationSec: 3 });
    expect(runDuration(run, Date.parse(run.startedAt!) + 90_000)).toBe(90);
    expect(runDuration(fakeRun(2), Date.now())).toBe(600);
  });

  it('adds the live epoch’s batches to the progress', () => {
    const run = fakeRun(1, { status: 'running', epochsDone: 2, epochsTotal: 10 });
    expect(epochProgress(run, undefined)).toEqual({ done: 2, total: 10, fraction: 0.2 });
    const live = { epoch: 2, epochs: 10, batch: 5, batches: 10 };
    expect(epochProgress(run, live)).toEqual({ done: 2, total: 10, fraction: 0.25 });
  });
});
