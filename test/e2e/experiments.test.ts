import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedExperiments } from '../../bench/seed-experiments.js';
import { discardAfterEpoch, finishRun, getRun, insertMetrics } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { createAblation } from '../../core/sweep/ablation.js';
import { createSweep } from '../../core/sweep/create.js';
import { judgeEpoch } from '../../core/sweep/early-stop.js';
import { seedDataset } from '../helpers/fake-jobs.js';
import { launchBrowser, screenshot, startServe, type Served } from './harness.js';

// Many experiments in the real UI, seeded straight into the database (training adds nothing
// here): a 300-run search, an ASHA sweep whose rungs the host's own ingest code decided, and an
// ablation study with its results.
let served: Served;
let browser: Browser;
let page: Page;
const ids = { asha: 0, ablation: 0, search: [] as number[] };
const pageErrors: string[] = [];

const testId = (id: string) => `[data-testid="${id}"]`;
const point = (key: string, epoch: number, value: number) => ({
  key,
  epoch,
  value,
  step: epoch * 10,
  wallTime: 1.7e9 + epoch,
});

function seed(home: string): void {
  const wb = openWorkbench(home);
  try {
    const datasetId = seedDataset(wb, 'tiny');
    ids.search = seedExperiments(wb.db, 300, { stepPoints: 80, epochs: 8 });
    // An ASHA sweep: six trials judged at epochs 1 and 3 (η = 3, up to 4 epochs).
    const asha = createSweep(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      name: 'lr search',
      spec: {
        method: 'random',
        settings: ['batch=16'],
        space: { lr: { min: 0.001, max: 0.1, scale: 'log' } },
        trials: 6,
        asha: { metric: 'val_top1_error', mode: 'min', grace: 1, eta: 3, maxEpochs: 4 },
      },
    });
    ids.asha = asha.sweepId;
    const errors = [0.6, 0.8, 0.5, 0.7, 0.45, 0.9];
    asha.runIds.forEach((run, i) => {
      for (const epoch of [1, 2, 3, 4]) {
        insertMetrics(wb.db, run, [point('val_top1_error', epoch, errors[i]! - 0.03 * epoch)]);
        const verdict = judgeEpoch(wb.db, run, epoch);
        if (verdict) {
          discardAfterEpoch(wb.db, run, epoch);
          finishRun(wb.db, run, 'pruned', { message: verdict.prune });
          return;
        }
        wb.db.prepare('UPDATE runs SET epochs_done = ? WHERE id = ?').run(epoch, run);
      }
      finishRun(wb.db, run, 'completed');
    });
    // The ablation study, two seeds, finished: LRN off costs 3 points.
    const ablation = createAblation(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      seeds: 2,
      epochs: 1,
    });
    ids.ablation = ablation.sweepId;
    ablation.runIds.forEach((run, i) => {
      const variant = getRun(wb.db, run)!.sweepTrial;
      const top1 = (variant === 'lrn-off' ? 0.44 : 0.41) + (i % 2) * 0.01;
      insertMetrics(wb.db, run, [
        point('val_top1_error', 1, top1),
        point('val_top5_error', 1, top1 / 3),
        ...(variant === 'baseline'
          ? [
              point('val_top1_error_10crop', 1, top1 - 0.02),
              point('val_top5_error_10crop', 1, top1 / 3 - 0.01),
            ]
          : []),
      ]);
      finishRun(wb.db, run, 'completed');
    });
  } finally {
    wb.close();
  }
}

