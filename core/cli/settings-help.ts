import type { Command } from 'commander';
import { settingText } from '../schema/apply-settings.js';
import {
  runSettings,
  settingsInfo,
  type SettingDescriptor,
  type SettingEntry,
} from '../schema/settings.js';

/** A setting's kind and range as help shows it: `number > 0`, `integer 1–4096`, `a|b|c`. */
export function rangeText(d: SettingDescriptor): string {
  if (d.kind === 'choice') return d.choices!.join('|');
  if (d.kind === 'boolean') return 'true|false';
  const lo = d.min === undefined ? '' : `${d.min}`;
  const hi = d.max === undefined ? '' : `${d.max}`;
  let range = '';
  if (lo && hi && !d.minExclusive && !d.maxExclusive) range = ` ${lo}–${hi}`;
  else {
    if (lo) range += ` ${d.minExclusive ? '>' : '≥'} ${lo}`;
    if (hi) range += `${lo ? ',' : ''} ${d.maxExclusive ? '<' : '≤'} ${hi}`;
  }
  const kind = d.kind === 'list' ? 'list' : d.kind;
  return `${kind}${range}${d.unit ? ` ${d.unit}` : ''}`;
}

/** Each preset's default, once when they agree: `0.01`, `90 / 30` (in the order of the presets). */
function defaultsText(rows: readonly SettingDescriptor[]): string {
  const presets = Object.keys(rows[0]!.defaults);
  const texts = presets.map((p) => rows.map((d) => settingText(d.defaults[p]!)).join(','));
  return [...new Set(texts)].map((t) => t || '(none)').join(' / ');
}

/**
 * Help rows: one per setting, except that the items of a list (conv1.filters … conv5.filters,
 * `model.conv.N.filters` among the params) share one row, `conv<N>.filters`.
 */
function rowsOf(descriptors: readonly SettingDescriptor[]): string[][] {
  const families = new Map<string, SettingDescriptor[]>();
  for (const d of descriptors) {
    const item = /^(.*)\.\d+\.([^.]+)$/.exec(d.param);
    const family = item ? `${item[1]}.N.${item[2]}` : d.param;
    families.set(family, [...(families.get(family) ?? []), d]);
  }
  return [...families.values()].map((family) => {
    const d = family[0]!;
    const key = family.length > 1 ? d.key.replace(/\d+\./, '<N>.') : d.key;
    const help = family.length > 1 ? `${d.help} (N = 1–${family.length})` : d.help;
    return [
      [key, ...d.aliases].join(', '),
      rangeText(d),
      `${help}; default ${defaultsText(family)}`,
    ];
  });
}

/** Lays [name, kind, help] rows out in columns; on a terminal, the help wraps to its width. */
function table(
  rows: readonly string[][],
  columns = process.stdout.isTTY ? process.stdout.columns : 0,
) {
  const [name, kind] = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const indent = 2 + name! + 2 + kind! + 2;
  const room = columns - indent;
  return ([key, range, help]: string[]): string => {
    const head = `  ${key!.padEnd(name!)}  ${range!.padEnd(kind!)}  `;
    if (!columns || room < 30 || indent + help!.length <= columns) return head + help;
    const lines: string[] = [];
    for (const word of help!.split(' ')) {
      const last = lines.at(-1);
      if (last !== undefined && last.length + word.length + 1 <= room)
        lines[lines.length - 1] = `${last} ${word}`;
      else lines.push(word);
    }
    return [head + lines[0], ...lines.slice(1).map((l) => ' '.repeat(indent) + l)].join('\n');
  };
}

/**
 * The settings `--set` takes, by group, for a command's --help: every row read from the
 * descriptors, so a setting added in core shows here without a change to the CLI.
 */
export function settingsHelp(entries: readonly SettingEntry[]): string {
  const info = settingsInfo();
  const keys = new Set(entries.map((e) => e.descriptor.key));
  const shorthands = info.shorthands.filter((s) => s.sets.every((k) => keys.has(k)));
  const presets = Object.keys(entries[0]?.descriptor.defaults ?? {});
  const sections = info.groups.map((g) => ({
    label: g.label,
    rows: [
      ...shorthands
        .filter((s) => s.group === g.id)
        .map((s) => [s.key, s.examples.join('|'), s.help]),
      ...rowsOf(entries.map((e) => e.descriptor).filter((d) => d.group === g.id)),
    ],
  }));
  const line = table(sections.flatMap((s) => s.rows));
  return [
    '',
    `Settings (--set key=value; defaults of ${presets.join(' / ')}):`,
    ...sections
      .filter((s) => s.rows.length > 0)
      .map((s) => ['', `${s.label}:`, ...s.rows.map(line)].join('\n')),
  ].join('\n');
}

/** Adds the settings table to a command's --help. */
export function addSettingsHelp(cmd: Command, only?: 'model'): Command {
  const entries = runSettings().filter((e) => !only || e.path[0] === only);
  return cmd.addHelpText('after', () => settingsHelp(entries));
}
