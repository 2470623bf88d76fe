import type { AshaConfig } from '../schema/sweep.js';

/**
 * Asynchronous successive halving (ASHA; Li et al., 2020), in its stopping form: rungs sit at
 * grace·η^k epochs below the maximum, and a run that reaches a rung goes on only if its metric
 * is among the best 1/η of every value recorded at that rung so far, its own included. Runs
 * are judged as they arrive, never waiting for a rung to fill, so no worker sits idle.
 */

/** The epochs at which runs are judged: grace, grace·η, grace·η², … below maxEpochs. */
export function rungEpochs(config: Pick<AshaConfig, 'grace' | 'eta' | 'maxEpochs'>): number[] {
  const out: number[] = [];
  for (let epoch = config.grace; epoch < config.maxEpochs; epoch *= config.eta) out.push(epoch);
  return out;
}

/** The q-quantile (0…1) of the values, interpolating linearly between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export interface RungDecision {
  rung: number;
  epoch: number;
  value: number;
  /** The worst value that still goes on: the 1/η quantile at the good end. */
  cutoff: number;
  prune: boolean;
}

/**
 * Judges a run that has finished `epoch` with `value`, given the values other runs recorded at
 * the same rung; null when the epoch is no rung. Ties with the cutoff go on.
 */
export function judge(
  config: AshaConfig,
  epoch: number,
  value: number,
  others: readonly number[],
): RungDecision | null {
  const rung = rungEpochs(config).indexOf(epoch);
  if (rung < 0) return null;
  const all = [...others, value];
  const keep = 1 / config.eta;
  const cutoff = quantile(all, config.mode === 'min' ? keep : 1 - keep);
  const prune = config.mode === 'min' ? value > cutoff : value < cutoff;
  return { rung, epoch, value, cutoff, prune };
}

/** Two numbers with just enough digits (3 at least) to tell them apart. */
function distinct(a: number, b: number): [string, string] {
  for (let digits = 3; digits < 10; digits++) {
    const [x, y] = [a.toPrecision(digits), b.toPrecision(digits)];
    if (x !== y || a === b) return [String(Number(x)), String(Number(y))];
  }
  return [String(a), String(b)];
}

/** Why a run was pruned: "val_top1_error 0.713 at epoch 3, rung cutoff 0.64". */
export function pruneReason(metric: string, d: RungDecision): string {
  const [value, cutoff] = distinct(d.value, d.cutoff);
  return `${metric} ${value} at epoch ${d.epoch}, rung cutoff ${cutoff}`;
}
