import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { EmbeddingMap } from '../core/api/contract.js';
import { packageRoot } from '../core/util/package-root.js';
import type { BenchResult } from './result.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `points` in ten Gaussian-ish blobs, as a map of that many images would come from the host. */
function syntheticMap(points: number): EmbeddingMap {
  let s = 99;
  const rng = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const normal = () => (rng() + rng() + rng() - 1.5) * 1.4;
  const labels = Array.from({ length: points }, (_, i) => i % 10);
  return {
    runId: 1,
    datasetId: 1,
    method: 'umap',
    classes: Array.from({ length: 10 }, (_, i) => `class ${i}`),
    ids: labels.map((_, i) => i),
    x: labels.map((l) => Math.cos(l) * 8 + normal()),
    y: labels.map((l) => Math.sin(l) * 8 + normal()),
    labels,
    train: labels.map(() => true),
    predicted: labels.map((l, i) => (i % 7 === 0 ? (l + 1) % 10 : l)),
    confidence: labels.map(() => 0.9),
    explained: null,
  };
}

/**
 * Runs in the page (plain JavaScript: this project is compiled without the DOM's types): `n`
 * zoom steps at the centre, then `n` steps of a drag, each followed by the next two animation
 * frames; returns the map's own redraw time and the whole frame's time for each.
 */
const MEASURE = `async (n) => {
  const c = document.querySelector('[data-testid="map-canvas"]');
  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const rect = c.getBoundingClientRect();
  const cx = rect.left + rect.width / 2;
  const cy = rect.top + rect.height / 2;
  const draw = [];
  const frame = [];
  const measure = async (input) => {
    const t0 = performance.now();
    input();
    await nextFrame();
    frame.push(performance.now() - t0);
    draw.push(Number(c.dataset.drawMs));
  };
  for (let i = 0; i < n; i++)
    await measure(() => c.dispatchEvent(new WheelEvent('wheel', {
      deltaY: i < n / 2 ? -120 : 120, clientX: cx, clientY: cy, bubbles: true, cancelable: true })));
  c.dispatchEvent(new MouseEvent('mousedown', { button: 0, clientX: cx, clientY: cy, bubbles: true }));
  for (let i = 0; i < n; i++)
    await measure(() => c.dispatchEvent(new MouseEvent('mousemove', {
      clientX: cx + 4 * i, clientY: cy + 2 * i, bubbles: true })));
  window.dispatchEvent(new MouseEvent('mouseup', { button: 0, clientX: cx, clientY: cy }));
  return { draw, frame };
}`;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const p95 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length * 0.95)]!;

/**
 * The real map screen of `svw serve` in headless Chromium, fed a map of `points` points: the time
 * of each redraw while zooming and panning (our drawing, measured in the page) and of each whole
 * frame (the next animation frame after the input, which includes the browser's painting).
 */
export async function benchMapDrawing(points: number, quick: boolean): Promise<BenchResult[]> {
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(`  no Chromium at ${CHROMIUM} (set CHROMIUM_PATH): map drawing skipped\n`);
    return [];
  }
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-map-'));
  const server = spawn(
    process.execPath,
    [path.join(packageRoot(), 'bin/svw.js'), 'serve', '--port', '0'],
    {
      env: { ...process.env, SVW_HOME: home },
    },
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const found = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(out)?.[0];
        if (!found) return;
        clearInterval(timer);
        resolve(found);
      }, 100);
      server.on('exit', () => {
        clearInterval(timer);
        reject(new Error('svw serve exited'));
      });
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const map = syntheticMap(points);
    await page.route('**/api/embeddingMap', (route) =>
      route.fulfill({ json: { ok: true, result: { state: 'ready', map } } }),
    );
    await page.goto(url);
    await page.goto(`${new URL(url).origin}/#/map?run=1`);
    await page.locator('[data-testid="map-canvas"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction('Number(document.querySelector("canvas")?.dataset.drawMs) > 0');
    const frames = quick ? 10 : 60;
    const timings = (await page.evaluate(`(${MEASURE})(${frames})`)) as {
      draw: number[];
      frame: number[];
    };
    const result = (name: string, values: number[]): BenchResult => ({
      name,
      backend: 'chromium canvas',
      batch: points,
      imagesPerSec: Math.round(points / (median(values) / 1000)),
      msPerBatch: Math.round(median(values) * 10) / 10,
      p95Ms: Math.round(p95(values) * 10) / 10,
    });
    return [
      result(`map redraw of ${points} points (zoom and pan)`, timings.draw),
      result(`map frame of ${points} points (input to next frame)`, timings.frame),
    ];
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}
