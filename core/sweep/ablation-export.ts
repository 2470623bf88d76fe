import { ABLATION_VARIANTS, type AblationRow, type AblationTable } from './ablation.js';

/** The ablation table as CSV and as Markdown, figures in percentage points with two decimals. */

const fixed = (v: number | null) => (v === null ? '' : v.toFixed(2));
const signed = (v: number | null) =>
  v === null ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(2)}`;
const meanStd = (s: AblationRow['top1']) =>
  s.mean === null ? '—' : `${s.mean.toFixed(2)}${s.std === null ? '' : ` ± ${s.std.toFixed(2)}`}`;
const labelOf = (name: string) => ABLATION_VARIANTS.find((v) => v.name === name)?.label ?? name;

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function ablationCsv(table: AblationTable): string {
  const header = [
    'variant',
    'settings',
    'runs',
    'top1_mean',
    'top1_std',
    'top5_mean',
    'top5_std',
    'delta_top1',
    'delta_top5',
    'paper_delta_top1',
    'paper_delta_top5',
  ];
  const lines = table.variants.map((r) =>
    [
      r.name,
      r.settings.join(' '),
      String(r.runIds.length),
      fixed(r.top1.mean),
      fixed(r.top1.std),
      fixed(r.top5.mean),
      fixed(r.top5.std),
      fixed(r.deltaTop1),
      fixed(r.deltaTop5),
      fixed(r.paperDeltaTop1),
      fixed(r.paperDeltaTop5),
    ]
      .map(csvField)
      .join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

export function ablationMarkdown(table: AblationTable): string {
  const rows = table.variants.map(
    (r) =>
      `| ${labelOf(r.name)} | ${r.runIds.length} | ${meanStd(r.top1)} | ${meanStd(r.top5)} | ${signed(r.deltaTop1)} | ${signed(r.deltaTop5)} | ${signed(r.paperDeltaTop1)} | ${signed(r.paperDeltaTop5)} |`,
  );
  const notes = ABLATION_VARIANTS.map((v) => `- ${v.label}: ${v.paper.note}.`);
  return [
    '| Variant | Runs | Top-1 error (%) | Top-5 error (%) | Δ top-1 | Δ top-5 | Paper Δ top-1 | Paper Δ top-5 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Errors are mean ± standard deviation over seeds, in percent; a change (Δ) is the variant’s error minus the baseline’s, in points. The paper’s changes (Krizhevsky et al., 2012):',
    '',
    ...notes,
    '',
  ].join('\n');
}
