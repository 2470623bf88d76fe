import type { RunSummary } from '../../../../core/api/contract';

/** Live progress of a running run's current epoch, from `run-progress` events. */
export interface LiveProgress {
  /** The epoch being trained, 0-based (so also the number of epochs finished). */
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
}

/** An error rate (0..1) as a percentage with one decimal, or a dash when unmeasured. */
export function percent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? '—'
    : (value * 100).toFixed(digits);
}

/** A learning rate as people write it: 0.01, 0.005, 1e-4 (never 0.00009999999). */
export function formatLr(value: string | number | null): string {
  if (value === null || value === '') return '—';
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  // Rounded first: 10 ** -4 is 0.00009999999999999999 in binary, and should read 1e-4.
  const rounded = Number(n.toPrecision(4));
  if (rounded !== 0 && Math.abs(rounded) < 1e-3) return rounded.toExponential();
  return String(rounded);
}

/** A plain param value (batch size and the like), or a dash when the run lacks it. */
export function formatValue(value: string | number | null): string {
  return value === null || value === '' ? '—' : String(value);
}

/** Seconds as `12s`, `4m 05s` or `2h 03m`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** How long a run took; for a running run, how long it has been running as of `nowMs`. */
export function runDuration(run: RunSummary, nowMs: number): number | null {
  if (run.status !== 'running' || !run.startedAt) return run.durationSec;
  const started = Date.parse(run.startedAt);
  return Number.isFinite(started) ? Math.max(0, (nowMs - started) / 1000) : run.durationSec;
}

/** The k with the highest retrieval precision, e.g. `{ k: 5, precision: 0.31 }`. */
export function bestRetrieval(
  retrieval: Record<string, number>,
): { k: number; precision: number } | null {
  let best: { k: number; precision: number } | null = null;
  for (const [k, precision] of Object.entries(retrieval)) {
    // Ties go to the larger k: the same precision over more neighbours says more.
    if (!best || precision > best.precision || (precision === best.precision && +k > best.k))
      best = { k: Number(k), precision };
  }
  return best;
}

/** Epochs done and total, and the fraction of the whole run done (batches of the live epoch count). */
export function epochProgress(
  run: RunSummary,
  live: LiveProgress | undefined,
): { done: number; total: number; fraction: number } {
  const total = live?.epochs ?? run.epochsTotal;
  const done = Math.max(run.epochsDone, live?.epoch ?? 0);
  const partial = live && live.epoch === done ? live.batch / Math.max(1, live.batches) : 0;
  const fraction = total > 0 ? Math.min(1, (done + partial) / total) : 0;
  return { done, total, fraction };
}
