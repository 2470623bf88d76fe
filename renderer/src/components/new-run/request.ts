import {
  defaultText,
  fieldsSetBy,
  isChanged,
  isNumeric,
  localError,
  resolveKey,
  splitSetting,
  sweepValues,
  type FieldNames,
  type FieldSpec,
} from './settings';

/** What the form asks the host for, derived from the fields. */
export interface RunRequest {
  /** `key=value` for each changed field, then the ablations and other settings. */
  settings: string[];
  /** Swept fields and their values; createRuns makes one run per combination. */
  sweep: Record<string, string[]>;
  /** Runs that createRuns will queue: the product of the sweep's value counts. */
  runCount: number;
  /** Problems found without asking the host, by field key. */
  errors: Record<string, string>;
  /** Fields an ablation or other setting overrides, and that setting. */
  overridden: Record<string, string>;
}

/**
 * Turns field texts into settings and a sweep. Only fields that differ from the preset's
 * defaults become settings; `extra` (checked ablations, settings kept from a clone) goes last and
 * takes the place of any field it sets.
 */
export function buildRequest(
  specs: readonly FieldSpec[],
  names: FieldNames,
  values: Readonly<Record<string, string>>,
  extra: readonly string[],
): RunRequest {
  const overridden: Record<string, string> = {};
  for (const setting of extra)
    for (const key of fieldsSetBy(splitSetting(setting)?.[0] ?? '', names))
      overridden[key] = setting;
  const settings: string[] = [];
  const sweep: Record<string, string[]> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    if (overridden[spec.key]) continue;
    const text = values[spec.key] ?? defaultText(spec.default);
    const error = localError(spec, text);
    if (error) {
      errors[spec.key] = error;
      continue;
    }
    const swept = sweepValues(spec, text);
    // A lone value with a stray comma ("0.01,") is that value, not a sweep.
    const value = isNumeric(spec)
      ? text
          .split(',')
          .find((v) => v.trim())!
          .trim()
      : text.trim();
    if (swept) sweep[spec.key] = swept;
    else if (isChanged(spec, value)) settings.push(`${spec.key}=${value}`);
  }
  settings.push(...extra);
  const runCount = Object.values(sweep).reduce((n, v) => n * v.length, 1);
  return { settings, sweep, runCount, errors, overridden };
}

/**
 * The settings lists that together check every sweep value: the first value of each swept key,
 * then each other value in turn. That is one list per distinct value, not per combination.
 */
export function checkVariants(request: Pick<RunRequest, 'settings' | 'sweep'>): string[][] {
  const entries = Object.entries(request.sweep);
  const firsts = entries.map(([key, values]) => `${key}=${values[0]}`);
  const variants = [[...firsts, ...request.settings]];
  entries.forEach(([key, values], i) => {
    for (const value of values.slice(1)) {
      const settings = firsts.slice();
      settings[i] = `${key}=${value}`;
      variants.push([...settings, ...request.settings]);
    }
  });
  return variants;
}

/**
 * Which field a host error is about: the error names a setting (`optim.lr=-1`, `lr`, or
 * `settings.3` as a path into the list sent); null when it names none of the fields.
 */
export function fieldOfError(
  setting: string | null | undefined,
  sent: readonly string[],
  names: FieldNames,
): string | null {
  if (!setting) return null;
  const index = /^settings\.(\d+)$/.exec(setting);
  const named = index ? sent[Number(index[1])] : setting;
  if (named === undefined) return null;
  return resolveKey(splitSetting(named)?.[0] ?? named, names);
}
