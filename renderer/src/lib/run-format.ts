/** A share (0..1) as a percentage with one decimal: 0.1234 → "12.3%". */
export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v)
    ? '—'
    : `${(v * 100).toFixed(digits)}%`;
}

/** A number with three significant digits, exponent form only for very small or large ones. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** An ISO timestamp in the reader's locale, to the second. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** The message of anything thrown, for showing to the user. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What to show for a caught error: its message (an ApiError's is the host's own words). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
