/**
 * The embedding map's drawing and hit-testing, free of Vue and of the DOM: points are written
 * straight into an RGBA pixel buffer (one 32-bit store per pixel), which draws 100,000 points in
 * a few milliseconds where one canvas call per point takes a hundred times longer.
 */

/** Screen = data · scale + offset (y grows downward on screen, as on canvas). */
export interface View {
  scale: number;
  tx: number;
  ty: number;
}

/** Ten well-separated colours (Tableau 10), then the same darker for classes 11–20. */
const BASE: [number, number, number][] = [
  [78, 121, 167],
  [242, 142, 43],
  [225, 87, 89],
  [118, 183, 178],
  [89, 161, 79],
  [237, 201, 72],
  [176, 122, 161],
  [255, 157, 167],
  [156, 117, 95],
  [186, 176, 172],
];
export const PALETTE: [number, number, number][] = [
  ...BASE,
  ...BASE.map(([r, g, b]): [number, number, number] => [r * 0.6, g * 0.6, b * 0.6]),
].map(([r, g, b]): [number, number, number] => [Math.round(r), Math.round(g), Math.round(b)]);

export const CORRECT: [number, number, number] = [31, 138, 76];
export const WRONG: [number, number, number] = [196, 53, 43];

/** A colour as the little-endian 32-bit RGBA word an ImageData's Uint32Array view holds. */
export function packColor([r, g, b]: [number, number, number], alpha = 255): number {
  return ((alpha << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export function classColor(label: number): [number, number, number] {
  return PALETTE[label % PALETTE.length]!;
}

/** A CSS colour for a class (the legend). */
export function cssColor(rgb: [number, number, number]): string {
  return `rgb(${rgb.join(', ')})`;
}

/** The view that fits every point in width × height with a margin in pixels. */
export function fitView(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  width: number,
  height: number,
  margin = 12,
): View {
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < x.length; i++) {
    minX = Math.min(minX, x[i]!);
    maxX = Math.max(maxX, x[i]!);
    minY = Math.min(minY, y[i]!);
    maxY = Math.max(maxY, y[i]!);
  }
  if (!Number.isFinite(minX)) return { scale: 1, tx: width / 2, ty: height / 2 };
  const spanX = Math.max(maxX - minX, 1e-9);
  const spanY = Math.max(maxY - minY, 1e-9);
  const scale = Math.min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY);
  return {
    scale,
    tx: width / 2 - ((minX + maxX) / 2) * scale,
    ty: height / 2 - ((minY + maxY) / 2) * scale,
  };
}

/** Zooms by `factor` keeping the data under screen point (sx, sy) where it is. */
export function zoomAt(view: View, factor: number, sx: number, sy: number): View {
  return {
    scale: view.scale * factor,
    tx: sx - (sx - view.tx) * factor,
    ty: sy - (sy - view.ty) * factor,
  };
}

export interface DrawInput {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Packed colour of each point. */
  colors: Uint32Array;
  /** Points drawn on top and larger (a selection, the hovered point); others fade when any. */
  highlighted?: Uint8Array | null;
  background: number;
  /** Side of a point's square, in pixels. */
  size: number;
}

/** Draws every point into `pixels` (a width × height RGBA buffer viewed as 32-bit words). */
export function drawPoints(
  pixels: Uint32Array,
  width: number,
  height: number,
  view: View,
  input: DrawInput,
): void {
  pixels.fill(input.background);
  const { x, y, colors, highlighted, size } = input;
  const half = size >> 1;
  const faded = highlighted ? 0.25 : 1;
  const square = (i: number, side: number, h: number, color: number) => {
    const cx = Math.round(x[i]! * view.scale + view.tx) - h;
    const cy = Math.round(y[i]! * view.scale + view.ty) - h;
    if (cx >= width || cy >= height || cx + side <= 0 || cy + side <= 0) return;
    const x0 = Math.max(0, cx);
    const x1 = Math.min(width, cx + side);
    for (let py = Math.max(0, cy); py < Math.min(height, cy + side); py++)
      pixels.fill(color, py * width + x0, py * width + x1);
  };
  const blend = (c: number) => {
    // Fading toward the background keeps colours readable without alpha compositing per pixel.
    const bg = input.background;
    const mix = (shift: number) =>
      Math.round(((c >>> shift) & 255) * faded + ((bg >>> shift) & 255) * (1 - faded));
    return ((255 << 24) | (mix(16) << 16) | (mix(8) << 8) | mix(0)) >>> 0;
  };
  for (let i = 0; i < x.length; i++) {
    if (highlighted?.[i]) continue;
    square(i, size, half, faded === 1 ? colors[i]! : blend(colors[i]!));
  }
  if (!highlighted) return;
  const outline = packColor([29, 35, 48]);
  for (let i = 0; i < x.length; i++) {
    if (!highlighted[i]) continue;
    square(i, size + 2, half + 1, outline);
    square(i, size, half, colors[i]!);
  }
}

/** A uniform grid over the points in data space, for finding the point under the cursor. */
export class PointGrid {
  private readonly cells = new Map<number, number[]>();
  private readonly cell: number;
  private readonly minX: number;
  private readonly minY: number;

  constructor(
    private readonly x: ArrayLike<number>,
    private readonly y: ArrayLike<number>,
    cellsPerSide = 256,
  ) {
    let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < x.length; i++) {
      minX = Math.min(minX, x[i]!);
      maxX = Math.max(maxX, x[i]!);
      minY = Math.min(minY, y[i]!);
      maxY = Math.max(maxY, y[i]!);
    }
    this.minX = Number.isFinite(minX) ? minX : 0;
    this.minY = Number.isFinite(minY) ? minY : 0;
    this.cell = Math.max((maxX - minX) / cellsPerSide, (maxY - minY) / cellsPerSide, 1e-9);
    for (let i = 0; i < x.length; i++) {
      const key = this.key(this.col(x[i]!), this.col(y[i]!, true));
      const list = this.cells.get(key);
      if (list) list.push(i);
      else this.cells.set(key, [i]);
    }
  }

  private col(v: number, isY = false): number {
    return Math.floor((v - (isY ? this.minY : this.minX)) / this.cell);
  }

  private key(cx: number, cy: number): number {
    return cx * 1_000_003 + cy;
  }

  /** The point nearest to screen (sx, sy) within `radius` pixels, or -1. */
  nearest(view: View, sx: number, sy: number, radius: number): number {
    const dx = (sx - view.tx) / view.scale;
    const dy = (sy - view.ty) / view.scale;
    const r = radius / view.scale;
    let best = -1;
    let bestD = r * r;
    for (let cx = this.col(dx - r); cx <= this.col(dx + r); cx++)
      for (let cy = this.col(dy - r, true); cy <= this.col(dy + r, true); cy++)
        for (const i of this.cells.get(this.key(cx, cy)) ?? []) {
          const d = (this.x[i]! - dx) ** 2 + (this.y[i]! - dy) ** 2;
          if (d < bestD || (d === bestD && i < best)) [best, bestD] = [i, d];
        }
    return best;
  }
}

/** The points whose screen position lies inside a polygon of screen points (even–odd rule). */
export function pointsInPolygon(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  view: View,
  polygon: [number, number][],
): number[] {
  if (polygon.length < 3) return [];
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [px, py] of polygon) {
    minX = Math.min(minX, px);
    maxX = Math.max(maxX, px);
    minY = Math.min(minY, py);
    maxY = Math.max(maxY, py);
  }
  const inside: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const sx = x[i]! * view.scale + view.tx;
    const sy = y[i]! * view.scale + view.ty;
    if (sx < minX || sx > maxX || sy < minY || sy > maxY) continue;
    let odd = false;
    for (let a = 0, b = polygon.length - 1; a < polygon.length; b = a++) {
      const [ax, ay] = polygon[a]!;
      const [bx, by] = polygon[b]!;
      if (ay > sy !== by > sy && sx < ((bx - ax) * (sy - ay)) / (by - ay) + ax) odd = !odd;
    }
    if (odd) inside.push(i);
  }
  return inside;
}
