import type { PresetName } from '../core/schema/model-config.js';
import type { PytorchSession } from './reference.js';
import type { BenchResult, Comparison } from './result.js';
import { median, time } from './timing.js';
import { createBenchModel, type BenchModel } from './train-step.js';

/** What {@link benchPaired} measures, and how many times. */
export interface PairedOptions {
  cases: { preset: PresetName; batch: number }[];
  /** Our engine, as the results name it. */
  backend: string;
  threads: number[];
  /** Alternations of a block of steps each side (and each thread count). */
  rounds: number;
  /** One timed step a block instead of at least two and two seconds' worth. */
  quick: boolean;
}

type Kind = 'train' | 'forward';

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Our figures and PyTorch's for the same networks, batches and thread counts, taken in
 * alternating rounds: a round times a block of training steps of ours, then a block of PyTorch's
 * (and on one thread inference batches of each), for each thread count in turn. This machine's
 * speed drifts by a third from one minute to the next, so figures taken minutes apart compare the
 * moments as much as the engines; a round's ratio pairs two blocks a few seconds apart, and the
 * ratio reported is the median of the rounds'. Our scaling over one thread is paired by round the
 * same way. A block starts with an untimed step: single steps alternating with the other side's
 * measured both sides 25–40% slower than steps back to back (each evicts the other's caches),
 * which training never sees.
 */
export async function benchPaired(
  options: PairedOptions,
  session: Pick<PytorchSession, 'measure'>,
): Promise<{ ours: BenchResult[]; reference: BenchResult[]; comparisons: Comparison[] }> {
  const minMs = options.quick ? 0 : 2_000;
  const minReps = options.quick ? 1 : 2;
  const ours: BenchResult[] = [];
  const reference: BenchResult[] = [];
  const comparisons: Comparison[] = [];
  for (const { preset, batch } of options.cases) {
    process.stderr.write(
      `  ${preset} at batch ${batch} on ${options.threads.join(' and ')} thread(s), ${options.rounds} round(s)…\n`,
    );
    // Every thread count's model lives through all the rounds, so each round measures them all.
    const models = new Map<number, BenchModel>();
    const measured = new Map<number, Map<Kind, { ms: number; theirs: BenchResult }[]>>();
    const kindsOf = (count: number): Kind[] => (count === 1 ? ['train', 'forward'] : ['train']);
    const request = (count: number, model: BenchModel, warmup: number) => ({
      preset,
      batch,
      threads: count,
      kinds: kindsOf(count),
      params: model.params,
      minSeconds: minMs / 1000,
      minReps,
      warmup,
    });
    try {
      for (const count of options.threads) {
        models.set(count, await createBenchModel(preset, batch, count));
        measured.set(count, new Map());
      }
      for (let round = 0; round < options.rounds; round++) {
        for (const count of options.threads) {
          const model = models.get(count)!;
          const mine = new Map<Kind, number>();
          mine.set('train', await time(() => model.train(), minReps, minMs));
          if (count === 1) mine.set('forward', await time(() => model.forward(), minReps, minMs));
          const figures = await session.measure(request(count, model, round === 0 ? 2 : 1));
          for (const kind of kindsOf(count)) {
            const theirs = figures.find((f) => f.name === `${kind} ${preset}`);
            if (!theirs) throw new Error(`PyTorch gave no ${kind} figure for ${preset}`);
            const rows = measured.get(count)!;
            rows.set(kind, [...(rows.get(kind) ?? []), { ms: mine.get(kind)!, theirs }]);
          }
        }
      }
    } finally {
      for (const model of models.values()) await model.dispose();
    }
    const single = measured.get(1)?.get('train');
    for (const count of options.threads) {
      const model = models.get(count)!;
      for (const [kind, rows] of measured.get(count)!) {
        const ms = median(rows.map((r) => r.ms));
        const imagesPerSec = round2(batch / (ms / 1000));
        ours.push({
          name: `${kind} ${preset}`,
          backend: options.backend,
          batch,
          imagesPerSec,
          msPerBatch: Math.round(ms),
          params: model.params,
          threads: kind === 'train' ? model.threads : 1,
        });
        const theirMs = median(rows.map((r) => r.theirs.msPerBatch));
        const referenceImagesPerSec = round2(batch / (theirMs / 1000));
        reference.push({
          ...rows[0]!.theirs,
          imagesPerSec: referenceImagesPerSec,
          msPerBatch: Math.round(theirMs),
        });
        const ratios = rows.map((r) => round2(batch / (r.ms / 1000) / r.theirs.imagesPerSec));
        // Scaling within each round: this count's step against one thread's, minutes apart at most.
        const scalings =
          kind === 'train' && count > 1 && single
            ? rows.map((r, i) => round2(single[i]!.ms / r.ms))
            : undefined;
        comparisons.push({
          kind,
          preset,
          batch,
          threads: count,
          oursImagesPerSec: imagesPerSec,
          referenceImagesPerSec,
          ratio: round2(median(ratios)),
          ratios,
          ...(scalings ? { scaling: round2(median(scalings)), scalings } : {}),
        });
      }
    }
  }
  return { ours, reference, comparisons };
}
