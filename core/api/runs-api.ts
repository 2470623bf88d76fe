import { requireRun } from '../jobs/launch.js';
import { datasetClasses } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { runIndexes } from '../store/indexes.js';
import { latestMistakes } from '../store/mistakes.js';
import { bestValue, metricRanges } from '../store/run-compare.js';
import { metricSeries, type SeriesPoint } from '../store/metric-series.js';
import { logsAfter, retrievalByRun, tagsByRun } from '../store/run-extras.js';
import { listRuns, type RunListItem } from '../store/run-list.js';
import {
  latestMetrics,
  runCheckpoints,
  runEvaluations,
  runNotes,
  runParams,
  runTags,
  type EvaluationRow,
} from '../store/runs.js';
import type { RunConfig } from '../schema/run-config.js';
import { clusterJobInfo } from './clusters-api.js';
import type { ServiceContext } from './context.js';
import type { EvaluationDetail, MetricColumns, RunSummary } from './contract.js';
import type { Handlers } from './dispatch.js';

const DEFAULT_MAX_POINTS = 2000;

/** Run list items with their retrieval precision and tags, fetched in one query each. */
export function summarize(db: Db, rows: RunListItem[]): RunSummary[] {
  const ids = rows.map((r) => r.id);
  const retrieval = retrievalByRun(db, ids);
  const tags = tagsByRun(db, ids);
  return rows.map((r) => ({
    ...r,
    retrieval: retrieval.get(r.id) ?? {},
    tags: tags.get(r.id) ?? {},
  }));
}

export function bestMetrics(db: Db, runId: number): Record<string, number> {
  return Object.fromEntries(
    [...metricRanges(db, runId)].map(([key, range]) => [key, bestValue(key, range)]),
  );
}

function evaluationDetail(e: EvaluationRow, classes: string[]): EvaluationDetail {
  return {
    epoch: e.epoch,
    split: e.split,
    tenCrop: e.tenCrop,
    checkpoint: e.checkpoint,
    images: e.images,
    top1Error: e.top1Error,
    top5Error: e.top5Error,
    classes: e.perClassCount.map((_, i) => classes[i] ?? `class ${i}`),
    perClassError: e.perClassError,
    perClassCount: e.perClassCount,
    confusion: e.confusion ?? [],
  };
}

/** The read-only run methods: lists, details, series, evaluations, logs and comparisons. */
export function runQueries(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const handlers: Pick<
    Handlers,
    | 'listRuns'
    | 'getRun'
    | 'runMetrics'
    | 'runsMetrics'
    | 'runEvaluation'
    | 'runMistakes'
    | 'runLogs'
    | 'compareRuns'
  > = {
    listRuns: (input) => summarize(db, listRuns(db, input)),

    getRun: ({ id }) => {
      const { config, ...run } = requireRun(ctx.wb, id);
      return {
        run,
        config: JSON.parse(config) as RunConfig,
        params: runParams(db, id),
        best: bestMetrics(db, id),
        latest: latestMetrics(db, id),
        tags: runTags(db, id),
        notes: runNotes(db, id),
        checkpoints: runCheckpoints(db, id),
        indexes: runIndexes(db, id),
        progress: run.status === 'running' ? (ctx.progress.latest(id) ?? null) : null,
        cluster: clusterJobInfo(db, id),
      };
    },

    runMetrics: ({ id, keys, maxPoints }) => {
      requireRun(ctx.wb, id);
      return metricSeries(db, id, keys, maxPoints ?? DEFAULT_MAX_POINTS);
    },

    runsMetrics: ({ ids, keys, maxPoints }) =>
      [...new Set(ids)].map((id) => {
        requireRun(ctx.wb, id);
        const series = metricSeries(db, id, keys, maxPoints ?? DEFAULT_MAX_POINTS);
        return { id, series: series.map(({ key, points, total }) => columns(key, points, total)) };
      }),

    runEvaluation: ({ id, which }) => {
      const run = requireRun(ctx.wb, id);
      const all = runEvaluations(db, id);
      const val = all.filter((e) => e.split === 'val' && !e.tenCrop);
      // The lowest error; among equals the newest, which is the one whose confusion was kept.
      const chosen =
        which === 'last'
          ? all.at(-1)
          : val.reduce<EvaluationRow | undefined>(
              (best, e) => (!best || e.top1Error <= best.top1Error ? e : best),
              undefined,
            );
      if (!chosen) return null;
      const classes =
        run.datasetId === null ? [] : datasetClasses(db, run.datasetId).map((c) => c.name);
      return evaluationDetail(chosen, classes);
    },

    runMistakes: ({ id, limit }) => {
      const run = requireRun(ctx.wb, id);
      if (run.datasetId === null) return [];
      const datasetId = run.datasetId;
      return latestMistakes(db, id, limit ?? 48).map((m) => ({
        datasetId,
        imageIdx: m.idx,
        label: m.label,
        predicted: m.predicted,
        confidence: m.confidence,
      }));
    },

    runLogs: ({ id, afterId, limit }) => {
      requireRun(ctx.wb, id);
      return logsAfter(db, id, afterId, limit ?? 1000);
    },

    compareRuns: ({ ids }) => {
      const unique = [...new Set(ids)];
      for (const id of unique) requireRun(ctx.wb, id);
      const byId = new Map(
        summarize(db, listRuns(db, { ids: unique })).map((r) => [r.id, r] as const),
      );
      const runs = unique.map((id) => byId.get(id)!);
      const params = unique.map((id) => runParams(db, id));
      const keys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
      const metrics = unique.map((id) => bestMetrics(db, id));
      const metricKeys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].sort();
      return {
        runs,
        params: keys.map((key) => {
          const values = params.map((p) => p[key] ?? null);
          return { key, values, differs: new Set(values).size > 1 };
        }),
        metrics: metricKeys.map((key) => ({ key, values: metrics.map((m) => m[key] ?? null) })),
      };
    },
  };
  return handlers;
}

/** A series' points as columns, as Compare receives them. */
function columns(key: string, points: readonly SeriesPoint[], total: number): MetricColumns {
  const out: MetricColumns = { key, step: [], epoch: [], value: [], time: [], total };
  for (const p of points) {
    out.step.push(p.step);
    out.epoch.push(p.epoch);
    out.value.push(p.value);
    out.time.push(p.time);
  }
  return out;
}
