import type { Db } from '../store/db.js';
import { getSweep } from '../store/sweeps.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { insertSweepRuns, planRuns } from './create.js';

/**
 * The paper's ablation study (Krizhevsky et al. 2012, sections 3–4) on the user's own data:
 * each variant trained with N seeds, and a table of its top-1 and top-5 error against the
 * baseline's, with the changes the paper reported beside them. Errors and changes are in
 * percentage points; a change is the variant's error minus the baseline's, so removing a
 * feature that helps shows a positive change.
 */

export interface AblationVariant {
  name: string;
  label: string;
  /** What the variant changes, as `--set` settings. */
  settings: string[];
  /**
   * Evaluation variants train nothing of their own: they read another measurement of the
   * baseline's runs (ten-crop against centre-crop).
   */
  metrics: { top1: string; top5: string };
  paper: { top1: number | null; top5: number | null; note: string };
}

const CENTRE = { top1: 'val_top1_error', top5: 'val_top5_error' };

export const ABLATION_VARIANTS: readonly AblationVariant[] = [
  {
    name: 'baseline',
    label: 'Baseline (the paper’s network and recipe)',
    settings: [],
    metrics: CENTRE,
    paper: { top1: null, top5: null, note: 'every feature on: the reference for the changes' },
  },
  {
    name: 'lrn-off',
    label: 'No local response normalisation',
    settings: ['lrn=off'],
    metrics: CENTRE,
    paper: {
      top1: 1.4,
      top5: 1.2,
      note: 'response normalisation cuts top-1 and top-5 error by 1.4 and 1.2 points (§3.3)',
    },
  },
  {
    name: 'pool-2/2',
    label: 'Non-overlapping pooling (2/2)',
    settings: ['pool=2/2'],
    metrics: CENTRE,
    paper: {
      top1: 0.4,
      top5: 0.3,
      note: 'overlapping pooling cuts the error by 0.4 and 0.3 points (§3.4)',
    },
  },
  {
    name: 'groups-1',
    label: 'One tower (groups 1)',
    settings: ['groups=1'],
    metrics: CENTRE,
    paper: {
      top1: 1.7,
      top5: 1.2,
      note: 'two towers beat one with half the kernels per layer by 1.7 and 1.2 points (§3.2); here one tower keeps every kernel',
    },
  },
  {
    name: 'no-pca',
    label: 'No PCA colour noise',
    settings: ['data.pcaSigma=0'],
    metrics: CENTRE,
    paper: {
      top1: 1,
      top5: null,
      note: 'PCA colour noise cuts top-1 error by over 1 point (§4.1)',
    },
  },
  {
    name: 'no-dropout',
    label: 'No dropout',
    settings: ['dropout=0'],
    metrics: CENTRE,
    paper: {
      top1: null,
      top5: null,
      note: 'without dropout the network overfits substantially; dropout about doubles the iterations to converge (§4.2)',
    },
  },
  {
    name: 'ten-crop',
    label: 'Ten-crop evaluation (of the baseline runs)',
    settings: ['tenCropAtEnd=true'],
    metrics: { top1: 'val_top1_error_10crop', top5: 'val_top5_error_10crop' },
    paper: {
      top1: null,
      top5: null,
      note: 'averaging the softmax over ten patches (corners, centre and their flips) lowers the error (§4.1)',
    },
  },
];

const TRAINED = ABLATION_VARIANTS.filter((v) => v.metrics === CENTRE);
const EVALUATED = ABLATION_VARIANTS.filter((v) => v.metrics !== CENTRE);

export interface AblationRequest {
  dataset: number | string;
  /** The dataset version its runs train on; the newest when omitted. */
  version?: number;
  preset: string;
  /** Seeds per variant (0 … seeds−1). */
  seeds?: number;
  epochs?: number;
  /** Settings every run shares (a batch size, a schedule). */
  settings?: string[];
  experiment?: string;
  name?: string;
  /** The cluster profile its runs go to; this machine when omitted. */
  on?: string;
}

export const DEFAULT_SEEDS = 3;

/**
 * Queues the study: every trained variant with each seed. The baseline's runs also evaluate with
 * ten crops after their last epoch, which is the ten-crop variant's measurement.
 */
