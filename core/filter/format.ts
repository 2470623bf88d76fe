import { parseFilter, type FieldRef } from './parse.js';

/**
 * Writes filters in the language `parse.ts` reads, so that a selection made by pointing (a brush
 * on a parallel-coordinates axis) can be kept as the filter that selects the same runs.
 */

/** One axis's selection: a closed numeric range, or a set of values. */
export type AxisSelection =
  { field: string; min: number; max: number } | { field: string; values: (string | number)[] };

const BARE_SEGMENT = /^[^\s()'"=!<>.]+$/;
const BARE_WORD = /^[^\s()'"=!<>]+$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const RESERVED = new Set(['and', 'or', 'not', 'like', 'is', 'null']);

/** A string literal the parser reads back exactly. */
export function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
}

/**
 * Parses the text of a field (`params.optim.lr`, `metrics.val_top1_error.min`, `status`) as a
 * filter names it; throws FilterSyntaxError when it is none.
 */
export function parseField(text: string): FieldRef {
  const node = parseFilter(`${text} is null`);
  if (node?.kind !== 'compare') throw new Error(`'${text}' is not a filter field`);
  return node.field;
}

/** A field as filter text: key segments quoted where they hold spaces, dots or quotes. */
export function formatField(field: FieldRef): string {
  if (field.scope === 'run') return field.name;
  const segments = field.scope === 'metrics' ? [field.name] : field.name.split('.');
  const key = segments.map((s) => (BARE_SEGMENT.test(s) ? s : quote(s))).join('.');
  return `${field.scope}.${key}${field.stat ? `.${field.stat}` : ''}`;
}

/**
 * A value as filter text. Numbers are written in full (JavaScript's shortest round-trip form),
 * so a bound taken from the data matches that very value; text that would read as a number, a
 * keyword or null is quoted so that it stays text.
 */
export function formatValue(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`a filter cannot hold the number ${value}`);
    return String(value);
  }
  const bare = BARE_WORD.test(value) && !NUMBER.test(value) && !RESERVED.has(value.toLowerCase());
  return bare ? value : quote(value);
}

/** The filter that one axis's selection means. */
export function selectionFilter(selection: AxisSelection): string {
  const field = formatField(parseField(selection.field));
  if ('values' in selection) {
    const parts = [...new Set(selection.values)].map((v) => `${field} = ${formatValue(v)}`);
    if (parts.length === 0) throw new Error(`no values selected on ${selection.field}`);
    return parts.length === 1 ? parts[0]! : `(${parts.join(' or ')})`;
  }
  const { min, max } = selection;
  if (min === max) return `${field} = ${formatValue(min)}`;
  return `${field} >= ${formatValue(min)} and ${field} <= ${formatValue(max)}`;
}

/** Every selection at once, within an existing filter (blank for none). */
export function combineFilters(base: string, selections: readonly AxisSelection[]): string {
  const parts = selections.map(selectionFilter);
  const trimmed = base.trim();
  // The base is checked, and wrapped so that its own `or` cannot swallow the new terms.
  if (trimmed) {
    parseFilter(trimmed);
    parts.unshift(`(${trimmed})`);
  }
  return parts.join(' and ');
}
