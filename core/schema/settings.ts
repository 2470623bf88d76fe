import { z } from 'zod';
import { PRESET_NAMES } from './model-config.js';
import { presetRunConfig, runConfigSchema } from './run-config.js';
import { SETTING_GROUPS, settingMeta, type SettingGroup } from './setting-meta.js';
import { SHORTHANDS, type ShorthandDescriptor } from './setting-shorthands.js';

export type SettingKind = 'number' | 'integer' | 'boolean' | 'choice' | 'list';
export type SettingValue = string | number | boolean | number[];

/**
 * One `--set` key, as the CLI help, the New run form, sweeps and clones read it. Built from the
 * zod schema and its registered meta (core/schema/run-config.ts says how to add one).
 */
export interface SettingDescriptor {
  /** `optim.lr`, `batchSize`; model settings without `model.`: `dropout`, `conv1.filters`. */
  key: string;
  /** Short names that mean the same (`lr`). */
  aliases: string[];
  /** Its name among a run's params (`model.conv.1.filters`); `--set` takes it too. */
  param: string;
  group: SettingGroup;
  kind: SettingKind;
  /** Each preset's default, by preset name. */
  defaults: Record<string, SettingValue>;
  /** Bounds of a number, an integer or a list's items (exclusive where said). */
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
  choices?: string[];
  unit?: string;
  help: string;
  /** The host fits it to the dataset's images, so the form has no field for it. */
  fromDataset?: boolean;
}

/** Everything the host serves about settings (the `settings` API method). */
export interface SettingsInfo {
  groups: { id: SettingGroup; label: string }[];
  settings: SettingDescriptor[];
  shorthands: ShorthandDescriptor[];
}

/** A descriptor and where its value sits in the config. */
export interface SettingEntry {
  descriptor: SettingDescriptor;
  path: (string | number)[];
  /** Choice values as the schema has them (`groups` is 1 or 2, not '1' or '2'). */
  values?: (string | number)[];
}

// Model settings are spelled without `model.`, so `svw model summary --set` takes the same keys.
const UNPREFIXED = 'model';

type JsonSchema = {
  type?: string;
  enum?: (string | number)[];
  anyOf?: JsonSchema[];
  const?: string | number;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
};

/** Kind, range and choices of a leaf schema, read from its JSON Schema. */
function shapeOf(
  schema: z.ZodType,
  key: string,
): Pick<SettingEntry, 'values'> & Partial<SettingDescriptor> {
  const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema;
  // Integers say `≥ 1` rather than zod's `> 0`.
  const bounds = (j: JsonSchema) => {
    const step = j.type === 'integer' ? 1 : 0;
    const out: Partial<SettingDescriptor> = {};
    if (j.exclusiveMinimum !== undefined)
      Object.assign(
        out,
        step ? { min: j.exclusiveMinimum + step } : { min: j.exclusiveMinimum, minExclusive: true },
      );
    else if (j.minimum !== undefined && j.minimum > Number.MIN_SAFE_INTEGER) out.min = j.minimum;
    if (j.exclusiveMaximum !== undefined)
      Object.assign(
        out,
        step ? { max: j.exclusiveMaximum - step } : { max: j.exclusiveMaximum, maxExclusive: true },
      );
    else if (j.maximum !== undefined && j.maximum < Number.MAX_SAFE_INTEGER) out.max = j.maximum;
    return out;
  };
  const literals = json.enum ?? json.anyOf?.map((j) => j.const);
  if (literals?.every((v) => v !== undefined))
    return { kind: 'choice', choices: literals.map(String), values: literals };
  if (json.type === 'boolean') return { kind: 'boolean' };
  if (json.type === 'number' || json.type === 'integer')
    return { kind: json.type, ...bounds(json) };
  const item = json.items || json.prefixItems?.[0];
  if (json.type === 'array' && item) return { kind: 'list', ...bounds(item) };
  throw new Error(`setting ${key}: no kind for its schema ${JSON.stringify(json)}`);
}

/** What sits at a path in a config (`['model', 'conv', 0, 'filters']`). */
export const valueAt = (config: unknown, path: readonly (string | number)[]): unknown =>
  path.reduce<unknown>((node, part) => (node as Record<string | number, unknown>)[part], config);

const unwrap = (schema: z.ZodType): z.ZodType =>
  schema instanceof z.ZodDefault || schema instanceof z.ZodOptional
    ? unwrap(schema.unwrap() as z.ZodType)
    : schema;

/**
 * The settings of a run config schema: every leaf with registered meta, with each preset's
 * default. Lists of objects (the conv layers) give one setting per item and field: `conv1.kernel`.
 */
export function describeSettings(
  schema: z.ZodObject,
  presets: Record<string, object>,
): SettingEntry[] {
  const entries: SettingEntry[] = [];
  const first = Object.values(presets)[0];
  const walk = (node: z.ZodType, path: (string | number)[], key: string[]): void => {
    const inner = unwrap(node);
    if (inner instanceof z.ZodObject) {
      for (const [name, child] of Object.entries(inner.shape as Record<string, z.ZodType>))
        walk(
          child,
          [...path, name],
          path.length === 0 && name === UNPREFIXED ? [] : [...key, name],
        );
      return;
    }
    if (inner instanceof z.ZodArray && unwrap(inner.element as z.ZodType) instanceof z.ZodObject) {
      const items = valueAt(first, path) as unknown[];
      const last = key.at(-1)!;
      items.forEach((_, i) =>
        walk(inner.element as z.ZodType, [...path, i], [...key.slice(0, -1), `${last}${i + 1}`]),
      );
      return;
    }
    const meta = settingMeta.get(node) ?? settingMeta.get(inner);
    if (!meta) return;
    const name = key.join('.');
    const { values, ...shape } = shapeOf(inner, name);
    const defaults = Object.fromEntries(
      Object.entries(presets).map(([preset, config]) => [
        preset,
        valueAt(config, path) as SettingValue,
      ]),
    );
    const descriptor: SettingDescriptor = {
      key: name,
      aliases: meta.aliases ?? [],
      param: path.map((p) => (typeof p === 'number' ? p + 1 : p)).join('.'),
      group: meta.group,
      kind: shape.kind!,
      defaults,
      ...shape,
      ...(meta.unit ? { unit: meta.unit } : {}),
      help: meta.help,
      ...(meta.fromDataset ? { fromDataset: true } : {}),
    };
    entries.push({ descriptor, path, ...(values ? { values } : {}) });
  };
  walk(schema, [], []);
  return entries;
}

let cached: SettingEntry[] | null = null;

/** Every setting of a run, described from the run config schema and the presets. */
export function runSettings(): SettingEntry[] {
  cached ??= describeSettings(
    runConfigSchema,
    Object.fromEntries(PRESET_NAMES.map((name) => [name, presetRunConfig(name)])),
  );
  return cached;
}

/** What the host serves: the groups in order, the settings and the shorthands. */
export function settingsInfo(entries: SettingEntry[] = runSettings()): SettingsInfo {
  return {
    groups: SETTING_GROUPS.map((g) => ({ ...g })),
    settings: entries.map((e) => e.descriptor),
    shorthands: SHORTHANDS.map(({ expand: _, ...d }) => d),
  };
}
