import {
  cachedAnalysis,
  planAnalysis,
  startAnalysis,
  type AnalysisPlan,
  type AnalysisResults,
} from '../jobs/analysis.js';
import { duplicateReport, labelErrorReport, runImages } from '../jobs/analysis-report.js';
import { requireRun } from '../jobs/launch.js';
import type { AnalysisTask } from '../schema/analysis.js';
import type { RunRow } from '../store/runs.js';
import { runInBackground } from './background-job.js';
import type { ServiceContext } from './context.js';
import type { AnalysisPending, EmbeddingMap } from './contract.js';
import type { Handlers } from './dispatch.js';

type Ready<T extends AnalysisTask> = { state: 'ready'; result: AnalysisResults[T] };

/** The analyses of a run's fc7 index: each computed once in a worker, then read from its cache. */
export function analysisApi(ctx: ServiceContext) {
  /** Analyses computing now, by result file, with their latest progress. */
  const running = new Map<string, AnalysisPending>();

  /** The result when cached; otherwise starts computing it (once) and says how far it is. */
  function obtain<T extends AnalysisTask>(
    run: RunRow,
    plan: AnalysisPlan & { task: T },
  ): Ready<T> | AnalysisPending {
    const cached = cachedAnalysis(plan);
    if (cached) return { state: 'ready', result: cached };
    const known = running.get(plan.outPath);
    if (known) return known;
    const pending: AnalysisPending = { state: 'computing', stage: null, done: 0, total: 0 };
    running.set(plan.outPath, pending);
    const { task } = plan;
    void runInBackground(
      ctx,
      run,
      (slot, onMessage) =>
        startAnalysis(ctx.wb, ctx.options.jobHost, run, plan, {
          backend: ctx.backend,
          gpu: slot.gpu,
          onMessage,
        }),
      {
        onMessage: (m) => {
          if (m.type !== 'analysis-progress') return;
          Object.assign(pending, { stage: m.stage, done: m.done, total: m.total });
          ctx.emit({
            type: 'analysis-progress',
            runId: run.id,
            task,
            stage: m.stage,
            done: m.done,
            total: m.total,
          });
        },
      },
    ).then(({ status, failure }) => {
      running.delete(plan.outPath);
      const done = status === 'completed' && cachedAnalysis(plan) !== null;
      ctx.emit({
        type: 'analysis-done',
        runId: run.id,
        task,
        error: done ? null : (failure ?? `the ${task} analysis ${status}`),
      });
    });
    return pending;
  }

  const handlers: Pick<Handlers, 'embeddingMap' | 'labelErrors' | 'duplicates'> = {
    embeddingMap: ({ runId, method, checkpoint }) => {
      const run = requireRun(ctx.wb, runId);
      const task = `map-${method}` as const;
      const got = obtain(run, { ...planAnalysis(ctx.wb, run, { task, checkpoint }), task });
      if (got.state !== 'ready') return got;
      const { result } = got;
      const { classes, image } = runImages(ctx.wb, run);
      const points = result.ids.map(image);
      const map: EmbeddingMap = {
        runId,
        datasetId: run.datasetId!,
        method,
        classes,
        ids: result.ids,
        x: result.coords.filter((_, i) => i % 2 === 0),
        y: result.coords.filter((_, i) => i % 2 === 1),
        labels: points.map((p) => p.label),
        train: points.map((p) => p.split === 'train'),
        predicted: result.predicted,
        confidence: result.confidence,
        explained: result.explained,
      };
      return { state: 'ready', map };
    },

    labelErrors: ({ runId, checkpoint, k, split, limit = 200 }) => {
      const run = requireRun(ctx.wb, runId);
      const task = 'label-errors' as const;
      const plan = {
        ...planAnalysis(ctx.wb, run, { task, checkpoint, options: { k, split } }),
        task,
      };
      const got = obtain(run, plan);
      if (got.state !== 'ready') return got;
      return {
        state: 'ready',
        datasetId: run.datasetId!,
        scored: got.result.scored,
        k: got.result.k,
        items: labelErrorReport(ctx.wb, run, got.result, limit),
      };
    },

    duplicates: ({ runId, checkpoint, threshold, pixelThreshold }) => {
      const run = requireRun(ctx.wb, runId);
      const task = 'duplicates' as const;
      const options = { threshold, pixelThreshold };
      const plan = { ...planAnalysis(ctx.wb, run, { task, checkpoint, options }), task };
      const got = obtain(run, plan);
      if (got.state !== 'ready') return got;
      return {
        state: 'ready',
        datasetId: run.datasetId!,
        report: duplicateReport(ctx.wb, run, got.result),
      };
    },
  };
  return handlers;
}
