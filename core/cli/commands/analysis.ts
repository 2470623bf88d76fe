import { Option, type Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import {
  analysisParts,
  cachedAnalysis,
  planAnalysis,
  startAnalysis,
  type AnalysisResults,
} from '../../jobs/analysis.js';
import { duplicateReport, labelErrorReport, runImages } from '../../jobs/analysis-report.js';
import { forkJobHost } from '../../jobs/hosts/fork.js';
import { requireRun } from '../../jobs/launch.js';
import { currentCheckpoint, isCurrent, staleReason } from '../../retrieval/query.js';
import type { AnalysisOptions, AnalysisTask } from '../../schema/analysis.js';
import type { RunRow } from '../../store/runs.js';
import { withWorkbench, type Workbench } from '../../store/workbench.js';
import type { CheckpointKind } from '../../train/checkpoint.js';
import { NotFoundError, UserError } from '../../util/errors.js';
import { note, printJson, progressBar, type CommonOptions } from '../output.js';
import { addBackendOption, parsePositiveInt } from '../parse.js';
import { buildIndex } from './retrieval.js';

interface AnalysisFlags extends CommonOptions {
  checkpoint?: CheckpointKind;
  backend: BackendChoice;
}

/**
 * The result of an analysis of a run: from the cache when this exact analysis was done before,
 * else computed in a worker with progress. A run without a feature index gets its 'all' index
 * built first.
 */
async function analyse<T extends AnalysisTask>(
  wb: Workbench,
  run: RunRow,
  task: T,
  flags: AnalysisFlags,
  options: Partial<AnalysisOptions> = {},
): Promise<AnalysisResults[T]> {
  let parts: ReturnType<typeof analysisParts>;
  try {
    parts = analysisParts(wb, run, flags.checkpoint);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    note(`building the all index of run ${run.id} first…`);
    await buildIndex(wb, run, 'all', flags.checkpoint ?? 'best', flags.backend);
    parts = analysisParts(wb, run, flags.checkpoint);
  }
  // An index from weights the checkpoint no longer holds is built again, as retrieval-eval does.
  const now = currentCheckpoint(wb, run, parts.checkpoint);
  for (const part of parts.parts.filter((p) => !isCurrent(p, now))) {
    note(`${staleReason(run, part, now)}: building it again…`);
    await buildIndex(wb, run, part.split, parts.checkpoint, flags.backend);
  }
  const plan = planAnalysis(wb, run, { task, checkpoint: flags.checkpoint, options }) as ReturnType<
    typeof planAnalysis
  > & { task: T };
  const cached = cachedAnalysis(plan);
  if (cached) return cached;
  let stage = '';
  let bar = progressBar('', 0);
  let failure: string | null = null;
  const job = startAnalysis(wb, forkJobHost, run, plan, {
    backend: flags.backend,
    onMessage: (m) => {
      if (m.type === 'error') failure = m.error.message;
      if (m.type !== 'analysis-progress') return;
      if (m.stage !== stage) {
        bar.stop();
        stage = m.stage;
        bar = progressBar(stage, m.total);
      }
      bar.update(m.done, m.total);
    },
  });
  const status = await job.done;
  bar.stop();
  const result = cachedAnalysis(plan);
  if (status !== 'completed' || !result)
    throw new UserError(`the ${task} analysis of run ${run.id} failed: ${failure ?? status}`);
  return result;
}

function parseSimilarity(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UserError(`expected a similarity from 0 to 1, got '${value}'`);
  return n;
}

function common(cmd: Command): Command {
  return addBackendOption(cmd)
    .argument('<run>', 'run id')
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint of the feature index').choices([
        'best',
        'last',
      ]),
    )
    .option('--json', 'machine-readable output');
}

