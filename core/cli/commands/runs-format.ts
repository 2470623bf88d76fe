/**
 * What `svw runs` reports: the show and compare reports built from the run store, and the
 * readable (non-JSON) rendering of every runs command (aligned tables and summaries).
 */
import { clusterJobInfo } from '../../api/clusters-api.js';
import { datasetClasses } from '../../store/datasets.js';
import type { Db } from '../../store/db.js';
import { metricRanges, typedParams, type ParamValue } from '../../store/run-compare.js';
import {
  latestMetrics,
  runCheckpoints,
  runEvaluations,
  runLogs,
  runNotes,
  runTags,
  type RunRow,
} from '../../store/runs.js';
import type { Workbench } from '../../store/workbench.js';
import { durationSec, type RunListItem } from '../../store/run-list.js';

type Value = ParamValue;

/** What `svw runs show` reports; the JSON output is this object. */
export type RunShow = ReturnType<typeof showRun>;

/** `svw runs compare --json`: one entry per run in each array, null where a run lacks the key. */
export interface RunCompare {
  runs: number[];
  params: Record<string, Value[]>;
  metrics: Record<string, { latest: (number | null)[]; best: (number | null)[] }>;
}

/** Latest and best of each metric; best is the lowest error or loss, the highest throughput. */
function metricTable(db: Db, runId: number) {
  const best = (key: string, r: { min: number; max: number }) =>
    /error|loss/.test(key) ? r.min : /per_sec|accuracy/.test(key) ? r.max : null;
  return new Map(
    [...metricRanges(db, runId)].map(([key, r]) => [key, { latest: r.latest, best: best(key, r) }]),
  );
}

const round7 = (v: number | null) => (v === null ? null : Number(v.toPrecision(7)));

export function showRun(wb: Workbench, run: RunRow) {
  const evaluations = runEvaluations(wb.db, run.id);
  const val = evaluations.filter((e) => e.split === 'val' && !e.tenCrop).at(-1);
  const names = new Map(
    run.datasetId === null ? [] : datasetClasses(wb.db, run.datasetId).map((c) => [c.idx, c.name]),
  );
  const metrics = metricTable(wb.db, run.id);
  const best = [...metrics].filter(([, m]) => m.best !== null).map(([k, m]) => [k, m.best]);
  return {
    id: run.id,
    name: run.name,
    experiment: run.experiment,
    dataset: run.dataset,
    datasetVersion: run.datasetVersion,
    preset: run.preset,
    status: run.status,
    error: run.error,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationSec: durationSec(run.startedAt, run.endedAt, run.status),
    epochsDone: run.epochsDone,
    epochsTotal: run.epochsTotal,
    engine: {
      backend: run.backend,
      package: run.enginePackage,
      version: run.engineVersion,
      device: run.device,
    },
    /** Where it ran: a cluster profile (null: the workbench's machine) and the node. */
    cluster: run.cluster,
    node: run.node,
    /** Its newest job on a Slurm cluster, if it was sent to one. */
    slurm: clusterJobInfo(wb.db, run.id),
    params: typedParams(wb.db, run.id),
    metrics: latestMetrics(wb.db, run.id),
    best: Object.fromEntries(best) as Record<string, number>,
    perClass: (val?.perClassError ?? []).map((error, i) => ({
      class: names.get(i) ?? `class ${i}`,
      error: (val?.perClassCount[i] ?? 0) > 0 ? round7(error) : null,
    })),
    perClassFrom: val ? { evaluationId: val.id, epoch: val.epoch, images: val.images } : null,
    checkpoints: runCheckpoints(wb.db, run.id).map(({ createdAt: _, ...c }) => c),
    evaluations: evaluations.map((e) => ({
      id: e.id,
      epoch: e.epoch,
      split: e.split,
      tenCrop: e.tenCrop,
      checkpoint: e.checkpoint,
      images: e.images,
      loss: e.loss,
      top1Error: e.top1Error,
      top5Error: e.top5Error,
    })),
    tags: runTags(wb.db, run.id),
    notes: runNotes(wb.db, run.id),
    logs: runLogs(wb.db, run.id, 20),
  };
}

const STANDARD_METRICS = ['val_top1_error', 'val_top5_error', 'val_loss', 'epoch_train_loss'];

export function compareRuns(wb: Workbench, runs: RunRow[]): RunCompare {
  const params = runs.map((r) => typedParams(wb.db, r.id));
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
  const diff: RunCompare['params'] = {};
  for (const key of keys) {
    const values = params.map((p) => (key in p ? p[key]! : null));
    if (new Set(values.map((v) => (v === null ? '\0absent' : String(v)))).size > 1)
      diff[key] = values;
  }
  const tables = runs.map((r) => metricTable(wb.db, r.id));
  const others = [...new Set(tables.flatMap((t) => [...t.keys()]))].sort();
  const metrics: RunCompare['metrics'] = {};
  for (const key of [...new Set([...STANDARD_METRICS, ...others])]) {
    metrics[key] = {
      latest: tables.map((t) => t.get(key)?.latest ?? null),
      best: tables.map((t) => t.get(key)?.best ?? null),
    };
  }
  return { runs: runs.map((r) => r.id), params: diff, metrics };
}

/** Seconds from start to end (or to now while running); null before a run starts. */

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const pct = (v: number | null | undefined) => (v == null ? '—' : `${(100 * v).toFixed(1)}%`);

