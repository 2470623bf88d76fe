import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_SMALL, tempDir } from '../helpers/cli.js';
import { launchBrowser, screenshot, startServe, type Served } from './harness.js';

// One workbench, one browser, one story: a newcomer starts the demo, watches it train, inspects
// the run, trains a second run, compares them, searches by image and imports a folder.
let served: Served;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const folder = tempDir('svw-e2e-import-');

const testId = (id: string) => `[data-testid="${id}"]`;
const count = async (selector: string) => page.locator(selector).count();
const numberIn = async (selector: string) =>
  Number((await page.locator(selector).first().textContent())?.replace(/[^\d.]/g, '') ?? NaN);

beforeAll(async () => {
  served = await startServe();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  folder.cleanup();
});

describe('the workbench in a browser', () => {
  it('refuses requests without the token or from another origin', async () => {
    const api = `${served.origin}/api/info`;
    const json = { 'content-type': 'application/json' };
    expect((await fetch(`${served.origin}/`)).status).toBe(403);
    expect((await fetch(api, { method: 'POST', headers: json, body: '{}' })).status).toBe(403);
    const other = await fetch(api, {
      method: 'POST',
      headers: { ...json, 'x-svw-token': served.token, origin: 'http://evil.example' },
      body: '{}',
    });
    expect(other.status).toBe(403);
    const ok = await fetch(api, {
      method: 'POST',
      headers: { ...json, 'x-svw-token': served.token },
      body: '{}',
    });
    expect(ok.status).toBe(200);
  });

  it('opens on the first-run screen and starts the demo, whose curve updates live', async () => {
    await page.goto(served.url);
    await page.waitForSelector(testId('start-demo'));
    await screenshot(page, '01-first-run');
    await page.click(testId('start-demo'));
    await page.waitForURL(/#\/runs\/\d+/, { timeout: 120_000 });
    // The loss curve gains points while the run trains, without reloading the page.
    await expect
      .poll(() => numberIn(testId('curve-points')), { timeout: 180_000 })
      .toBeGreaterThan(0);
    const first = await numberIn(testId('curve-points'));
    await expect
      .poll(() => numberIn(testId('curve-points')), { timeout: 120_000 })
      .toBeGreaterThan(first);
    await screenshot(page, '02-demo-training');
    await expect
      .poll(() => page.locator(testId('run-status')).first().textContent(), { timeout: 360_000 })
      .toMatch(/completed/);
  });

  it('shows the run: per-class errors, the confusion matrix and the conv1 filters', async () => {
    await page.waitForSelector(testId('curves-chart'));
    await screenshot(page, '03-run-curves');
    await page
      .getByRole('tab', { name: /per-class/i })
      .first()
      .click();
    await page.waitForSelector(testId('per-class-chart'));
    await page
      .getByRole('tab', { name: /confusion/i })
      .first()
      .click();
    const matrix = page.locator(testId('confusion-matrix'));
    await matrix.waitFor();
    // Something was drawn: the heatmap canvas is not blank.
    const painted = await matrix.evaluate((canvas: HTMLCanvasElement) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let nonBlank = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) nonBlank++;
      return nonBlank;
    });
    expect(painted).toBeGreaterThan(0);
    expect(await page.locator(`${testId('top-confusions')} li`).count()).toBeGreaterThan(0);
    await screenshot(page, '04-run-confusion');
    await page
      .getByRole('tab', { name: /filters/i })
      .first()
      .click();
    const filters = page.locator(testId('conv1-filters'));
    await filters.waitFor();
    await expect
      .poll(() => filters.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBeGreaterThan(0);
    await screenshot(page, '05-run-filters');
  });

  it('trains a second run from the New run form and compares the two', async () => {
    await page.goto(`${served.origin}/#/new`);
    await page.waitForSelector(testId('new-run-dataset'));
    await page.selectOption(testId('new-run-preset'), 'alexnet-cifar');
    await page.fill(testId('field-epochs'), '1');
    await page.fill(testId('field-batchSize'), '64');
    await page.waitForSelector(testId('schedule-preview'));
    await screenshot(page, '06-new-run');
    await page.click(testId('start-button'));
    // Beside the other test files' training workers the host can take a while to answer.
    await page.waitForURL(/#\/runs\/\d+/, { timeout: 120_000 });
    await expect
      .poll(() => page.locator(testId('run-status')).first().textContent(), { timeout: 300_000 })
      .toMatch(/completed/);

    await page.goto(`${served.origin}/#/runs`);
    await page.waitForSelector(testId('run-row'));
    expect(await count(testId('run-row'))).toBe(2);
    await screenshot(page, '07-runs-list');
    const boxes = page.locator(testId('run-select'));
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.click(testId('compare-button'));
    await page.waitForURL(/#\/compare\?ids=/);
    await page.waitForSelector(testId('compare-curves'));
    await page.waitForSelector(`${testId('params-table')} tr`);
    const allRows = await count(`${testId('params-table')} tbody tr`);
    await page.check(testId('diff-only'));
    // The two runs differ in epochs (and little else): "differences only" hides the rest.
    await expect.poll(() => count(`${testId('params-table')} tbody tr`)).toBeLessThan(allRows);
    expect(await page.locator(testId('params-table')).textContent()).toContain('epochs');
    await page.waitForSelector(testId('class-diff'));
    await screenshot(page, '08-compare');
  });

  it('searches by a validation image and shows its nearest neighbours', async () => {
    await page.goto(`${served.origin}/#/retrieval`);
    await page.waitForSelector(testId('retrieval-run'));
    const demoRun = await page
      .locator(`${testId('retrieval-run')} option`)
      .evaluateAll((options) =>
        options.map((o) => (o as HTMLOptionElement).value).filter((v) => v !== ''),
      );
    await page.selectOption(testId('retrieval-run'), demoRun[demoRun.length - 1]!);
    await page.click(testId('build-index'));
    await page.waitForSelector(`${testId('retrieval-index')} option:not([value=""])`, {
      state: 'attached',
      timeout: 180_000,
    });
    await page.click(testId('random-query'));
    await page.waitForSelector(testId('neighbour'));
    expect(await count(testId('neighbour'))).toBeGreaterThanOrEqual(5);
    await expect(page.locator(testId('precision-at-k')).textContent()).resolves.toMatch(/P@\d+/);
    // Searching from a neighbour makes it the query.
    await page.locator(testId('neighbour')).first().click();
    await page.waitForSelector(testId('query-image'));
    await screenshot(page, '09-retrieval');
  });

  it('imports a folder and reports the bad file it skipped', async () => {
    for (const cls of ['cat', 'dog']) {
      const src = path.join(CIFAR_SMALL, 'train', cls);
      mkdirSync(path.join(folder.dir, cls));
      for (const file of readdirSync(src).slice(0, 6))
        copyFileSync(path.join(src, file), path.join(folder.dir, cls, file));
    }
    writeFileSync(path.join(folder.dir, 'cat', 'not-an-image.jpg'), 'plain text, not a JPEG');
    await page.goto(`${served.origin}/#/datasets`);
    await page.fill(testId('import-path'), folder.dir);
    await page.fill(testId('import-name'), 'e2e-pets');
    await page.click(testId('import-button'));
    await page.waitForSelector(testId('import-result'), { timeout: 120_000 });
    const skipped = page.locator(testId('skipped-file'));
    await expect.poll(() => skipped.count()).toBe(1);
    expect(await skipped.first().textContent()).toContain('not-an-image.jpg');
    await screenshot(page, '10-import');
    expect(await count(testId('dataset-row'))).toBe(2);
  });

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
