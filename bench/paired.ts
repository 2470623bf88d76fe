import type { PresetName } from '../core/schema/model-config.js';
import type { PytorchSession } from './reference.js';
import type { BenchResult, Comparison } from './result.js';
import { median } from './timing.js';
import { createBenchModel, type BenchModel } from './train-step.js';

/** What {@link benchPaired} measures, and how many times. */
export interface PairedOptions {
  cases: { preset: PresetName; batch: number }[];
  /** Our engine, as the results name it. */
  backend: string;
  threads: number[];
  /** Alternations of one step each side (and each thread count). */
  rounds: number;
}

type Kind = 'train' | 'forward';

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Milliseconds of one call of `step`. */
async function once(step: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await step();
  return performance.now() - t0;
}

/**
 * Our figures and PyTorch's for the same networks, batches and thread counts, taken step by step
 * in alternation: a round is one training step of ours, then one of PyTorch's (and on one thread
 * one inference batch of each), for each thread count in turn. This machine's speed drifts by a
 * third from one minute to the next, so figures taken minutes apart compare the moments as much
 * as the engines; a round's ratio pairs two steps a second or two apart, and the ratio reported is
 * the median of the rounds'. Our scaling over one thread is paired by round the same way. Both
 * sides warm up (two steps each) before the first round.
 */
export async function benchPaired(
  options: PairedOptions,
  session: Pick<PytorchSession, 'measure'>,
): Promise<{ ours: BenchResult[]; reference: BenchResult[]; comparisons: Comparison[] }> {
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
      minSeconds: 0,
      minReps: 1,
      warmup,
    });
    try {
      for (const count of options.threads) {
        const model = await createBenchModel(preset, batch, count);
        models.set(count, model);
        measured.set(count, new Map());
        for (let i = 0; i < 2; i++) {
          await model.train();
          if (count === 1) await model.forward();
        }
        await session.measure(request(count, model, 2));
      }
      for (let round = 0; round < options.rounds; round++) {
        for (const count of options.threads) {
          const model = models.get(count)!;
          const mine = new Map<Kind, number>();
          mine.set('train', await once(() => model.train()));
          if (count === 1) mine.set('forward', await once(() => model.forward()));
          const figures = await session.measure(request(count, model, 0));
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
