import type { RunConfig } from '../schema/run-config.js';
import {
  sweepSpecSchema,
  type SweepKind,
  type SweepSpec,
  type SweepSpecInput,
} from '../schema/sweep.js';
import { transaction, type Db } from '../store/db.js';
import { requireCluster } from '../store/clusters.js';
import { insertRun, setRunCluster } from '../store/runs.js';
import { insertSweep } from '../store/sweeps.js';
import type { DatasetRow } from '../store/datasets.js';
import { prepareRun } from '../train/prepare.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { rungEpochs } from './asha.js';
import { planTrials } from './space.js';

export interface SweepRequest {
  /** A dataset id or name, optionally with a version: `pets@2`. */
  dataset: number | string;
  /** The dataset version its runs train on; the newest when omitted. */
  version?: number;
  preset: string;
  spec: SweepSpecInput;
  experiment?: string;
  name?: string;
  /** The cluster profile its trials run on; this machine when omitted. */
  on?: string;
}

export interface PlannedRun {
  /** The trial's number in the sweep (from 1), or the ablation variant. */
  trial: string;
  /** The settings that set this run apart from the others. */
  extra: string[];
  /** What its name says of it, when not its settings (an ablation variant and seed). */
  label?: string;
  config: RunConfig;
}

/** A sweep that ASHA cannot judge is refused before anything is created. */
function checkAsha(spec: SweepSpec, config: RunConfig, dataset: DatasetRow): void {
  const asha = spec.asha;
  if (!asha) return;
  if (asha.grace >= asha.maxEpochs)
    throw new UserError(
      `ASHA's grace period (${asha.grace} epochs) must be shorter than its maximum (${asha.maxEpochs})`,
    );
  if (asha.metric.startsWith('val_') && dataset.valCount === 0)
    throw new UserError(
      `ASHA ranks by ${asha.metric}, but dataset '${dataset.name}' has no validation images`,
    );
  const unmeasured = rungEpochs(asha).filter((e) => e % config.evalEvery !== 0);
  if (asha.metric.startsWith('val_') && unmeasured.length > 0)
    throw new UserError(
      `runs evaluate every ${config.evalEvery} epochs, so ${asha.metric} is not measured at rung epoch ${unmeasured[0]}`,
    );
}

/**
 * Validates every run of a plan (each trial's settings on top of the shared ones) before any is
 * created, so that one bad value creates nothing; errors name the trial's own settings.
 */
export function planRuns(
  db: Db,
  request: {
    dataset: number | string;
    version?: number;
    preset: string;
    settings: readonly string[];
  },
  trials: readonly { trial: string; extra: string[]; label?: string }[],
): { dataset: DatasetRow; version: number; runs: PlannedRun[] } {
  let dataset: DatasetRow | undefined;
  let version = 1;
  const runs = trials.map(({ trial, extra, label }) => {
    try {
      const prepared = prepareRun(db, {
        dataset: request.dataset,
        version: request.version,
        preset: request.preset,
        settings: [...request.settings, ...extra],
      });
      dataset = prepared.dataset;
      version = prepared.version;
      return { trial, extra, ...(label ? { label } : {}), config: prepared.config };
    } catch (err) {
      if (err instanceof UserError && !(err instanceof NotFoundError) && extra.length)
        throw new UserError(`${extra.join(' ')}: ${err.message}`);
      throw err;
    }
  });
  if (!dataset) throw new UserError('the sweep has no runs');
  return { dataset, version, runs };
}

/** Records a sweep and its runs (queued, not yet started) in one transaction. */
export function insertSweepRuns(
  db: Db,
  sweep: {
    name?: string;
    kind: SweepKind;
    experiment?: string;
    preset: string;
    spec: unknown;
    /** The cluster profile its runs go to. */
    on?: string;
  },
  dataset: DatasetRow,
  runs: readonly PlannedRun[],
  version = 1,
): { sweepId: number; runIds: number[] } {
  // An unknown cluster creates nothing.
  if (sweep.on !== undefined) requireCluster(db, sweep.on);
  return transaction(db, () => {
    const experiment = sweep.experiment || 'default';
    const sweepId = insertSweep(db, {
      name: sweep.name ?? '',
      kind: sweep.kind,
      experiment,
      datasetId: dataset.id,
      preset: sweep.preset,
      spec: sweep.spec,
    });
    const runIds = runs.map((r) => {
      const id = insertRun(db, {
        experiment,
        name:
          [sweep.name ?? '', ...(r.label ? [r.label] : r.extra)].filter(Boolean).join(' ') ||
          undefined,
        datasetId: dataset.id,
        datasetVersion: version,
        config: r.config,
        sweep: { id: sweepId, trial: r.trial },
      });
      if (sweep.on !== undefined) setRunCluster(db, id, sweep.on);
      return id;
    });
    return { sweepId, runIds };
  });
}

/**
 * Creates a sweep: its trials drawn from the space (every grid combination, or seeded random
 * draws), each a queued run. With ASHA, every trial trains up to ASHA's maximum epochs unless a
 * rung stops it.
 */
export function createSweep(db: Db, request: SweepRequest): { sweepId: number; runIds: number[] } {
  const parsed = sweepSpecSchema.safeParse(request.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`bad sweep: ${issue.path.join('.') || 'spec'}: ${issue.message}`);
  }
  const spec = parsed.data;
  const settings = spec.asha ? [...spec.settings, `epochs=${spec.asha.maxEpochs}`] : spec.settings;
  const trials = planTrials(spec).map((extra, i) => ({ trial: String(i + 1), extra }));
  const { dataset, version, runs } = planRuns(db, { ...request, settings }, trials);
  checkAsha(spec, runs[0]!.config, dataset);
  const kind: SweepKind = spec.asha ? 'asha' : spec.method;
  return insertSweepRuns(db, { ...request, kind, spec }, dataset, runs, version);
}