export function createAblation(
  db: Db,
  request: AblationRequest,
): { sweepId: number; runIds: number[] } {
  const seeds = request.seeds ?? DEFAULT_SEEDS;
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 20)
    throw new UserError(`--seeds must be a whole number from 1 to 20, not ${seeds}`);
  const settings = [...(request.settings ?? [])];
  if (request.epochs !== undefined) settings.push(`epochs=${request.epochs}`);
  const trials = TRAINED.flatMap((variant) =>
    Array.from({ length: seeds }, (_, seed) => ({
      trial: variant.name,
      label: `${variant.name} seed=${seed}`,
      extra: [
        ...variant.settings,
        ...(variant.name === 'baseline' ? EVALUATED.flatMap((v) => v.settings) : []),
        `seed=${seed}`,
      ],
    })),
  );
  const { dataset, version, runs } = planRuns(db, { ...request, settings }, trials);
  const spec = { seeds, epochs: request.epochs ?? null, settings: request.settings ?? [] };
  return insertSweepRuns(
    db,
    { ...request, name: request.name ?? 'ablation', kind: 'ablation', spec },
    dataset,
    runs,
    version,
  );
}

/** Mean and sample standard deviation; std is null below two values, both for none. */
export function meanStd(values: readonly number[]): { mean: number | null; std: number | null } {
  if (values.length === 0) return { mean: null, std: null };
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

export interface AblationRow {
  name: string;
  settings: string[];
  runIds: number[];
  top1: { mean: number | null; std: number | null };
  top5: { mean: number | null; std: number | null };
  deltaTop1: number | null;
  deltaTop5: number | null;
  paperDeltaTop1: number | null;
  paperDeltaTop5: number | null;
}

export interface AblationTable {
  variants: AblationRow[];
}

/** Errors (0…1) measured per variant → the table, in percentage points, baseline first. */
export function tableOf(
  measured: ReadonlyMap<string, { runIds: number[]; top1: number[]; top5: number[] }>,
): AblationTable {
  const stats = (values: number[]) => meanStd(values.map((v) => v * 100));
  const base = measured.get('baseline');
  const baseTop1 = stats(base?.top1 ?? []).mean;
  const baseTop5 = stats(base?.top5 ?? []).mean;
  const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  return {
    variants: ABLATION_VARIANTS.map((v) => {
      const m = measured.get(v.name) ?? { runIds: [], top1: [], top5: [] };
      const top1 = stats(m.top1);
      const top5 = stats(m.top5);
      return {
        name: v.name,
        settings: v.settings,
        runIds: m.runIds,
        top1,
        top5,
        deltaTop1: delta(top1.mean, baseTop1),
        deltaTop5: delta(top5.mean, baseTop5),
        paperDeltaTop1: v.paper.top1,
        paperDeltaTop5: v.paper.top5,
      };
    }),
  };
}

/**
 * The table of an ablation sweep. A variant's errors are its completed runs' final validation
 * errors (the model as training left it, which is also what ten-crop evaluation measures).
 */
export function ablationTable(db: Db, sweepId: number): AblationTable {
  const sweep = getSweep(db, sweepId);
  if (!sweep || sweep.kind !== 'ablation') throw new NotFoundError(`no ablation study ${sweepId}`);
  const runs = db
    .prepare('SELECT id, sweep_trial AS trial, status FROM runs WHERE sweep_id = ? ORDER BY id')
    .all(sweepId) as { id: number; trial: string; status: string }[];
  const latest = db
    .prepare('SELECT value FROM latest_metrics WHERE run_id = ? AND key = ?')
    .pluck();
  const measured = new Map<string, { runIds: number[]; top1: number[]; top5: number[] }>();
  for (const variant of ABLATION_VARIANTS) {
    const own = variant.metrics === CENTRE ? variant.name : 'baseline';
    const mine = runs.filter((r) => r.trial === own);
    const values = (key: string) =>
      mine
        .filter((r) => r.status === 'completed')
        .map((r) => latest.get(r.id, key) as number | undefined)
        .filter((v): v is number => v !== undefined);
    measured.set(variant.name, {
      runIds: mine.map((r) => r.id),
      top1: values(variant.metrics.top1),
      top5: values(variant.metrics.top5),
    });
  }
  return tableOf(measured);
}
