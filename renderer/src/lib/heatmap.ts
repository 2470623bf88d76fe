import type { ConfusionMatrix } from './confusion';

export type ColorScale = 'linear' | 'log';

/** Shares below 10^−LOG_DECADES draw as the faintest visible colour on the log scale. */
const LOG_DECADES = 4;
/** The faintest non-zero intensity, so one stray image is still visible against empty cells. */
const MIN_VISIBLE = 0.06;

/** Colour intensity 0..1 of a row share; exactly 0 stays white on both scales. */
export function intensity(share: number, scale: ColorScale): number {
  if (!(share > 0)) return 0;
  const t = scale === 'linear' ? share : (Math.log10(share) + LOG_DECADES) / LOG_DECADES;
  return Math.min(1, Math.max(MIN_VISIBLE, t));
}

// A sequential white → blue → navy ramp (ColorBrewer "Blues"-like), interpolated linearly.
const STOPS: [number, number, number][] = [
  [255, 255, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

/** RGB of an intensity 0..1 on the ramp. */
export function rampColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(Math.floor(x), STOPS.length - 2);
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/**
 * Fills RGBA pixels, one per cell (row = true class, column = predicted), row-normalised. The
 * caller scales the n×n image to the canvas, which is what keeps 1,000² cells fast to draw.
 */
export function paintCells(m: ConfusionMatrix, scale: ColorScale, rgba: Uint8ClampedArray): void {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) lut.set(rampColor(k / 255), k * 3);
  const { n, counts, rowTotals } = m;
  for (let t = 0; t < n; t++) {
    const total = rowTotals[t]!;
    for (let p = 0; p < n; p++) {
      const cell = t * n + p;
      const k = total > 0 ? Math.round(intensity(counts[cell]! / total, scale) * 255) * 3 : 0;
      rgba[cell * 4] = lut[k]!;
      rgba[cell * 4 + 1] = lut[k + 1]!;
      rgba[cell * 4 + 2] = lut[k + 2]!;
      rgba[cell * 4 + 3] = 255;
    }
  }
}

/** What part of the matrix is shown: zoom ≥ 1 and the cell coordinate at the top-left corner. */
export interface View {
  zoom: number;
  x: number;
  y: number;
}

export const FULL_VIEW: View = { zoom: 1, x: 0, y: 0 };

/** Deepest zoom: about eight cells across, whatever the class count. */
export function maxZoom(n: number): number {
  return Math.max(1, n / 8);
}

/** On-screen size of one cell, in CSS pixels, for a square canvas of `size` pixels. */
export function cellPx(n: number, size: number, zoom: number): number {
  return (size / n) * zoom;
}

/** Keeps zoom within 1..maxZoom and the visible window inside the matrix. */
export function clampView(v: View, n: number): View {
  const zoom = Math.min(maxZoom(n), Math.max(1, v.zoom));
  const span = n / zoom;
  const clamp = (c: number) => Math.min(Math.max(c, 0), n - span);
  return { zoom, x: clamp(v.x), y: clamp(v.y) };
}

/** Zooms by `factor` keeping the point under (px, py) where it is, as map viewers do. */
export function zoomAt(
  v: View,
  factor: number,
  px: number,
  py: number,
  n: number,
  size: number,
): View {
  const before = cellPx(n, size, v.zoom);
  const cx = v.x + px / before;
  const cy = v.y + py / before;
  const zoom = Math.min(maxZoom(n), Math.max(1, v.zoom * factor));
  const after = cellPx(n, size, zoom);
  return clampView({ zoom, x: cx - px / after, y: cy - py / after }, n);
}

/** Moves the window so the content follows a drag of (dx, dy) pixels. */
export function panBy(v: View, dx: number, dy: number, n: number, size: number): View {
  const c = cellPx(n, size, v.zoom);
  return clampView({ zoom: v.zoom, x: v.x - dx / c, y: v.y - dy / c }, n);
}

/** The cell under canvas pixel (px, py), or null outside the matrix. */
export function cellAt(
  v: View,
  px: number,
  py: number,
  n: number,
  size: number,
): { row: number; col: number } | null {
  if (px < 0 || py < 0 || px >= size || py >= size) return null;
  const c = cellPx(n, size, v.zoom);
  const col = Math.floor(v.x + px / c);
  const row = Math.floor(v.y + py / c);
  return row >= 0 && row < n && col >= 0 && col < n ? { row, col } : null;
}

/** A view centred on one cell, zoomed so about `span` cells fit across (never zooming out). */
export function focusCell(v: View, row: number, col: number, n: number, span = 24): View {
  const zoom = Math.max(v.zoom, Math.min(maxZoom(n), n / span));
  const half = n / zoom / 2;
  return clampView({ zoom, x: col + 0.5 - half, y: row + 0.5 - half }, n);
}
