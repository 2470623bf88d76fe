import type { PresetInfo, SettingDescriptor, SettingsInfo } from '../../../../core/api/contract';

export type GroupId = SettingsInfo['groups'][number]['id'];

/**
 * One form field: a setting the host describes (key, group, kind, choices, help), with the
 * preset's default. The form knows no setting by name: all of it comes from the descriptors.
 */
export interface FieldSpec {
  key: string;
  group: GroupId;
  kind: SettingDescriptor['kind'];
  default: SettingDescriptor['defaults'][string];
  choices?: string[];
  help: string;
  unit?: string;
}

/** The preset's fields: every setting with a default, but those the host fits to the dataset. */
export function fieldSpecs(info: SettingsInfo, preset: PresetInfo): FieldSpec[] {
  return info.settings.flatMap((d) => {
    const value = d.defaults[preset.name];
    if (value === undefined || d.fromDataset) return [];
    const { key, group, kind, choices, help, unit } = d;
    return [
      {
        key,
        group,
        kind,
        default: value,
        help,
        ...(choices ? { choices } : {}),
        ...(unit ? { unit } : {}),
      },
    ];
  });
}

/** How settings name the fields: every key, alias and params spelling, and the shorthands. */
export interface FieldNames {
  /** Name → field key. */
  keys: ReadonlyMap<string, string>;
  /** Shorthand → the field keys it sets. */
  shorthands: ReadonlyMap<string, string[]>;
}

export function fieldNames(info: SettingsInfo, specs: readonly FieldSpec[]): FieldNames {
  const shown = new Set(specs.map((s) => s.key));
  const keys = new Map<string, string>();
  for (const d of info.settings)
    if (shown.has(d.key)) for (const name of [d.key, d.param, ...d.aliases]) keys.set(name, d.key);
  const shorthands = new Map(
    info.shorthands.map((s) => [s.key, s.sets.filter((k) => shown.has(k))] as const),
  );
  return { keys, shorthands };
}

/** A default as the form shows it (a list as `10,20`). */
export const defaultText = (value: FieldSpec['default']): string =>
  Array.isArray(value) ? value.join(',') : String(value);

/** Fields typed as numbers: they take comma-separated values to sweep. */
export const isNumeric = (spec: FieldSpec): boolean =>
  spec.kind === 'number' || spec.kind === 'integer';

/** The field key a `--set` key means (its key, an alias, its params name); null when none. */
export function resolveKey(raw: string, names: FieldNames): string | null {
  return names.keys.get(raw.trim()) ?? null;
}

/** The fields a setting's key sets: its own, or a shorthand's block. */
export function fieldsSetBy(rawKey: string, names: FieldNames): string[] {
  const key = resolveKey(rawKey, names);
  if (key) return [key];
  return names.shorthands.get(rawKey.trim()) ?? [];
}

/** Splits `key=value`; null when there is no `=` after a key. */
export function splitSetting(setting: string): [string, string] | null {
  const eq = setting.indexOf('=');
  return eq > 0 ? [setting.slice(0, eq).trim(), setting.slice(eq + 1).trim()] : null;
}

/** Whether two `key=value` settings set the same key to the same value, however spelled. */
export function sameSetting(a: string, b: string, names: FieldNames): boolean {
  if (a === b) return true;
  const [pa, pb] = [splitSetting(a), splitSetting(b)];
  if (!pa || !pb) return false;
  const key = resolveKey(pa[0], names);
  const norm = (v: string) =>
    v === 'on'
      ? 'true'
      : v === 'off'
        ? 'false'
        : Number.isFinite(Number(v)) && v !== ''
          ? String(Number(v))
          : v;
  return key !== null && key === resolveKey(pb[0], names) && norm(pa[1]) === norm(pb[1]);
}

/** A field's value from a `--set` value: on/off become the checkbox's true/false. */
export function fieldText(spec: FieldSpec, value: string): string {
  if (spec.kind !== 'boolean') return value;
  return value === 'on' ? 'true' : value === 'off' ? 'false' : value;
}

/** Whether a field's text says something other than its default (0.010 is still 0.01). */
export function isChanged(spec: FieldSpec, text: string): boolean {
  const value = text.trim();
  if (isNumeric(spec) && value !== '' && Number.isFinite(Number(value)))
    return Number(value) !== spec.default;
  return value !== defaultText(spec.default);
}

/** The comma-separated values of a numeric field, once each; a single value is no sweep. */
export function sweepValues(spec: FieldSpec, text: string): string[] | null {
  if (!isNumeric(spec) || !text.includes(',')) return null;
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
  if (!isNumeric(spec)) return null;
  const parts = text.split(',').map((v) => v.trim());
  if (parts.every((p) => p === '')) return 'Enter a number';
  const bad = parts.filter(Boolean).find((p) => !Number.isFinite(Number(p)));
  if (bad !== undefined) return `'${bad}' is not a number`;
  if ((sweepValues(spec, text)?.length ?? 0) > 50) return 'At most 50 values in a sweep';
  return null;
}

/**
 * The form that a run's settings describe: field texts, ablation switches, and the settings
 * neither shows (kept as they are). A setting may spell a key in full (`model.groups=1`) where an
 * ablation says `groups=1`; both switch the ablation on.
 */
export function formFromSettings(
  info: SettingsInfo,
  preset: PresetInfo,
  settings: readonly string[],
): { values: Record<string, string>; ablations: boolean[]; extra: string[] } {
  const specs = fieldSpecs(info, preset);
  const names = fieldNames(info, specs);
  const values: Record<string, string> = {};
  const ablations = preset.ablations.map(() => false);
  const extra: string[] = [];
  for (const setting of settings) {
    const ablation = preset.ablations.findIndex((a) => sameSetting(a.setting, setting, names));
    const parts = splitSetting(setting);
    const key = parts ? resolveKey(parts[0], names) : null;
    const spec = specs.find((s) => s.key === key);
    if (ablation >= 0) ablations[ablation] = true;
    else if (spec && parts) values[spec.key] = fieldText(spec, parts[1]);
    else extra.push(setting);
  }
  return { values, ablations, extra };
}
