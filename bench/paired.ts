import type { PresetName } from '../core/schema/model-config.js';
import type { PytorchSession } from './reference.js';
import type { BenchResult, Comparison } from './result.js';
import { median, time } from './timing.js';
import { createBenchModel, type BenchModel } from './train-step.js';

/** What {@link benchPaired} measures, and how long each measurement runs. */
export interface PairedOptions {
  cases: { preset: PresetName; batch: number }[];
  /** Our engine, as the results name it. */
  backend: string;
  threads: number[];
  rounds: number;
  quick: boolean;
}

type Kind = 'train' | 'forward';

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Our figures and PyTorch's for the same networks, batches and thread counts, taken in
 * alternating rounds: ours, then PyTorch's, then ours again… This machine's speed drifts by a
 * third from one minute to the next, so figures taken minutes apart compare the moments as much
 * as the engines; each round's ratio pairs two measurements a few seconds apart, and the ratio
 * reported is the median of the rounds', with each round's. A round measures every thread count
 * (training; inference on one thread), so our scaling over one thread is also taken per round.
 */
export async function benchPaired(
  options: PairedOptions,
  session: Pick<PytorchSession, 'measure'>,
): Promise<{ ours: BenchResult[]; reference: BenchResult[]; comparisons: Comparison[] }> {
  const { quick } = options;
  const minMs = quick ? 0 : 3_000;
  const minReps = quick ? 1 : 3;
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
    try {
      for (const count of options.threads) {
        models.set(count, await createBenchModel(preset, batch, count));
        measured.set(count, new Map());
      }
      for (let round = 0; round < options.rounds; round++) {
        for (const count of options.threads) {
          const model = models.get(count)!;
          const kinds: Kind[] = count === 1 ? ['train', 'forward'] : ['train'];
          const mine = new Map<Kind, number>();
          mine.set('train', await time(() => model.train(), minReps, minMs));
          if (count === 1) mine.set('forward', await time(() => model.forward(), minReps, minMs));
          const figures = await session.measure({
            preset,
            batch,
            threads: count,
            kinds,
            params: model.params,
            minSeconds: minMs / 1000,
            minReps,
            warmup: round === 0 ? 2 : 1,
          });
          for (const kind of kinds) {
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
          msPerBatch: theirMs,
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
          ratio: median(ratios),
          ratios,
          ...(scalings ? { scaling: median(scalings), scalings } : {}),
        });
      }
    }
  }
  return { ours, reference, comparisons };
}
