import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, svwJson } from '../helpers/cli.js';
import { launchBrowser, screenshot, startServe, type Served } from './harness.js';

// A workbench with one small trained run on the bundled demo images and its fc7 index: the map
// is drawn, the lasso selects, a click searches, and a review's relabel becomes a new version.
let served: Served;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const testId = (id: string) => `[data-testid="${id}"]`;

beforeAll(async () => {
  served = await startServe((home) => {
    const env = { SVW_HOME: home };
    svwJson(
      ['dataset', 'import', path.join(ROOT, 'demo/cifar10-demo'), '--name', 'demo', '--json'],
      env,
    );
    const tiny = ['conv1.filters=16', 'conv2.filters=16', 'conv3.filters=16', 'conv4.filters=16'];
    const settings = [
      ...tiny,
      'conv5.filters=16',
      'fc=64,64',
      'batch=64',
      'optimizer=adam',
      'lr=0.002',
    ];
    const run = svwJson<{ runId: number }>(
      [
        'train',
        '--dataset',
        'demo',
        '--preset',
        'alexnet-cifar',
        '--epochs',
        '2',
        ...settings.flatMap((s) => ['--set', s]),
        '--json',
      ],
      env,
    );
    svwJson(['index', 'build', String(run.runId), '--split', 'all', '--json'], env);
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(served.url);
  // The app's first navigation ends before the tests change the route, or it would undo theirs.
  await page.waitForSelector(testId('runs-count'));
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

/** A point of the canvas (CSS pixels from its corner) where a point is drawn, near the centre. */
async function paintedPoint(): Promise<[number, number]> {
  return page.locator(testId('map-canvas')).evaluate((canvas: HTMLCanvasElement) => {
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const ratio = window.devicePixelRatio || 1;
    const [cx, cy] = [canvas.width / 2, canvas.height / 2];
    let best: [number, number] = [-1, -1];
    let bestD = Infinity;
    for (let y = 1; y < canvas.height - 1; y++)
      for (let x = 1; x < canvas.width - 1; x++) {
        const i = 4 * (y * canvas.width + x);
        // The middle of a drawn square: not white, and so are its neighbours.
        const inked = (j: number) => data[j]! < 240 || data[j + 1]! < 240 || data[j + 2]! < 240;
        if (!inked(i) || !inked(i - 4) || !inked(i + 4)) continue;
        const d = (x - cx) ** 2 + (y - cy) ** 2;
        if (d < bestD) [best, bestD] = [[x / ratio, y / ratio], d];
      }
    return best;
  });
}

describe('seeing the data through the network', () => {
  it('draws the map of every indexed image', async () => {
    await page.goto(`${served.origin}/#/map?run=1`);
    const canvas = page.locator(testId('map-canvas'));
    await canvas.waitFor({ timeout: 180_000 });
    expect(Number(await canvas.getAttribute('data-points'))).toBe(1200);
    await expect.poll(async () => (await paintedPoint())[0]).toBeGreaterThan(0);
    expect(await page.locator(testId('map-legend')).locator('li').count()).toBe(10);
    await screenshot(page, 'data-01-map');
  });

  it('shows the image under the cursor and selects with the lasso', async () => {
    const canvas = page.locator(testId('map-canvas'));
    const box = (await canvas.boundingBox())!;
    const [px, py] = await paintedPoint();
    await page.mouse.move(box.x + px, box.y + py);
    await page.locator(testId('map-hover')).waitFor();
    await page.click(testId('map-lasso'));
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(cx - 200, cy - 150);
    await page.mouse.down();
    for (const [dx, dy] of [
      [200, -150],
      [200, 150],
      [-200, 150],
      [-200, -150],
    ] as const)
      await page.mouse.move(cx + dx, cy + dy, { steps: 4 });
    await page.mouse.up();
    const heading = page.locator(`${testId('map-selection')} h3`);
    await heading.waitFor();
    const selected = Number((await heading.textContent())!.replace(/\D/g, ''));
    expect(selected).toBeGreaterThan(0);
    expect(selected).toBeLessThan(1200);
    await screenshot(page, 'data-02-lasso');
    await page.click(testId('map-lasso'));
  });

  it('searches the nearest neighbours of a clicked image', async () => {
    const box = (await page.locator(testId('map-canvas')).boundingBox())!;
    const [px, py] = await paintedPoint();
    await page.mouse.click(box.x + px, box.y + py);
    await page.waitForURL(/#\/retrieval\?run=1&image=\d+/);
    const image = Number(/image=(\d+)/.exec(page.url())![1]);
    await expect
      .poll(() => page.locator(testId('neighbour')).count(), { timeout: 120_000 })
      .toBeGreaterThan(0);
    const alt = await page.locator(testId('query-image')).first().getAttribute('alt');
    expect(alt).toContain(`image ${image},`);
    await screenshot(page, 'data-03-retrieval');
  });

  it('relabels from the review list into a new dataset version', async () => {
    await page.goto(`${served.origin}/#/review?run=1`);
    const list = page.locator(`${testId('label-errors')} li`);
    await expect.poll(() => list.count(), { timeout: 180_000 }).toBeGreaterThan(0);
    const first = list.first();
    const options = await first
      .locator(`${testId('relabel-select')} option:not([disabled])`)
      .allTextContents();
    const target = options.find((o) => o.trim() !== 'relabel…')!.trim();
    await first.locator(testId('relabel-select')).selectOption({ label: target });
    await page.locator(testId('review-pending')).waitFor();
    expect(await page.locator(testId('review-pending')).textContent()).toContain('1 to relabel');
    await screenshot(page, 'data-04-review');
    await page.click(testId('create-version'));
    await expect
      .poll(() =>
        page
          .locator(testId('version-created'))
          .textContent()
          .catch(() => ''),
      )
      .toContain('version 2');

    await page.goto(`${served.origin}/#/datasets/1`);
    const row = page.locator(testId('dataset-version-2'));
    await row.waitFor();
    await row.click();
    const diff = page.locator(`${testId('version-diff')} li`);
    await expect.poll(() => diff.count()).toBe(1);
    expect(await diff.first().textContent()).toContain(`→ ${target}`);
    await screenshot(page, 'data-05-version');
    expect(pageErrors).toEqual([]);
  });
});
