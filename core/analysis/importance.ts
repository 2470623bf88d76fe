import { RandomForestRegression } from 'ml-random-forest';
import seedrandom from 'seedrandom';

/**
 * Hyperparameter importance for one metric: permutation importance from a random forest
 * (ml-random-forest) fitted to predict the metric from the params, measured on held-out folds,
 * with each param's Spearman rank correlation with the metric beside it.
 */

export type FeatureValue = number | string | null;

export interface Feature {
  name: string;
  /** One value per run; numbers, or text (true/false count as 1/0). */
  values: FeatureValue[];
}

export interface ImportanceRow {
  param: string;
  /** Share of the forest's held-out accuracy lost when the param is shuffled; the rows sum to 1. */
  importance: number;
  /** Spearman's ρ with the metric (−1…1), or null for a param whose values have no order. */
  spearman: number | null;
}

export interface ImportanceOptions {
  trees?: number;
  folds?: number;
  /** Shuffles per param and fold. */
  repeats?: number;
  /**
   * At most this many runs are used (a seeded sample beyond it): the forest's tree builder is
   * quadratic in the runs per node, so a few hundred keep an answer within seconds.
   */
  maxRuns?: number;
  seed?: number;
}

/** Fewer runs than this say nothing about importance. */
export const MIN_RUNS = 8;

/** Numbers as they are, true/false as 1/0, other text as the rank of its value; null as NaN. */
function encode(values: readonly FeatureValue[]): { codes: number[]; ordered: boolean } {
  const texts = [...new Set(values.filter((v): v is string => typeof v === 'string'))].sort();
  const boolean = texts.every((t) => t === 'true' || t === 'false');
  const code = (v: FeatureValue): number => {
    if (v === null) return NaN;
    if (typeof v === 'number') return v;
    if (boolean) return v === 'true' ? 1 : 0;
    return texts.indexOf(v);
  };
  const codes = values.map(code);
  return { codes, ordered: texts.length === 0 || boolean };
}

/** Ranks 1…n, ties sharing their mean rank. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

function pearson(a: readonly number[], b: readonly number[]): number | null {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? null : sab / Math.sqrt(saa * sbb);
}

/** Spearman's ρ over the pairs where x is present (the Pearson correlation of their ranks). */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  const pairs = x.flatMap((v, i) => (Number.isNaN(v) ? [] : [[v, y[i]!] as const]));
  if (pairs.length < 3) return null;
  return pearson(ranks(pairs.map((p) => p[0])), ranks(pairs.map((p) => p[1])));
}

const mse = (predicted: readonly number[], actual: readonly number[]) =>
  predicted.reduce((s, p, i) => s + (p - actual[i]!) ** 2, 0) / predicted.length;

/** Fisher–Yates with the given generator. */
function shuffled<T>(values: readonly T[], random: () => number): T[] {
  const out = values.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Ranks the features by how much worse a random forest predicts `y` on runs it did not see
 * when that feature's column is shuffled. Most important first; ties by |ρ|, then by name.
 */
export function featureImportance(
  features: readonly Feature[],
  y: readonly number[],
  options: ImportanceOptions = {},
): ImportanceRow[] {
  const { trees = 24, folds = 3, repeats = 2, maxRuns = 240, seed = 1 } = options;
  const random = seedrandom(String(seed));
  const encoded = features.map((f) => encode(f.values));
  const rho = encoded.map((e) => (e.ordered ? spearman(e.codes, y) : null));
  // A missing value becomes the column's mean: the forest needs numbers everywhere.
  const columns = encoded.map(({ codes }) => {
    const present = codes.filter((c) => !Number.isNaN(c));
    const fill = present.length ? present.reduce((s, v) => s + v, 0) / present.length : 0;
    return codes.map((c) => (Number.isNaN(c) ? fill : c));
  });
  let rows = y.map((_, i) => i);
  if (rows.length > maxRuns) rows = shuffled(rows, random).slice(0, maxRuns);
  rows = shuffled(rows, random);
  const loss = new Array<number>(features.length).fill(0);
  const k = Math.max(2, Math.min(folds, Math.floor(rows.length / 4)));
  for (let f = 0; f < k; f++) {
    const test = rows.filter((_, i) => i % k === f);
    const train = rows.filter((_, i) => i % k !== f);
    const forest = new RandomForestRegression({
      nEstimators: trees,
      maxFeatures: features.length,
      replacement: false,
      useSampleBagging: true,
      noOOB: true,
      seed: Math.floor(random() * 2 ** 31),
      treeOptions: { maxDepth: 8, minNumSamples: 3 },
    });
    forest.train(
      train.map((r) => columns.map((c) => c[r]!)),
      train.map((r) => y[r]!),
    );
    const testX = test.map((r) => columns.map((c) => c[r]!));
    const testY = test.map((r) => y[r]!);
    const base = mse(forest.predict(testX), testY);
    for (let j = 0; j < features.length; j++) {
      for (let rep = 0; rep < repeats; rep++) {
        const column = shuffled(
          testX.map((x) => x[j]!),
          random,
        );
        const permuted = testX.map((x, i) => x.map((v, c) => (c === j ? column[i]! : v)));
        loss[j]! += (mse(forest.predict(permuted), testY) - base) / (k * repeats);
      }
    }
  }
  // Shuffling a useless param can help a little by chance: that is no importance, not negative.
  const gains = loss.map((l) => Math.max(0, l));
  const total = gains.reduce((s, v) => s + v, 0);
  return features
    .map((f, j) => ({
      param: f.name,
      importance: total > 0 ? gains[j]! / total : 0,
      spearman: rho[j] ?? null,
    }))
    .sort(
      (a, b) =>
        b.importance - a.importance ||
        Math.abs(b.spearman ?? 0) - Math.abs(a.spearman ?? 0) ||
        a.param.localeCompare(b.param),
    );
}
