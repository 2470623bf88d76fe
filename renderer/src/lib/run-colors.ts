/** Tableau 10: ten hues that stay apart for most kinds of colour vision. */
const BASE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/**
 * The colour of the i-th compared run. Past ten, hues step by the golden angle at alternating
 * lightness, so neighbours in the list never look alike; the dash pattern below tells apart
 * runs whose colours end up close.
 */
export function runColor(i: number): string {
  if (i < BASE.length) return BASE[i]!;
  const hue = Math.round((i * 137.508) % 360);
  const light = [42, 58, 34][i % 3];
  return `hsl(${hue} 65% ${light}%)`;
}

/** Solid for the first ten runs, then one dash pattern per further ten. */
export function runDash(i: number): number[] {
  const patterns = [[], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4]];
  return patterns[Math.floor(i / BASE.length) % patterns.length]!;
}

/** The colour with an alpha, for the faint raw curve behind a smoothed one. */
export function withAlpha(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const a = Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0');
    return `${color}${a}`;
  }
  return color.replace(/\)$/, ` / ${alpha})`);
}
