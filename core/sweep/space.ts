import seedrandom from 'seedrandom';
import { findSetting } from '../schema/apply-settings.js';
import { SHORTHANDS } from '../schema/setting-shorthands.js';
import { runSettings, type SettingEntry } from '../schema/settings.js';
import { MAX_SWEEP_TRIALS, type Dimension, type SweepSpec } from '../schema/sweep.js';
import { UserError } from '../util/errors.js';

/**
 * A sweep's search space: reading `--sweep key=…` texts, and turning a space into the settings
 * of each trial (every grid combination, or seeded random draws). What a key means (its kind,
 * and whether it is searched on a log scale) comes from the setting descriptors.
 */

function settingOf(key: string): SettingEntry | null {
  return findSetting(runSettings(), key);
}

/** The param (as the params table names it) that a settable key sets: `lr` → `optim.lr`. */
export function paramKey(key: string): string {
  const entry = settingOf(key);
  if (entry) return entry.descriptor.param;
  // A shorthand (`lrn`, `pool`) is shown by the first setting it sets.
  const shorthand = SHORTHANDS.find((s) => s.key === key.replace(/^model\./, ''));
  const first = shorthand && settingOf(shorthand.sets[0]!);
  return first ? first.descriptor.param : key;
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads one swept setting: `lr=1e-4..1e-1` (a range: log-uniform for learning rates and weight
 * decay, uniform otherwise; `log:` or `lin:` before it chooses), or `dropout=0.3,0.5` (values).
 * A range over a whole-number setting (batch, epochs, seed) draws whole numbers.
 */
export function parseDimension(text: string): [string, Dimension] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`bad --sweep '${text}': expected key=values or key=low..high`);
  const key = text.slice(0, eq).trim();
  let body = text.slice(eq + 1).trim();
  const scaleWord = /^(log|lin|linear):/.exec(body);
  if (scaleWord) body = body.slice(scaleWord[0].length).trim();
  const range = /^(.+?)\.\.(.+)$/.exec(body);
  if (!range) {
    if (scaleWord)
      throw new UserError(`bad --sweep '${text}': ${scaleWord[1]}: needs a range low..high`);
    const values = [
      ...new Set(
        body
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (values.length === 0) throw new UserError(`bad --sweep '${text}': no values`);
    return [key, { values }];
  }
  const [lowText, highText] = [range[1]!.trim(), range[2]!.trim()];
  if (!NUMBER.test(lowText) || !NUMBER.test(highText))
    throw new UserError(`bad --sweep '${text}': a range is two numbers, low..high`);
  const entry = settingOf(key);
  if (!entry)
    throw new UserError(
      `bad --sweep '${text}': a range needs a numeric setting, and '${key}' is none`,
    );
  const { kind, logScale } = entry.descriptor;
  if (kind !== 'number' && kind !== 'integer')
    throw new UserError(
      `bad --sweep '${text}': ${key} takes ${kind === 'boolean' ? 'true or false' : 'values, not a range'}`,
    );
  const scale = scaleWord
    ? scaleWord[1] === 'log'
      ? 'log'
      : 'linear'
    : logScale
      ? 'log'
      : 'linear';
  const integer = kind === 'integer';
  return [key, checkRange(key, { min: Number(lowText), max: Number(highText), scale, integer })];
}

function checkRange(key: string, d: Extract<Dimension, { min: number }>) {
  if (!(d.min < d.max)) throw new UserError(`the range of ${key} must go from low to high`);
  if (d.scale === 'log' && d.min <= 0)
    throw new UserError(`a log-scale range of ${key} must be above 0 (use lin: for a linear one)`);
  return d;
}

/** A value as a setting: drawn numbers keep 4 significant digits, which reads well in names. */
function settingValue(v: number): string {
  return String(Number(v.toPrecision(4)));
}

function draw(d: Dimension, random: () => number): string {
  if ('values' in d) return d.values[Math.floor(random() * d.values.length)]!;
  const u = random();
  if (d.scale === 'log') {
    const top = d.integer ? d.max + 1 : d.max;
    const v = Math.exp(Math.log(d.min) + u * (Math.log(top) - Math.log(d.min)));
    return d.integer ? String(Math.min(d.max, Math.floor(v))) : settingValue(v);
  }
  if (d.integer) return String(Math.min(d.max, d.min + Math.floor(u * (d.max - d.min + 1))));
  return settingValue(d.min + u * (d.max - d.min));
}

/**
 * The extra settings of each trial: every combination of the value lists (grid; the first key
 * varies slowest), or `trials` seeded draws (random: log-uniform or uniform over each range,
 * one value of each list).
 */
export function planTrials(spec: SweepSpec): string[][] {
  const entries = Object.entries(spec.space);
  for (const [key, d] of entries) if (!('values' in d)) checkRange(key, d);
  if (spec.method === 'grid') {
    const ranged = entries.find(([, d]) => !('values' in d));
    if (ranged) throw new UserError(`${ranged[0]} is a range: a range needs random search`);
    const count = entries.reduce((n, [, d]) => n * (d as { values: string[] }).values.length, 1);
    if (count > MAX_SWEEP_TRIALS)
      throw new UserError(`the sweep makes ${count} runs; at most ${MAX_SWEEP_TRIALS} at once`);
    return entries.reduce<string[][]>(
      (combos, [key, d]) =>
        combos.flatMap((c) => (d as { values: string[] }).values.map((v) => [...c, `${key}=${v}`])),
      [[]],
    );
  }
  if (spec.trials === undefined) throw new UserError('a random search needs a number of trials');
  const random = seedrandom(`sweep:${spec.seed}`);
  return Array.from({ length: spec.trials }, () =>
    entries.map(([key, d]) => `${key}=${draw(d, random)}`),
  );
}
