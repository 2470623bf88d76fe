import type { PresetInfo } from '../../../../core/api/contract';

type Scalar = string | number | boolean;
type RunConfig = PresetInfo['defaults'];
export type GroupId = 'optim' | 'schedule' | 'data' | 'model' | 'run';

export const GROUPS: { id: GroupId; label: string }[] = [
  { id: 'optim', label: 'Optimisation' },
  { id: 'schedule', label: 'Schedule' },
  { id: 'data', label: 'Data and augmentation' },
  { id: 'model', label: 'Model' },
  { id: 'run', label: 'Run' },
];

/** One form field: a settable key of the preset, with its default and how to edit it. */
export interface FieldSpec {
  key: string;
  group: GroupId;
  kind: 'number' | 'boolean' | 'choice' | 'text';
  default: Scalar;
  choices?: string[];
}

// Each record must list every member of its union, so a new option in core fails to compile here.
const OPTIMIZERS = { sgd: 1, nesterov: 1, adam: 1 } satisfies Record<RunConfig['optim']['type'], 1>;
const SCHEDULES = { fixed: 1, step: 1, multistep: 1, plateau: 1 } satisfies Record<
  RunConfig['schedule']['type'],
  1
>;
const MEANS = { image: 1, pixel: 1, none: 1 } satisfies Record<RunConfig['data']['mean'], 1>;
const LRN = { paper: 1, caffe: 1, off: 1 } satisfies Record<RunConfig['model']['lrn']['mode'], 1>;
const INITS = { paper: 1, he: 1 } satisfies Record<RunConfig['model']['init']['scheme'], 1>;
const CHOICES: Record<string, string[]> = {
  'optim.type': Object.keys(OPTIMIZERS),
  'schedule.type': Object.keys(SCHEDULES),
  'data.mean': Object.keys(MEANS),
  'lrn.mode': Object.keys(LRN),
  'init.scheme': Object.keys(INITS),
};

/** The short names `svw train --set` accepts for the common keys; a test keeps them equal to core/train/settings.ts. */
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

function groupOf(key: string): GroupId {
  const root = key.split('.')[0]!;
  if (root === 'optim' || key === 'batchSize') return 'optim';
  if (root === 'schedule' || root === 'data') return root;
  if (['epochs', 'evalEvery', 'tenCropAtEnd', 'seed'].includes(key) || root === 'engine')
    return 'run';
  return 'model';
}

/** Keys the host fits to the dataset (they must match its images and classes), so no field. */
const FROM_DATASET = new Set(['sourceSize', 'classes']);

/**
 * A settable key's default. `flat` spells model keys as the config nests them
 * (`model.dropout`, `model.conv.1.filters`); `--set` drops the `model.` and says `conv1.filters`.
 */
function flatDefault(flat: PresetInfo['flat'], key: string): Scalar | undefined {
  const conv = /^conv(\d+)\.(.+)$/.exec(key);
  return flat[key] ?? flat[conv ? `model.conv.${conv[1]}.${conv[2]}` : `model.${key}`];
}

/** The preset's fields: every settable key with a default (aliases and shorthands have none). */
export function fieldSpecs(preset: PresetInfo): FieldSpec[] {
  const seen = new Set<string>();
  const specs: FieldSpec[] = [];
  for (const key of preset.settableKeys) {
    const value = flatDefault(preset.flat, key);
    if (value === undefined || seen.has(key) || FROM_DATASET.has(key)) continue;
    seen.add(key);
    const choices = CHOICES[key];
    const kind =
      typeof value === 'number'
        ? 'number'
        : typeof value === 'boolean'
          ? 'boolean'
          : choices
            ? 'choice'
            : 'text';
    specs.push({ key, group: groupOf(key), kind, default: value, ...(choices ? { choices } : {}) });
  }
  return specs;
}

/** A default as the form shows it. */
export const defaultText = (value: Scalar): string => String(value);

/**
 * The field key a `--set` key means: aliases (`lr`), `model.` prefixes and the flattened
 * `model.conv.2.filters` spelling all resolve; null when no field has it.
 */
export function resolveKey(raw: string, keys: ReadonlySet<string>): string | null {
  const key = raw.trim();
  const candidates = [key, SETTING_ALIASES[key] ?? ''];
  if (key.startsWith('model.')) {
    const rest = key.slice(6);
    candidates.push(rest, rest.replace(/^conv\.(\d)\./, 'conv$1.'));
  }
  return candidates.find((c) => keys.has(c)) ?? null;
}

