import { UserError } from '../util/errors.js';
import { LRN_MODES, validateModelConfig, type ModelConfig } from '../schema/model-config.js';

/** Full LRN settings behind the `lrn=paper|caffe|off` shorthand. */
const LRN_SHORTHANDS = {
  paper: { mode: 'paper', size: 5, k: 2, alpha: 1e-4, beta: 0.75 },
  caffe: { mode: 'caffe', size: 5, k: 1, alpha: 1e-4, beta: 0.75 },
  off: { mode: 'off', size: 5, k: 2, alpha: 1e-4, beta: 0.75 },
} as const;

/** `--set` values: numbers, booleans, comma lists of numbers, or strings. */
export function parseSettingValue(raw: string): unknown {
  const text = raw.trim();
  if (text === 'true' || text === 'on') return true;
  if (text === 'false' || text === 'off') return false;
  if (text !== '' && Number.isFinite(Number(text))) return Number(text);
  if (text.includes(',')) {
    const parts = text.split(',').map((p) => Number(p.trim()));
    if (parts.every(Number.isFinite)) return parts;
  }
  return text;
}

export function splitAssignment(assignment: string): [string, string] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`bad --set '${assignment}': expected key=value`);
  return [assignment.slice(0, eq).trim(), assignment.slice(eq + 1)];
}

/** All settable dotted keys of a model config, for error messages. */
export function settableKeys(config: ModelConfig): string[] {
  const keys: string[] = ['lrn', 'pool'];
  const walk = (value: unknown, prefix: string): void => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else keys.push(prefix);
  };
  const { conv, ...rest } = config;
  walk(rest, '');
  conv.forEach((layer, i) => walk(layer, `conv${i + 1}`));
  return keys.filter((k) => k !== 'preset');
}

/**
 * Applies `key=value` settings (`--set`) to a config and validates the result.
 * Keys are dotted paths (`init.bias=0.1`, `conv1.filters=64`) plus the shorthands
 * `lrn=paper|caffe|off` and `pool=3/2|2/2`.
 */
export function applySettings(base: ModelConfig, assignments: readonly string[]): ModelConfig {
  const config = structuredClone(base) as unknown as Record<string, unknown>;
  const known = new Set(settableKeys(base));
  for (const assignment of assignments) {
    const [key, raw] = splitAssignment(assignment);
    if (key === 'lrn' && raw in LRN_SHORTHANDS) {
      config.lrn = { ...LRN_SHORTHANDS[raw as keyof typeof LRN_SHORTHANDS] };
      continue;
    }
    if (key === 'lrn') throw new UserError(`bad --set lrn=${raw}: choose ${LRN_MODES.join(', ')}`);
    if (key === 'pool') {
      const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
      if (!m) throw new UserError(`bad --set pool=${raw}: expected size/stride, e.g. 3/2 or 2/2`);
      config.pool = { size: Number(m[1]), stride: Number(m[2]) };
      continue;
    }
    if (!known.has(key)) {
      throw new UserError(`unknown setting '${key}' (settable: ${[...known].join(', ')})`);
    }
    setPath(config, key, parseSettingValue(raw));
  }
  return validateModelConfig(config);
}

function setPath(config: Record<string, unknown>, key: string, value: unknown): void {
  const convMatch = /^conv([1-5])\.(.+)$/.exec(key);
  const path = convMatch
    ? ['conv', String(Number(convMatch[1]) - 1), convMatch[2]!]
    : key.split('.');
  let node = config as Record<string, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}
