import { colorBuckets, MISSING, NO_COLOR, type Axis, type Brush } from './parallel-coords';

/**
 * Drawing parallel coordinates on canvas. Lines of one colour go into one path and one stroke,
 * so 10,000 runs take about a dozen strokes; the faint lines of every run sit on a canvas of
 * their own, drawn once per axis change, and a brush redraws only the chosen runs above them.
 */

export interface Layout {
  width: number;
  height: number;
  top: number;
  bottom: number;
  /** x of each axis, in CSS pixels. */
  xs: number[];
}

const PAD_X = 70;
const PAD_TOP = 34;
const PAD_BOTTOM = 30;

export function layoutFor(width: number, height: number, axes: number): Layout {
  const span = Math.max(1, width - 2 * PAD_X);
  const xs = Array.from({ length: axes }, (_, i) =>
    axes === 1 ? width / 2 : PAD_X + (span * i) / (axes - 1),
  );
  return { width, height, top: PAD_TOP, bottom: height - PAD_BOTTOM, xs };
}

/** y in pixels of a height 0…1 on the axes (missing values just below them). */
export const yOf = (l: Layout, p: number) => l.bottom - p * (l.bottom - l.top);

/** Sizes a canvas for the device's pixel ratio and returns its context in CSS pixels. */
export function prepare(canvas: HTMLCanvasElement, l: Layout): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(l.width * ratio);
  canvas.height = Math.round(l.height * ratio);
  canvas.style.width = `${l.width}px`;
  canvas.style.height = `${l.height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, l.width, l.height);
  return ctx;
}

function tracePaths(
  ctx: CanvasRenderingContext2D,
  axes: readonly Axis[],
  l: Layout,
  runs: Iterable<number>,
): void {
  ctx.beginPath();
  for (const i of runs) {
    for (let a = 0; a < axes.length; a++) {
      const y = yOf(l, axes[a]!.pos[i]!);
      if (a === 0) ctx.moveTo(l.xs[a]!, y);
      else ctx.lineTo(l.xs[a]!, y);
    }
  }
}

/** Every run, faint: the context the chosen ones stand out from. */
export function drawBackground(
  canvas: HTMLCanvasElement,
  axes: readonly Axis[],
  l: Layout,
  n: number,
): void {
  const ctx = prepare(canvas, l);
  if (axes.length === 0) return;
  ctx.strokeStyle = 'rgba(120, 130, 150, 0.16)';
  ctx.lineWidth = 1;
  tracePaths(ctx, axes, l, range(n));
  ctx.stroke();
}

function* range(n: number) {
  for (let i = 0; i < n; i++) yield i;
}

/** The runs a mask keeps, coloured by bucket, then the axes, their ticks and brushes on top. */
export function drawForeground(
  canvas: HTMLCanvasElement,
  axes: readonly Axis[],
  l: Layout,
  mask: Uint8Array,
  colors: Int16Array | null,
  brushes: ReadonlyMap<string, Brush>,
): number {
  const ctx = prepare(canvas, l);
  if (axes.length === 0) return 0;
  const buckets = colorBuckets();
  const groups: number[][] = Array.from({ length: buckets.length + 1 }, () => []);
  let shown = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    shown++;
    const b = colors ? colors[i]! : buckets.length - 1;
    groups[b < 0 ? buckets.length : b]!.push(i);
  }
  // Thinner and fainter as the lines get denser, so thousands still read as a distribution.
  ctx.lineWidth = shown > 2000 ? 0.6 : shown > 200 ? 1 : 1.6;
  ctx.globalAlpha = shown > 2000 ? 0.35 : shown > 200 ? 0.6 : 0.9;
  groups.forEach((runs, b) => {
    if (runs.length === 0) return;
    ctx.strokeStyle = b === buckets.length ? NO_COLOR : buckets[b]!;
    tracePaths(ctx, axes, l, runs);
    ctx.stroke();
  });
  ctx.globalAlpha = 1;
  drawAxes(ctx, axes, l, brushes);
  return shown;
}

function drawAxes(
  ctx: CanvasRenderingContext2D,
  axes: readonly Axis[],
  l: Layout,
  brushes: ReadonlyMap<string, Brush>,
): void {
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  axes.forEach((axis, a) => {
    const x = l.xs[a]!;
    const brush = brushes.get(axis.field);
    if (brush) {
      ctx.fillStyle = 'rgba(47, 102, 214, 0.18)';
      ctx.strokeStyle = 'rgba(47, 102, 214, 0.9)';
      const [y1, y2] = [yOf(l, brush.hi), yOf(l, brush.lo)];
      ctx.fillRect(x - 9, y1, 18, y2 - y1);
      ctx.strokeRect(x - 9, y1, 18, y2 - y1);
    }
    ctx.strokeStyle = '#39414f';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, l.top);
    ctx.lineTo(x, l.bottom);
    ctx.stroke();
    ctx.fillStyle = '#39414f';
    ctx.textAlign = 'center';
    ctx.fillText(axis.label, x, l.top - 20, 2 * 64);
    if (axis.scale === 'log') ctx.fillText('log', x, l.top - 8);
    ctx.textAlign = a === axes.length - 1 ? 'left' : 'right';
    const dx = a === axes.length - 1 ? 5 : -5;
    const every = Math.ceil(axis.ticks.length / Math.max(1, Math.floor((l.bottom - l.top) / 14)));
    axis.ticks.forEach((t, k) => {
      if (k % every !== 0) return;
      ctx.fillText(t.label.slice(0, 14), x + dx, yOf(l, t.pos));
    });
    if (axis.pos.some((p) => p === MISSING)) {
      ctx.fillStyle = '#8a93a5';
      ctx.fillText('none', x + dx, yOf(l, MISSING));
    }
  });
}