/** Shorthands that set a whole block of fields at once (`lrn=off`, `pool=2/2`). */
const SHORTHANDS: Record<string, string[]> = {
  lrn: ['lrn.mode', 'lrn.size', 'lrn.k', 'lrn.alpha', 'lrn.beta'],
  pool: ['pool.size', 'pool.stride'],
};

/** The fields a setting's key sets: its own, or a shorthand's block. */
export function fieldsSetBy(rawKey: string, keys: ReadonlySet<string>): string[] {
  const key = resolveKey(rawKey, keys);
  if (key) return [key];
  return (SHORTHANDS[rawKey.trim()] ?? []).filter((k) => keys.has(k));
}

/** Splits `key=value`; null when there is no `=` after a key. */
export function splitSetting(setting: string): [string, string] | null {
  const eq = setting.indexOf('=');
  return eq > 0 ? [setting.slice(0, eq).trim(), setting.slice(eq + 1).trim()] : null;
}

/** Whether two `key=value` settings set the same key to the same value, however spelled. */
export function sameSetting(a: string, b: string, keys: ReadonlySet<string>): boolean {
  if (a === b) return true;
  const [pa, pb] = [splitSetting(a), splitSetting(b)];
  if (!pa || !pb) return false;
  const key = resolveKey(pa[0], keys);
  const norm = (v: string) =>
    v === 'on'
      ? 'true'
      : v === 'off'
        ? 'false'
        : Number.isFinite(Number(v)) && v !== ''
          ? String(Number(v))
          : v;
  return key !== null && key === resolveKey(pb[0], keys) && norm(pa[1]) === norm(pb[1]);
}

/** A field's value from a `--set` value: on/off become the checkbox's true/false. */
export function fieldText(spec: FieldSpec, value: string): string {
  if (spec.kind !== 'boolean') return value;
  return value === 'on' ? 'true' : value === 'off' ? 'false' : value;
}

/** Whether a field's text says something other than its default (0.010 is still 0.01). */
export function isChanged(spec: FieldSpec, text: string): boolean {
  const value = text.trim();
  if (spec.kind === 'number' && value !== '' && Number.isFinite(Number(value)))
    return Number(value) !== spec.default;
  return value !== defaultText(spec.default);
}

/** The comma-separated values of a numeric field, once each; a single value is no sweep. */
export function sweepValues(spec: FieldSpec, text: string): string[] | null {
  if (spec.kind !== 'number' || !text.includes(',')) return null;
  const values = [
    ...new Set(
      text
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
  return values.length > 1 ? values : null;
}

/** What is wrong with a field's text before the host is asked, or null. */
export function localError(spec: FieldSpec, text: string): string | null {
  if (spec.kind !== 'number') return null;
  const parts = text.split(',').map((v) => v.trim());
  if (parts.every((p) => p === '')) return 'Enter a number';
  const bad = parts.filter(Boolean).find((p) => !Number.isFinite(Number(p)));
  if (bad !== undefined) return `'${bad}' is not a number`;
  if ((sweepValues(spec, text)?.length ?? 0) > 50) return 'At most 50 values in a sweep';
  return null;
}

/**
 * The form that a run's settings describe: field texts, ablation switches, and the settings
 * neither shows (kept as they are). A clone spells keys in full (`model.groups=1`) where an
 * ablation may say `groups=1`; both switch the ablation on.
 */
export function formFromSettings(
  preset: PresetInfo,
  settings: readonly string[],
): { values: Record<string, string>; ablations: boolean[]; extra: string[] } {
  const specs = fieldSpecs(preset);
  const keys = new Set(specs.map((s) => s.key));
  const values: Record<string, string> = {};
  const ablations = preset.ablations.map(() => false);
  const extra: string[] = [];
  for (const setting of settings) {
    const ablation = preset.ablations.findIndex((a) => sameSetting(a.setting, setting, keys));
    const parts = splitSetting(setting);
    const key = parts ? resolveKey(parts[0], keys) : null;
    const spec = specs.find((s) => s.key === key);
    if (ablation >= 0) ablations[ablation] = true;
    else if (spec && parts) values[spec.key] = fieldText(spec, parts[1]);
    else extra.push(setting);
  }
  return { values, ablations, extra };
}
