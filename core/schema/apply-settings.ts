import { UserError } from '../util/errors.js';
import { validateModelConfig, type ModelConfig } from './model-config.js';
import { validateRunConfig, type RunConfig } from './run-config.js';
import { SHORTHANDS, type Shorthand } from './setting-shorthands.js';
import { runSettings, valueAt, type SettingEntry, type SettingValue } from './settings.js';

/** Splits `key=value`; a UserError when there is no key before an `=`. */
export function splitAssignment(assignment: string): [string, string] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`bad --set '${assignment}': expected key=value`);
  return [assignment.slice(0, eq).trim(), assignment.slice(eq + 1)];
}

/** The settings of a model config alone (`svw model summary`): the run's, below `model`. */
function modelSettings(): SettingEntry[] {
  return runSettings()
    .filter((e) => e.path[0] === 'model')
    .map((e) => ({ ...e, path: e.path.slice(1) }));
}

/**
 * The setting a `--set` key names: its key, an alias or its params spelling, also after a
 * `model.` prefix (`model.dropout`, `model.conv1.filters`).
 */
export function findSetting(entries: readonly SettingEntry[], key: string): SettingEntry | null {
  const names = (e: SettingEntry) => [
    e.descriptor.key,
    e.descriptor.param,
    ...e.descriptor.aliases,
  ];
  const bare = key.startsWith('model.') ? key.slice(6) : key;
  return (
    entries.find((e) => names(e).includes(key)) ??
    entries.find((e) => names(e).includes(bare)) ??
    null
  );
}

function findShorthand(key: string): Shorthand | null {
  const bare = key.startsWith('model.') ? key.slice(6) : key;
  return SHORTHANDS.find((s) => s.key === bare) ?? null;
}

/**
 * A `--set` value as its setting's kind. Text that cannot be of that kind is refused here;
 * ranges, whole numbers and choices are the schema's to check, with its messages.
 */
export function parseSettingValue(entry: SettingEntry, raw: string): unknown {
  const { key, kind } = entry.descriptor;
  const text = raw.trim();
  const isNumber = (t: string) => t !== '' && Number.isFinite(Number(t));
  const refuse = (what: string) => new UserError(`bad --set ${key}=${raw}: ${key} takes ${what}`);
  switch (kind) {
    case 'number':
    case 'integer':
      if (!isNumber(text)) throw refuse(kind === 'integer' ? 'a whole number' : 'a number');
      return Number(text);
    case 'boolean':
      if (text === 'true' || text === 'on') return true;
      if (text === 'false' || text === 'off') return false;
      throw refuse('true or false (on or off)');
    case 'choice': {
      const index = entry.descriptor.choices!.indexOf(text);
      if (index >= 0) return entry.values![index];
      return typeof entry.values![0] === 'number' && isNumber(text) ? Number(text) : text;
    }
    case 'list': {
      const items = text === '' ? [] : text.split(',').map((p) => p.trim());
      if (!items.every(isNumber)) throw refuse('numbers separated by commas');
      return items.map(Number);
    }
  }
}

/** A setting's value as `--set` spells it. */
export const settingText = (value: SettingValue): string =>
  Array.isArray(value) ? value.join(',') : String(value);

/** Every name `--set` takes, for the unknown-setting message. */
function settableNames(entries: readonly SettingEntry[]): string[] {
  const shorthands = SHORTHANDS.filter((s) =>
    s.sets.every((k) => entries.some((e) => e.descriptor.key === k)),
  );
  return [
    ...entries.flatMap((e) => [...e.descriptor.aliases, e.descriptor.key]),
    ...shorthands.map((s) => s.key),
  ];
}

function applyTo(config: object, entries: readonly SettingEntry[], assignments: readonly string[]) {
  for (const assignment of assignments) {
    const [key, raw] = splitAssignment(assignment);
    const shorthand = findShorthand(key);
    const expanded = shorthand ? shorthand.expand(raw).map(splitAssignment) : [[key, raw]];
    for (const [k, v] of expanded) {
      const entry = findSetting(entries, k!);
      if (!entry)
        throw new UserError(
          `unknown setting '${key}' (settable: ${settableNames(entries).join(', ')})`,
        );
      const parent = valueAt(config, entry.path.slice(0, -1)) as Record<string | number, unknown>;
      parent[entry.path.at(-1)!] = parseSettingValue(entry, v!);
    }
  }
}

/**
 * Applies `key=value` settings (`--set`) to a run config and validates the result: run keys
 * (`optim.lr=0.02`, `lr=0.02`, `epochs=5`, `schedule.milestones=10,20`), model keys
 * (`dropout=0.3`, `conv1.filters=48`) and shorthands (`lrn=off`, `pool=2/2`).
 */
export function applyRunSettings(base: RunConfig, assignments: readonly string[]): RunConfig {
  const config = structuredClone(base);
  applyTo(config, runSettings(), assignments);
  config.model = validateModelConfig(config.model);
  return validateRunConfig(config);
}

/** Applies model settings (`lrn=off`, `groups=1`, `conv1.filters=64`) and validates the result. */
export function applyModelSettings(base: ModelConfig, assignments: readonly string[]): ModelConfig {
  const config = structuredClone(base);
  applyTo(config, modelSettings(), assignments);
  return validateModelConfig(config);
}

/**
 * The settings that turn `base` into `config` (for cloning a run), in the keys `--set` shows.
 * A shorthand that sets a whole block as the config has it goes first (`lrn=off`), so a clone
 * of an ablation says it the way the ablation does.
 */
export function settingsBetween(base: RunConfig, config: RunConfig): string[] {
  const entries = new Map(runSettings().map((e) => [e.descriptor.key, e]));
  const text = (c: RunConfig, key: string) =>
    settingText(valueAt(c, entries.get(key)!.path) as SettingValue);
  const same = (a: RunConfig, keys: string[]) => keys.every((k) => text(a, k) === text(config, k));
  const out: string[] = [];
  let from = base;
  for (const shorthand of SHORTHANDS) {
    if (same(from, shorthand.sets)) continue;
    for (const example of shorthand.examples) {
      const setting = `${shorthand.key}=${example}`;
      const tried = attempt(() => applyRunSettings(from, [setting]));
      if (tried && same(tried, shorthand.sets)) {
        out.push(setting);
        from = tried;
        break;
      }
    }
  }
  for (const key of entries.keys())
    if (text(from, key) !== text(config, key)) out.push(`${key}=${text(config, key)}`);
  return out;
}

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) return null;
    throw err;
  }
}
