import type { PresetName } from '../core/schema/model-config.js';
import type { PytorchSession } from './reference.js';
import type { BenchResult, Comparison } from './result.js';
import { median, time } from './timing.js';
import { createBenchModel } from './train-step.js';

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
 * reported is the median of the rounds', with their range. Training on every thread count,
 * inference on one thread.
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
    let singleTrain: number | undefined;
    for (const count of options.threads) {
      process.stderr.write(
        `  ${preset} at batch ${batch} on ${count} thread(s), ${options.rounds} round(s) each side…\n`,
      );
      const model = await createBenchModel(preset, batch, count);
      const kinds: Kind[] = count === 1 ? ['train', 'forward'] : ['train'];
      const oursMs = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
      const theirs = new Map<Kind, BenchResult[]>(kinds.map((k) => [k, []]));
      const ratios = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
      try {
        for (let round = 0; round < options.rounds; round++) {
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
            const ms = mine.get(kind)!;
            const figure = figures.find((f) => f.name === `${kind} ${preset}`);
            if (!figure) throw new Error(`PyTorch gave no ${kind} figure for ${preset}`);
            oursMs.get(kind)!.push(ms);
            theirs.get(kind)!.push(figure);
            ratios.get(kind)!.push(round2(batch / (ms / 1000) / figure.imagesPerSec));
          }
        }
      } finally {
        await model.dispose();
      }
      for (const kind of kinds) {
        const ms = median(oursMs.get(kind)!);
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
        const theirMs = median(theirs.get(kind)!.map((f) => f.msPerBatch));
        const referenceImagesPerSec = round2(batch / (theirMs / 1000));
        reference.push({
          ...theirs.get(kind)![0]!,
          imagesPerSec: referenceImagesPerSec,
          msPerBatch: theirMs,
        });
        if (kind === 'train' && count === 1) singleTrain = imagesPerSec;
        const perRound = ratios.get(kind)!;
        comparisons.push({
          kind,
          preset,
          batch,
          threads: count,
          oursImagesPerSec: imagesPerSec,
          referenceImagesPerSec,
          ratio: median(perRound),
          ratios: perRound,
          ...(kind === 'train' && count > 1 && singleTrain
            ? { scaling: round2(imagesPerSec / singleTrain) }
            : {}),
        });
      }
    }
  }
  return { ours, reference, comparisons };
}
