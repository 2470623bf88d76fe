import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRuns } from '../../bench/seed-runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { launchBrowser, screenshot, startServe, type Served } from './harness.js';

// A long-lived workbench: 10,000 runs in the real UI. The table must stay virtual (only the rows
// in view exist) and sorting, filtering and grouping must work over all of them.
const RUNS = 10_000;
let served: Served;
let browser: Browser;
let page: Page;

const testId = (id: string) => `[data-testid="${id}"]`;
/** A list of 10,000 runs sorted on the host and sent whole can take seconds on a busy machine. */
const WAIT = { timeout: 30_000 };
const rowsInDom = () => page.locator(testId('run-row')).count();
const countText = () => page.locator(testId('runs-count')).textContent();

beforeAll(async () => {
  served = await startServe((home) => {
    const wb = openWorkbench(home);
    try {
      seedRuns(wb.db, RUNS);
    } finally {
      wb.close();
    }
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

describe('the runs list with 10,000 runs', () => {
  it('renders only the rows in view and reaches the last run by scrolling', async () => {
    await page.goto(served.url);
    await page.waitForURL(/#\/runs/);
    await expect.poll(countText, { timeout: 60_000 }).toMatch(/10,000 runs/);
    const visible = await rowsInDom();
    expect(visible).toBeGreaterThan(5);
    expect(visible).toBeLessThan(150);
    // Newest first: the oldest run, run-0, is at the very bottom.
    await page.locator(testId('runs-table')).evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(() => page.locator(`${testId('run-row')}[data-run-id="1"]`).count()).toBe(1);
    expect(await rowsInDom()).toBeLessThan(150);
    await screenshot(page, '11-runs-10k-bottom');
  });

  it('sorts all 10,000 runs by a metric, both ways, from the first row to the last', async () => {
    const top1 = async () =>
      (await page.locator(testId('run-top1')).allTextContents()).map((t) => Number(t));
    const header = page.locator('th', { has: page.getByRole('button', { name: /Top-1/ }) });
    const scroller = page.locator(testId('runs-table'));
    await scroller.evaluate((el) => (el.scrollTop = 0));
    // The seeded errors are 0.000 … 0.999, ten runs each, in no order by id.
    await header.getByRole('button').click();
    await expect.poll(() => header.getAttribute('aria-sort'), WAIT).toBe('ascending');
    await expect.poll(async () => (await top1())[0], WAIT).toBe(0);
    const first = await top1();
    expect(first).toEqual([...first].sort((a, b) => a - b));
    await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(async () => (await top1()).at(-1), WAIT).toBe(99.9);
    const last = await top1();
    expect(last).toEqual([...last].sort((a, b) => a - b));
    await scroller.evaluate((el) => (el.scrollTop = 0));

    await header.getByRole('button').click();
    await expect.poll(() => header.getAttribute('aria-sort'), WAIT).toBe('descending');
    await expect.poll(async () => (await top1())[0], WAIT).toBe(99.9);
    const descending = await top1();
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    await screenshot(page, '12-runs-10k-sorted');
    // Back to newest first for what follows.
    await page
      .locator('th', { has: page.getByRole('button', { name: /^ID/ }) })
      .getByRole('button')
      .click();
    await expect
      .poll(() => page.locator(testId('run-row')).first().getAttribute('data-run-id'), WAIT)
      .toBe(String(RUNS));
  });

  it('filters and groups all 10,000 runs', async () => {
    await page.fill(testId('runs-filter'), 'params.optim.lr >= 0.01');
    await expect.poll(countText, WAIT).toMatch(/5,000 runs/);
    await page.fill(testId('runs-filter'), 'params.optim.lr >=');
    await page.waitForSelector(testId('runs-filter-error'));
    await page.fill(testId('runs-filter'), '');
    await expect.poll(countText, WAIT).toMatch(/10,000 runs/);
    await page.click(testId('group-toggle'));
    await expect.poll(() => page.locator(testId('run-group')).count(), WAIT).toBeGreaterThan(0);
    await screenshot(page, '13-runs-10k-grouped');
  });
});