export function registerAnalysis(program: Command): void {
  common(program.command('map'))
    .description(
      "2-D map of every image in a run's fc7 feature index (PCA or UMAP), cached beside it",
    )
    .addOption(
      new Option('--method <method>', 'projection').choices(['pca', 'umap']).default('pca'),
    )
    .action((runArg: string, flags: AnalysisFlags & { method: 'pca' | 'umap' }) =>
      withWorkbench(async (wb) => {
        const run = requireRun(wb, runArg);
        const map = await analyse(wb, run, `map-${flags.method}`, flags);
        const { image, classes } = runImages(wb, run);
        const points = map.ids.map((id, i) => {
          const img = image(id);
          return {
            imageId: id,
            path: img.path,
            split: img.split,
            x: map.coords[2 * i]!,
            y: map.coords[2 * i + 1]!,
            label: img.className,
            predicted: classes[map.predicted[i]!]!,
          };
        });
        if (flags.json)
          return printJson({
            runId: run.id,
            method: flags.method,
            count: points.length,
            explained: map.explained,
            points,
          });
        const explained = map.explained
          ? ` (the axes explain ${map.explained.map((e) => `${(100 * e).toFixed(1)}%`).join(' and ')} of the variance)`
          : '';
        note(
          `mapped ${points.length} images of run ${run.id} with ${flags.method.toUpperCase()}${explained}; --json prints the coordinates`,
        );
      }),
    );

  common(program.command('label-errors'))
    .description(
      'images whose label is likely wrong: fc7 neighbours with other labels, and the softmax',
    )
    .option('--top <n>', 'how many to list', parsePositiveInt, 50)
    .option('-k <n>', 'train neighbours per image', parsePositiveInt, 20)
    .addOption(
      new Option('--split <split>', 'the images to score')
        .choices(['train', 'val', 'all'])
        .default('train'),
    )
    .action(
      (
        runArg: string,
        flags: AnalysisFlags & { top: number; k: number; split: 'train' | 'val' | 'all' },
      ) =>
        withWorkbench(async (wb) => {
          const run = requireRun(wb, runArg);
          const result = await analyse(wb, run, 'label-errors', flags, {
            k: flags.k,
            split: flags.split,
          });
          const items = labelErrorReport(wb, run, result, flags.top);
          if (flags.json)
            return printJson(
              items.map((i) => ({
                imageId: i.image.imageId,
                path: i.image.path,
                label: i.image.className,
                suggested: i.suggestedClass,
                score: i.score,
              })),
            );
          note(
            `${result.scored} images scored; the ${items.length} most suspicious (score, label → suggested):`,
          );
          for (const i of items)
            process.stdout.write(
              `${i.score.toFixed(3)}  ${i.image.className.padEnd(14)} → ${i.suggestedClass.padEnd(14)} ${i.image.path}\n`,
            );
        }),
    );

  common(program.command('duplicates'))
    .description('exact and near-duplicate images, within train and leaking across train and val')
    .option(
      '--threshold <cosine>',
      'least fc7 cosine similarity of a near pair',
      parseSimilarity,
      0.9,
    )
    .option(
      '--pixel-threshold <r>',
      'least pixel similarity (as is or mirrored) of a near pair',
      parseSimilarity,
      0.9,
    )
    .option('-k <n>', 'neighbours per image searched for copies', parsePositiveInt, 20)
    .action(
      (
        runArg: string,
        flags: AnalysisFlags & { threshold: number; pixelThreshold: number; k: number },
      ) =>
        withWorkbench(async (wb) => {
          const run = requireRun(wb, runArg);
          const options = {
            k: flags.k,
            threshold: flags.threshold,
            pixelThreshold: flags.pixelThreshold,
          };
          const report = duplicateReport(
            wb,
            run,
            await analyse(wb, run, 'duplicates', flags, options),
          );
          if (flags.json)
            return printJson({
              exact: report.exact.map((p) => [p.a.path, p.b.path]),
              near: report.near.map((p) => ({
                a: p.a.path,
                b: p.b.path,
                similarity: p.similarity,
              })),
              leaks: report.leaks.map((p) => ({
                train: p.train.path,
                other: p.other.path,
                split: p.split,
                similarity: p.similarity,
              })),
            });
          note(
            `${report.exact.length} exact copies, ${report.near.length} near copies within a split, ${report.leaks.length} leaks across train and val (${report.candidates} fc7 candidates above ${report.threshold})`,
          );
          const line = (a: string, b: string, s: number) =>
            process.stdout.write(`${s.toFixed(4)}  ${a}  ${b}\n`);
          for (const p of report.exact) line(p.a.path, p.b.path, 1);
          for (const p of report.near) line(p.a.path, p.b.path, p.similarity);
          for (const p of report.leaks) line(p.train.path, p.other.path, p.similarity);
        }),
    );
}
