import { requireRun } from '../jobs/launch.js';
import { PRESET_NAMES } from '../schema/model-config.js';
import { findDataset } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { transaction } from '../store/db.js';
import { requireCluster } from '../store/clusters.js';
import { insertRun, setRunCluster } from '../store/runs.js';
import {
  flattenParams,
  presetRunConfig,
  validateRunConfig,
  type RunConfig,
} from '../schema/run-config.js';
import { applyRunSettings, settingsBetween } from '../schema/apply-settings.js';
import { settingsInfo } from '../schema/settings.js';
import { prepareRun } from '../train/prepare.js';
import { checkThreads } from '../train/threads.js';
import { LrSchedule } from '../train/schedule.js';
import { NotFoundError, UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import type { CheckResult, MethodInput, PresetInfo } from './contract.js';
import { MAX_SWEEP_TRIALS } from '../schema/sweep.js';
import { createSweep, planRuns } from '../sweep/create.js';
import type { Handlers } from './dispatch.js';

const DESCRIPTIONS: Record<string, string> = {
  'alexnet-paper':
    'The network of Krizhevsky et al. (2012) exactly: 227×227 crops of 256×256 images, two towers, LRN, overlapping pooling, dropout.',
  'alexnet-cifar':
    'The same structure scaled down for 32×32 images: 24×24 crops, narrower layers, He initialisation.',
};

/** The paper's ablations (section 3 and 4), each a ready setting. */
const ABLATIONS: PresetInfo['ablations'] = [
  { label: 'No local response normalisation', setting: 'lrn=off' },
  { label: 'One tower instead of two (no grouped convolutions)', setting: 'groups=1' },
  { label: 'Non-overlapping pooling (2/2 instead of 3/2)', setting: 'pool=2/2' },
  { label: 'No dropout', setting: 'dropout=0' },
  { label: 'No PCA colour augmentation', setting: 'data.pcaSigma=0' },
  { label: 'No horizontal flips', setting: 'data.flip=false' },
  { label: 'No random crops (centre crops only)', setting: 'data.randomCrop=false' },
];

/** A run config from a preset and settings, fitted to the dataset when one is given. */
function buildConfig(
  db: Db,
  preset: string,
  datasetId: number | undefined,
  settings: readonly string[],
): RunConfig {
  if (datasetId === undefined)
    return checkThreads(applyRunSettings(presetRunConfig(preset), settings));
  return prepareRun(db, { dataset: datasetId, preset, settings }).config;
}

/** The methods behind the New run form: presets, settings, checks, schedule previews, creation, cloning. */
export function newRunApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const requireDataset = (id: number) => {
    const row = findDataset(db, id);
    if (!row || row.id !== id) throw new NotFoundError(`no dataset ${id}`);
    return row;
  };
  /** One queued run of the form's settings (and a one-value sweep's). */
  const createOne = (input: MethodInput<'createRuns'>, extra: string[]) => {
    const { runs, dataset, version } = planRuns(
      db,
      {
        dataset: input.datasetId,
        version: input.datasetVersion,
        preset: input.preset,
        settings: input.settings,
      },
      [{ trial: '1', extra }],
    );
    return transaction(db, () => {
      const id = insertRun(db, {
        experiment: input.experiment || 'default',
        name: [input.name ?? '', ...extra].filter(Boolean).join(' ') || undefined,
        datasetId: dataset.id,
        datasetVersion: version,
        config: runs[0]!.config,
      });
      if (input.on !== undefined) setRunCluster(db, id, input.on);
      return id;
    });
  };
  const handlers: Pick<
    Handlers,
    'presets' | 'settings' | 'checkRun' | 'schedulePreview' | 'createRuns' | 'cloneRun'
  > = {
    settings: () => settingsInfo(),

    presets: () =>
      PRESET_NAMES.map((name) => {
        const defaults = presetRunConfig(name);
        return {
          name,
          description: DESCRIPTIONS[name] ?? '',
          defaults,
          flat: flattenParams(defaults),
          ablations: ABLATIONS,
        };
      }),

    checkRun: ({ preset, datasetId, settings }): CheckResult => {
      if (datasetId !== undefined) requireDataset(datasetId);
      const attempt = (s: readonly string[]) => {
        try {
          return { config: buildConfig(db, preset, datasetId, s), error: null };
        } catch (err) {
          if (!(err instanceof UserError) || err instanceof NotFoundError) throw err;
          return { config: null, error: err.message };
        }
      };
      const all = attempt(settings);
      if (all.config) return { ok: true, config: all.config, flat: flattenParams(all.config) };
      // A failing preset or dataset fails every setting alike: blame none of them then.
      const base = attempt([]);
      if (base.error !== null)
        return { ok: false, errors: [{ setting: null, message: base.error }] };
      const errors = settings.flatMap((setting) => {
        const alone = attempt([setting]);
        return alone.error === null ? [] : [{ setting, message: alone.error }];
      });
      // Settings valid one by one can still clash together (a crop larger than the images).
      return {
        ok: false,
        errors: errors.length ? errors : [{ setting: null, message: all.error! }],
      };
    },

    /**
     * The learning rate of each epoch. The plateau schedule drops the rate only when the
     * validation error stalls, which cannot be known ahead, so its preview stays flat at the
     * initial rate.
     */
    schedulePreview: ({ preset, settings }) => {
      const config = applyRunSettings(presetRunConfig(preset), settings);
      const schedule = new LrSchedule(config.schedule, config.optim.lr);
      return Array.from({ length: config.epochs }, (_, e) => ({
        epoch: e + 1,
        lr: schedule.lrFor(e),
      }));
    },

    createRuns: (input) => {
      requireDataset(input.datasetId);
      // An unknown cluster creates nothing.
      if (input.on !== undefined) requireCluster(db, input.on);
      const sweep = input.sweep ?? {};
      const count = Object.values(sweep).reduce((n, values) => n * values.length, 1);
      if (count > MAX_SWEEP_TRIALS)
        throw new UserError(`the sweep makes ${count} runs; at most ${MAX_SWEEP_TRIALS} at once`);
      const created =
        count > 1
          ? // Several runs are a grid sweep: one object, with its own page.
            createSweep(db, {
              dataset: input.datasetId,
              version: input.datasetVersion,
              preset: input.preset,
              experiment: input.experiment,
              name: input.name,
              on: input.on,
              spec: {
                method: 'grid',
                settings: input.settings,
                space: Object.fromEntries(
                  Object.entries(sweep).map(([k, values]) => [k, { values }]),
                ),
              },
            })
          : {
              runIds: [
                createOne(
                  input,
                  Object.entries(sweep).map(([k, [v]]) => `${k}=${v}`),
                ),
              ],
            };
      ctx.emit({ type: 'runs-changed' });
      // Queued together, so that auto threads share the cores among them; the runs of a sweep
      // for a cluster are submitted as one job array.
      if (input.start) ctx.scheduler.enqueueAll(created.runIds.map((id) => ({ id })));
      return created;
    },

    cloneRun: ({ id }) => {
      const run = requireRun(ctx.wb, id);
      const config = validateRunConfig(JSON.parse(run.config));
      const dataset = run.datasetId === null ? undefined : findDataset(db, run.datasetId);
      const base = dataset
        ? prepareRun(db, { dataset: dataset.id, preset: run.preset }).config
        : presetRunConfig(run.preset);
      return {
        preset: run.preset,
        datasetId: dataset ? dataset.id : null,
        datasetVersion: dataset ? run.datasetVersion : null,
        settings: settingsBetween(base, config),
        experiment: run.experiment,
        on: run.cluster,
      };
    },
  };
  return handlers;
}
