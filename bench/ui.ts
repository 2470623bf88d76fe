import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { openWorkbench } from '../core/store/workbench.js';
import type { BenchResult } from './result.js';
import { seedExperiments } from './seed-experiments.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CURVE_RUNS = 100;
const CURVE_POINTS = 10_000;
const BRUSH_RUNS = 10_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const result = (name: string, batch: number, ms: number): BenchResult => ({
  name,
  backend: 'chromium',
  batch,
  imagesPerSec: 0,
  msPerBatch: Math.round(ms * 10) / 10,
});

/** `svw serve` over a home, until stop(). */
async function serve(home: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/svw.js'), 'serve', '--port', '0'], {
    env: { ...process.env, SVW_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /https?:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.on('exit', (code) => reject(new Error(`svw serve exited with ${code}`)));
  });
  const done = new Promise((r) => child.once('exit', r));
  return { url, stop: async () => void (child.kill('SIGTERM'), await done) };
}

// Scripts that run in the page are text: this file is compiled without the DOM's types.

/** Milliseconds from opening Compare on 100 runs to the chart drawn with all their curves. */
async function compareChart(page: Page, base: string, ids: number[]): Promise<BenchResult[]> {
  // From the runs list with every run loaded (10,100 of them), as a user would open Compare.
  await page.goto(`${base}#/runs`);
  const all = (CURVE_RUNS + BRUSH_RUNS).toLocaleString('en-US');
  await page.locator('[data-testid="runs-count"]', { hasText: `${all} runs` }).waitFor();
  const hash = `#/compare?ids=${ids.join(',')}&metric=train_loss`;
  const { total, draws } = (await page.evaluate(`(async () => {
    performance.clearMeasures('svw:chart-draw');
    const start = performance.now();
    location.hash = ${JSON.stringify(hash)};
    for (;;) {
      const all = performance.getEntriesByName('svw:chart-draw');
      const done = all.find((e) => e.detail && e.detail.withData === ${CURVE_RUNS});
      if (done)
        return { total: done.startTime + done.duration - start, draws: all.map((e) => e.duration) };
      if (performance.now() - start > 180000)
        throw new Error('no draw with every curve after 180 s at ' + location.hash.slice(0, 60) +
          '; draws: ' + JSON.stringify(all.map((e) => e.detail)).slice(0, 400) +
          '; page: ' + document.querySelector('main').innerText.slice(0, 400));
      await new Promise((r) => setTimeout(r, 5));
    }
  })()`)) as { total: number; draws: number[] };
  // Redraw the full chart (another metric and back) to time a draw with every curve in hand.
  const redraw: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (const metric of ['val_top1_error', 'train_loss']) {
      await page.selectOption('[data-testid="compare-metric"]', metric);
      const last = `performance.getEntriesByName('svw:chart-draw').at(-1).duration`;
      if (metric === 'train_loss') redraw.push((await page.evaluate(last)) as number);
    }
  }
  return [
    result(
      `compare chart: open ${CURVE_RUNS} runs × ${CURVE_POINTS / 1000}k points to drawn`,
      CURVE_RUNS,
      total,
    ),
    result(
      `compare chart: one full redraw of ${CURVE_RUNS} train_loss curves`,
      CURVE_RUNS,
      median(redraw),
    ),
    result(
      `compare chart: the ${draws.length} draws while the curves arrived, in all`,
      CURVE_RUNS,
      draws.reduce((sum, d) => sum + d, 0),
    ),
  ];
}

/** A brush dragged along the first axis over 10,000 runs: redraw time, and to the table updated. */
async function parallelBrush(page: Page, base: string): Promise<BenchResult[]> {
  await page.goto(`${base}#/runs`);
  await page.fill('[data-testid="runs-filter"]', 'experiment = brush');
  // Waits by selector: the page's CSP forbids the eval that a waitForFunction string needs.
  await page.locator('[data-testid="runs-count"]', { hasText: /^10,000 runs$/ }).waitFor();
  await page.click('[data-testid="parallel-toggle"]');
  await page.waitForSelector('[data-testid="parallel-canvas"][data-shown="10000"]', {
    timeout: 120_000,
  });
  const box = (await page.locator('[data-testid="parallel-canvas"]').boundingBox())!;
  const x = box.x + 70;
  await page.evaluate(`performance.clearMeasures('svw:parallel-draw')`);
  await page.mouse.move(x, box.y + 60);
  await page.mouse.down();
  for (let y = 80; y <= 300; y += 10) await page.mouse.move(x, box.y + y);
  await page.mouse.up();
  const draws = (await page.evaluate(
    `performance.getEntriesByName('svw:parallel-draw').map((e) => e.duration)`,
  )) as number[];
  // From a brush's pointer events to the table narrowed and painted.
  const toTable: number[] = [];
  for (let k = 0; k < 8; k++) {
    const [y1, y2] = [box.y + 100 + 10 * k, box.y + 220 + 5 * k];
    toTable.push(
      (await page.evaluate(`(async () => {
        const canvas = document.querySelector('[data-testid="parallel-canvas"]');
        const count = document.querySelector('[data-testid="runs-count"]');
        const before = count.textContent;
        const at = (y) => ({ clientX: ${x}, clientY: y, pointerId: 1, bubbles: true });
        const t0 = performance.now();
        canvas.dispatchEvent(new PointerEvent('pointerdown', at(${y1})));
        canvas.dispatchEvent(new PointerEvent('pointermove', at(${y2})));
        canvas.dispatchEvent(new PointerEvent('pointerup', at(${y2})));
        while (count.textContent === before && performance.now() - t0 < 2000)
          await new Promise((r) => setTimeout(r, 0));
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t0;
      })()`)) as number,
    );
  }
  const runs = BRUSH_RUNS.toLocaleString('en-US');
  return [
    result(`parallel coordinates: brush redraw over ${runs} runs`, BRUSH_RUNS, median(draws)),
    result(
      'parallel coordinates: brush to the table narrowed and painted',
      BRUSH_RUNS,
      median(toTable),
    ),
  ];
}

/** The UI's figures, measured in headless Chromium against `svw serve` (the built app). */
export async function benchUi(quick: boolean): Promise<BenchResult[]> {
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(
      `  no Chromium at ${CHROMIUM}: the UI figures are skipped (apt-get install chromium, or CHROMIUM_PATH)\n`,
    );
    return [];
  }
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-ui-'));
  const wb = openWorkbench(home);
  let ids: number[];
  try {
    ids = seedExperiments(wb.db, CURVE_RUNS, {
      stepPoints: quick ? 2_000 : CURVE_POINTS,
      epochs: 30,
      experiment: 'curves',
    });
    seedExperiments(wb.db, BRUSH_RUNS, { experiment: 'brush', seed: 'brush' });
  } finally {
    wb.close();
  }
  const server = await serve(home);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url);
    const base = new URL(server.url).origin + '/';
    return [...(await compareChart(page, base, ids)), ...(await parallelBrush(page, base))];
  } finally {
    await browser.close();
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