/** Metric values: errors as percentages, everything else as a short number. */
export function formatMetric(key: string, v: number | null | undefined): string {
  if (v == null) return '—';
  if (key.includes('error')) return pct(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
}

const show = (v: Value | undefined) => (v == null ? '—' : String(v));

/** Columns padded to their widest cell; columns named in `right` are right-aligned. */
export function table(headers: string[], rows: string[][], right: Set<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function renderList(runs: RunListItem[]): string {
  const rows = runs.map((r) => [
    String(r.id),
    r.status,
    r.experiment,
    r.dataset ?? '(removed)',
    r.preset,
    show(r.params.lr),
    show(r.params.batchSize),
    `${r.epochsDone}/${r.epochsTotal}`,
    pct(r.metrics.val_top1_error),
    pct(r.metrics.val_top5_error),
    formatDuration(r.durationSec),
    r.backend ?? '—',
    r.name,
  ]);
  // prettier-ignore
  const headers = ['ID', 'STATUS', 'EXPERIMENT', 'DATASET', 'PRESET', 'LR', 'BATCH', 'EPOCHS', 'BEST TOP-1', 'BEST TOP-5', 'TIME', 'ENGINE', 'NAME'];
  return table(headers, rows, new Set([0, 5, 6, 7, 8, 9, 10]));
}

const SUMMARY_PARAMS = [
  'optim.type',
  'optim.lr',
  'optim.momentum',
  'optim.weightDecay',
  'schedule.type',
  'batchSize',
  'epochs',
  'data.mean',
  'seed',
];

export function renderShow(r: RunShow): string {
  const out: string[] = [
    `run ${r.id} '${r.name}' ${r.status}: experiment ${r.experiment}, dataset ${r.dataset === null ? '(removed)' : `${r.dataset} v${r.datasetVersion}`}, preset ${r.preset}`,
    `  created ${r.createdAt}${r.startedAt ? `, started ${r.startedAt}` : ''}${r.endedAt ? `, ended ${r.endedAt}` : ''} (${formatDuration(r.durationSec)})`,
    `  epochs ${r.epochsDone}/${r.epochsTotal}; engine ${r.engine.backend ?? '—'}${r.engine.package ? ` (${r.engine.package} ${r.engine.version ?? ''}, ${r.engine.device ?? ''})` : ''}`,
    `  ran on ${r.cluster ? `cluster ${r.cluster}` : 'this machine'}${r.node ? `, node ${r.node}` : ''}${r.slurm ? `; Slurm job ${r.slurm.slurmJobId ?? '(being submitted)'} ${r.slurm.state}${r.slurm.attempt > 1 ? `, attempt ${r.slurm.attempt}` : ''}, log ${r.slurm.logPath}` : ''}`,
  ];
  if (r.error) out.push(`  error: ${r.error}`);
  const params = SUMMARY_PARAMS.filter((k) => k in r.params).map(
    (k) => `${k}=${show(r.params[k])}`,
  );
  out.push(`  params: ${params.join(' ')} (all ${Object.keys(r.params).length} with --json)`);
  const keys = Object.keys(r.metrics);
  if (keys.length) {
    out.push('  metrics (latest / best):');
    for (const k of keys)
      out.push(
        `    ${k.padEnd(24)} ${formatMetric(k, r.metrics[k]).padStart(9)} ${formatMetric(k, r.best[k]).padStart(9)}`,
      );
  } else out.push('  no metrics yet');
  for (const c of r.checkpoints)
    out.push(
      `  checkpoint ${c.kind}: epoch ${c.epoch}, val top-1 ${pct(c.valTop1Error)}, ${c.path}`,
    );
  const tags = Object.entries(r.tags);
  if (tags.length) out.push(`  tags: ${tags.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const n of r.notes) out.push(`  note (${n.createdAt}): ${n.text}`);
  if (r.perClassFrom) {
    const worst = r.perClass
      .filter((c): c is { class: string; error: number } => c.error !== null)
      .sort((a, b) => b.error - a.error)
      .slice(0, 20);
    out.push(
      `  per-class val top-1 error, epoch ${r.perClassFrom.epoch} (worst ${worst.length} of ${r.perClass.length}):`,
    );
    for (const c of worst) out.push(`    ${c.class.padEnd(24)} ${pct(c.error).padStart(6)}`);
  }
  if (r.logs.length) {
    out.push('  last log lines:');
    for (const l of r.logs.slice(-10))
      out.push(
        `    ${new Date(l.time * 1000).toISOString()} ${l.level.padEnd(5)} ${l.message.split('\n')[0]}`,
      );
  }
  return out.join('\n') + '\n';
}

export function renderCompare(c: RunCompare): string {
  const ids = c.runs.map((id) => `run ${id}`);
  const paramRows = Object.entries(c.params).map(([k, vs]) => [
    k,
    ...vs.map((v) => (v === null ? '(absent)' : String(v))),
  ]);
  const metricRows = Object.entries(c.metrics).map(([k, m]) => [
    k,
    ...m.latest.map((v, i) => `${formatMetric(k, v)} / ${formatMetric(k, m.best[i])}`),
  ]);
  const right = new Set(c.runs.map((_, i) => i + 1));
  return [
    paramRows.length ? table(['PARAM', ...ids], paramRows) : 'the runs have the same params\n',
    table(['METRIC (latest / best)', ...ids], metricRows, right),
  ].join('\n');
}