beforeAll(async () => {
  served = await startServe(seed);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const countText = () => page.locator(testId('runs-count')).textContent();

describe('experiments at scale in a browser', () => {
  it('brushes the parallel coordinates, which narrows the table and saves as the same filter', async () => {
    await page.goto(served.url);
    await page.waitForURL(/#\/runs/);
    await page.fill(testId('runs-filter'), 'experiment = search');
    await expect.poll(countText).toBe('300 runs');
    await page.click(testId('parallel-toggle'));
    const canvas = page.locator(testId('parallel-canvas'));
    await expect.poll(() => canvas.getAttribute('data-shown')).toBe('300');
    // The first axis is the learning rate (log scale); drag over its upper half.
    const box = (await canvas.boundingBox())!;
    const x = box.x + 70;
    await page.mouse.move(x, box.y + 50);
    await page.mouse.down();
    await page.mouse.move(x, box.y + 120, { steps: 4 });
    await page.mouse.move(x, box.y + 170, { steps: 4 });
    await page.mouse.up();
    const shown = Number(await canvas.getAttribute('data-shown'));
    expect(shown).toBeGreaterThan(10);
    expect(shown).toBeLessThan(300);
    await expect.poll(countText).toBe(`${shown} of 300 runs (brushed)`);
    expect(Number(await canvas.getAttribute('data-draw-ms'))).toBeGreaterThan(0);
    await screenshot(page, '21-parallel-brushed');

    await page.click(testId('parallel-save'));
    await expect
      .poll(() => page.inputValue(testId('runs-filter')))
      .toMatch(
        /^\(experiment = search\) and params\.optim\.lr >= [\d.e-]+ and params\.optim\.lr <= [\d.e-]+$/,
      );
    // The saved filter selects exactly the runs the brush held.
    await expect.poll(countText).toBe(`${shown} runs`);
  });

  it('ranks the learning rate first in the importance panel, computed by the host', async () => {
    await page.fill(testId('runs-filter'), 'experiment = search');
    await expect.poll(countText).toBe('300 runs');
    await page.click(testId('importance-toggle'));
    await page.selectOption(testId('importance-metric'), 'val_top1_error');
    await page.click(testId('importance-compute'));
    const first = page.locator(testId('importance-row')).first();
    await expect.poll(() => first.textContent(), { timeout: 60_000 }).toMatch(/^optim\.lr/);
    await screenshot(page, '22-importance');
  });

  it('draws grouped curves: a mean line and a band per group', async () => {
    await page.goto(`${served.origin}/#/compare?ids=${ids.search.slice(0, 24).join(',')}`);
    const curves = page.locator(testId('compare-curves'));
    await expect.poll(() => curves.getAttribute('data-datasets')).toBe('24');
    await page.selectOption(testId('compare-group-by'), 'model.lrn.mode');
    // Three LRN modes: each a lower edge, an upper edge filled to it, and the mean.
    await expect.poll(() => curves.getAttribute('data-groups')).toBe('3');
    expect(await curves.getAttribute('data-datasets')).toBe('9');
    await page.selectOption(testId('compare-band'), 'minmax');
    await page.waitForSelector(testId('parallel-canvas'));
    await screenshot(page, '23-grouped-curves');
  });

  it('shows an ASHA sweep: its rungs, the pruned runs with their reasons and the best run', async () => {
    await page.goto(`${served.origin}/#/sweeps`);
    await page.click(`${testId('sweep-row')} >> text=lr search`);
    await page.waitForURL(new RegExp(`#/sweeps/${ids.asha}$`));
    await expect.poll(() => page.locator(testId('sweep-kind')).textContent()).toBe('asha');
    await expect.poll(() => page.locator(testId('sweep-rung')).count()).toBe(2);
    const reasons = await page.locator(testId('sweep-run-reason')).allTextContents();
    const pruned = reasons.map((r) => r.trim()).filter(Boolean);
    expect(pruned.length).toBeGreaterThan(0);
    for (const reason of pruned)
      expect(reason).toMatch(/^val_top1_error [\d.]+ at epoch [13], rung cutoff [\d.]+$/);
    await expect
      .poll(() => page.locator(testId('sweep-best')).textContent())
      .toMatch(/Best so far: .+ val_top1_error 0\.33/);
    await screenshot(page, '24-asha-sweep');
  });

  it('shows the ablation table and exports it', async () => {
    await page.goto(`${served.origin}/#/sweeps/${ids.ablation}`);
    const rows = page.locator(testId('ablation-row'));
    await expect.poll(() => rows.count()).toBe(7);
    const lrn = page.locator(`${testId('ablation-row')}[data-variant="lrn-off"]`);
    await expect.poll(() => lrn.textContent()).toMatch(/44\.50 ± 0\.71.*\+3\.00.*\+1\.40.*\+1\.20/);
    const download = page.waitForEvent('download');
    await page.click(testId('ablation-csv'));
    const file = await (await download).path();
    expect(readFileSync(file!, 'utf8').split('\n')[0]).toMatch(/^variant,settings,runs,top1_mean/);
    await screenshot(page, '25-ablation-table');
    expect(pageErrors).toEqual([]);
  });
});
