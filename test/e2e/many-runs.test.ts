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

  it('filters and groups all 10,000 runs', async () => {
    await page.fill(testId('runs-filter'), 'params.optim.lr >= 0.01');
    await expect.poll(countText).toMatch(/5,000 runs/);
    await page.fill(testId('runs-filter'), 'params.optim.lr >=');
    await page.waitForSelector(testId('runs-filter-error'));
    await page.fill(testId('runs-filter'), '');
    await expect.poll(countText).toMatch(/10,000 runs/);
    await page.click(testId('group-toggle'));
    await expect.poll(() => page.locator(testId('run-group')).count()).toBeGreaterThan(0);
    await screenshot(page, '12-runs-10k-grouped');
  });
});
