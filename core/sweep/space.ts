import seedrandom from 'seedrandom';
import { flattenParams, type RunConfig } from '../schema/run-config.js';
import { MAX_SWEEP_TRIALS, type Dimension, type SweepSpec } from '../schema/sweep.js';
import { SETTING_ALIASES } from '../train/settings.js';
import { UserError } from '../util/errors.js';

/**
 * A sweep's search space: reading `--sweep key=…` texts, and turning a space into the settings
 * of each trial (every grid combination, or seeded random draws).
 */

/** Run settings outside the optim, schedule, data and model sections. */
const RUN_KEYS = new Set(['batchSize', 'epochs', 'evalEvery', 'tenCropAtEnd', 'seed']);

/** Settings searched on a log scale unless the range says otherwise. */
const LOG_SCALE = new Set(['optim.lr', 'optim.weightDecay']);

const canonical = (key: string) => SETTING_ALIASES[key] ?? key;

/** Shorthands that set several params; a sweep over one is shown by this param. */
const SHORTHAND_PARAMS: Record<string, string> = { lrn: 'model.lrn.mode', pool: 'model.pool.size' };

/** The param (as the params table names it) that a settable key sets: `lr` → `optim.lr`. */
export function paramKey(key: string): string {
  const k = canonical(key);
  if (SHORTHAND_PARAMS[k]) return SHORTHAND_PARAMS[k];
  if (/^(optim|schedule|data|model)\./.test(k) || RUN_KEYS.has(k)) return k;
  const conv = /^conv(\d)\.(.+)$/.exec(k);
  return conv ? `model.conv.${conv[1]}.${conv[2]}` : `model.${k}`;
}

/** The preset's value of a settable key (`lr`, `optim.lr`, `dropout`, `conv1.filters`). */
function defaultOf(config: RunConfig, key: string): unknown {
  const flat = flattenParams(config);
  const k = canonical(key);
  const conv = /^conv(\d)\.(.+)$/.exec(k);
  return (
    flat[k] ?? flat[`model.${k}`] ?? (conv ? flat[`model.conv.${conv[1]}.${conv[2]}`] : undefined)
  );
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads one swept setting: `lr=1e-4..1e-1` (a range: log-uniform for learning rates and weight
 * decay, uniform otherwise; `log:` or `lin:` before it chooses), or `dropout=0.3,0.5` (values).
 * A range of whole numbers over a whole-number setting (batch, epochs) draws whole numbers.
 */
export function parseDimension(text: string, base: RunConfig): [string, Dimension] {
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
  const scale = scaleWord
    ? scaleWord[1] === 'log'
      ? 'log'
      : 'linear'
    : LOG_SCALE.has(canonical(key))
      ? 'log'
      : 'linear';
  const wholeBounds = /^-?\d+$/.test(lowText) && /^-?\d+$/.test(highText);
  const preset = defaultOf(base, key);
  const integer = wholeBounds && typeof preset === 'number' && Number.isInteger(preset);
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
