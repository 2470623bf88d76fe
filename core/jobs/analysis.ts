import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import {
  analysisOptionsSchema,
  duplicatesResultSchema,
  labelErrorsResultSchema,
  mapResultSchema,
  type AnalysisOptions,
  type AnalysisTask,
  type DuplicatesResult,
  type LabelErrorsResult,
  type MapResult,
} from '../schema/analysis.js';
import { findIndex, type FeatureIndexRow } from '../store/indexes.js';
import type { RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { currentCheckpoint, isCurrent, staleReason } from '../retrieval/query.js';
import { resolveCheckpoint, type CheckpointKind } from '../train/checkpoint.js';
import { NotFoundError, UserError } from '../util/errors.js';
import type { JobHost } from './host.js';
import { runInputs } from './launch.js';
import { RunningJob, type JobOptions } from './run-job.js';

/** Everything an analysis of a run reads and writes, decided by the host. */
export interface AnalysisPlan {
  runId: number;
  task: AnalysisTask;
  checkpoint: CheckpointKind;
  parts: FeatureIndexRow[];
  options: AnalysisOptions;
  /** The result file; it exists when this exact analysis was done before. */
  outPath: string;
  mirrorPath: string;
}

export interface AnalysisResults {
  'map-pca': MapResult;
  'map-umap': MapResult;
  'label-errors': LabelErrorsResult;
  duplicates: DuplicatesResult;
}

const SCHEMAS: { [T in AnalysisTask]: z.ZodType<AnalysisResults[T]> } = {
  'map-pca': mapResultSchema,
  'map-umap': mapResultSchema,
  'label-errors': labelErrorsResultSchema,
  duplicates: duplicatesResultSchema,
};

/**
 * The run's feature indexes an analysis reads: the 'all' index, or else the train index with
 * the val one when built, from the given checkpoint or the first of best and last that has one.
 */
export function analysisParts(
  wb: Workbench,
  run: RunRow,
  checkpoint?: CheckpointKind,
): { checkpoint: CheckpointKind; parts: FeatureIndexRow[] } {
  for (const kind of checkpoint ? [checkpoint] : (['best', 'last'] as const)) {
    const all = findIndex(wb.db, run.id, 'all', kind);
    if (all) return { checkpoint: kind, parts: [all] };
    const train = findIndex(wb.db, run.id, 'train', kind);
    const val = findIndex(wb.db, run.id, 'val', kind);
    if (train) return { checkpoint: kind, parts: val ? [train, val] : [train] };
  }
  throw new NotFoundError(
    `run ${run.id} has no fc7 feature index${checkpoint ? ` of its ${checkpoint} checkpoint` : ''} to analyse`,
    `build one with: svw index build ${run.id} --split all${checkpoint ? ` --checkpoint ${checkpoint}` : ''}`,
  );
}

/**
 * Plans an analysis: the indexes it reads (refused when built from other weights than the
 * checkpoint holds now) and the result file, named by everything the result
 * depends on, so a changed index or setting never serves an old answer.
 */
export function planAnalysis(
  wb: Workbench,
  run: RunRow,
  request: { task: AnalysisTask; checkpoint?: CheckpointKind; options?: Partial<AnalysisOptions> },
): AnalysisPlan {
  const { checkpoint, parts } = analysisParts(wb, run, request.checkpoint);
  const now = currentCheckpoint(wb, run, checkpoint);
  for (const part of parts) {
    // Features of an older state of the checkpoint would be read with the weights it has now.
    if (!isCurrent(part, now))
      throw new UserError(
        staleReason(run, part, now),
        `rebuild it with: svw index build ${run.id} --split ${part.split} --checkpoint ${checkpoint}`,
      );
    if (!existsSync(part.path))
      throw new UserError(`the feature index ${part.path} is missing; rebuild it`);
  }
  const options = analysisOptionsSchema.parse(request.options ?? {});
  const files = parts.map((p) => {
    const stat = statSync(p.path);
    return [p.path, stat.size, stat.mtimeMs];
  });
  const hash = (value: unknown) =>
    createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
  const source = hash({ files, version: run.datasetVersion, weights: now!.weightsSha256 });
  const relevant =
    request.task === 'label-errors'
      ? { k: options.k, split: options.split }
      : request.task === 'duplicates'
        ? options
        : {};
  const dir = path.join(wb.paths.run(run.id), 'features', 'analysis');
  mkdirSync(dir, { recursive: true });
  return {
    runId: run.id,
    task: request.task,
    checkpoint,
    parts,
    options,
    outPath: path.join(dir, `${checkpoint}-${request.task}-${hash({ source, relevant })}.json`),
    mirrorPath: path.join(dir, `${checkpoint}-mirrored-${source}.npy`),
  };
}

/** The result of a planned analysis when it was computed before, else null. */
export function cachedAnalysis<T extends AnalysisTask>(
  plan: AnalysisPlan & { task: T },
): AnalysisResults[T] | null {
  if (!existsSync(plan.outPath)) return null;
  const parsed = SCHEMAS[plan.task].safeParse(JSON.parse(readFileSync(plan.outPath, 'utf8')));
  return parsed.success ? parsed.data : null;
}

/** Runs a planned analysis in a worker; its result file appears when it completes. */
export function startAnalysis(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  plan: AnalysisPlan,
  options: JobOptions,
): RunningJob {
  const runDir = wb.paths.run(run.id);
  const { config, dataset } = runInputs(wb, run);
  return new RunningJob(
    wb.db,
    host,
    {
      kind: 'analysis',
      runId: run.id,
      config,
      runDir,
      dataset,
      checkpointDir: resolveCheckpoint(runDir, plan.checkpoint),
      task: plan.task,
      parts: plan.parts.map((p) => ({ path: p.path, idsPath: p.idsPath })),
      outPath: plan.outPath,
      mirrorPath: plan.mirrorPath,
      options: plan.options,
    },
    options,
  );
}
