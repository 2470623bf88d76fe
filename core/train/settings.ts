import {
  applySettings,
  parseSettingValue,
  settableKeys,
  splitAssignment,
} from '../model/settings.js';
import { UserError } from '../util/errors.js';
import { validateRunConfig, type RunConfig } from '../schema/run-config.js';
import { checkThreads } from './threads.js';

/** Short names for the settings people change most. */
export const SETTING_ALIASES: Record<string, string> = {
  lr: 'optim.lr',
  momentum: 'optim.momentum',
  weightDecay: 'optim.weightDecay',
  optimizer: 'optim.type',
  schedule: 'schedule.type',
  batch: 'batchSize',
  pcaSigma: 'data.pcaSigma',
  flip: 'data.flip',
  randomCrop: 'data.randomCrop',
  mean: 'data.mean',
  threads: 'engine.threads',
};

const RUN_ROOTS = ['optim', 'schedule', 'data', 'engine'] as const;
type RunRoot = (typeof RUN_ROOTS)[number];
const RUN_LEAVES = ['batchSize', 'epochs', 'evalEvery', 'tenCropAtEnd', 'seed'];

/** Every `--set` key a run accepts: run settings, their aliases, and the model's. */
export function runSettableKeys(config: RunConfig): string[] {
  const run = RUN_ROOTS.flatMap((root) => Object.keys(config[root]).map((k) => `${root}.${k}`));
  return [...Object.keys(SETTING_ALIASES), ...RUN_LEAVES, ...run, ...settableKeys(config.model)];
}

/**
 * Applies `key=value` settings to a run config: optimiser, schedule, data and run keys
 * (`optim.lr=0.02`, `lr=0.02`, `epochs=5`, `schedule.milestones=10,20`) and any model setting
 * (`lrn=off`, `groups=1`, `model.dropout=0.3`). The result is validated as a whole, and a thread
 * count above this machine's cores is refused.
 */
export function applyRunSettings(base: RunConfig, assignments: readonly string[]): RunConfig {
  const config = structuredClone(base);
  const modelSettings: string[] = [];
  for (const assignment of assignments) {
    const [rawKey, raw] = splitAssignment(assignment);
    const key = SETTING_ALIASES[rawKey] ?? rawKey;
    const [root, ...rest] = key.split('.');
    if (RUN_LEAVES.includes(key)) {
      (config as Record<string, unknown>)[key] = parseSettingValue(raw);
    } else if (root && (RUN_ROOTS as readonly string[]).includes(root) && rest.length === 1) {
      const section = config[root as RunRoot] as Record<string, unknown>;
      if (!(rest[0]! in section)) throw unknownKey(rawKey, base);
      const value = parseSettingValue(raw);
      // A single milestone is still a list.
      section[rest[0]!] = rest[0] === 'milestones' && typeof value === 'number' ? [value] : value;
    } else {
      modelSettings.push(`${root === 'model' ? rest.join('.') : key}=${raw}`);
    }
  }
  try {
    config.model = applySettings(config.model, modelSettings);
  } catch (err) {
    if (err instanceof UserError && err.message.startsWith('unknown setting')) {
      const bad = /'([^']+)'/.exec(err.message)?.[1] ?? '';
      throw unknownKey(bad, base);
    }
    throw err;
  }
  return checkThreads(validateRunConfig(config));
}

function unknownKey(key: string, config: RunConfig): UserError {
  return new UserError(
    `unknown setting '${key}' (settable: ${runSettableKeys(config).join(', ')})`,
  );
}
