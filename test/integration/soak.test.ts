import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../core/data/import.js';
import { forkJobHost } from '../../core/jobs/hosts/fork.js';
import { Scheduler } from '../../core/jobs/scheduler.js';
import { insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { ROOT, tempDir } from '../helpers/cli.js';

/**
 * A soak: many short training jobs (a tiny net on 20 images, one epoch each) through one
 * scheduler and real worker processes, two at a time. Afterwards no worker process is left, the
 * host holds no more file handles than before, and its memory has stopped growing. Each job costs
 * about two seconds of worker start-up on two cores, so the suite runs 30;
 * `SVW_SOAK_JOBS=200 npx vitest run test/integration/soak.test.ts` runs the full soak.
 */
const JOBS = Number(process.env.SVW_SOAK_JOBS ?? 30);
const TINY = [
  'epochs=1',
  'batch=8',
  'fc=16,16',
  ...[1, 2, 3, 4, 5].map((i) => `conv${i}.filters=8`),
];

/** Processes this test process has started that are still alive (ps itself aside). */
const children = () => {
  try {
    return execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((name) => name.trim() !== '' && name.trim() !== 'ps').length;
  } catch {
    return 0; // ps exits 1 when it lists nothing
  }
};
const openFiles = () => readdirSync('/proc/self/fd').length;

describe(`a soak of ${JOBS} short jobs`, () => {
  const home = tempDir('svw-soak-');
  const wb = openWorkbench(home.dir);
  afterAll(() => {
    wb.close();
    home.cleanup();
  });

  it('completes them all and leaks no processes, file handles or memory', async () => {
    const { id: datasetId } = await importDataset(
      wb.db,
      path.join(ROOT, 'demo/cifar10-demo'),
      { name: 'tiny', maxPerClass: 2 },
      wb.paths,
    );
    const runIds = Array.from({ length: JOBS }, () => {
      const { config } = prepareRun(wb.db, {
        dataset: datasetId,
        preset: 'alexnet-cifar',
        settings: TINY,
      });
      return insertRun(wb.db, { experiment: 'soak', datasetId, config });
    });
    const filesBefore = openFiles();
    const rss: number[] = [];
    let finished = 0;
    const done = new Promise<void>((resolve) => {
      const scheduler = new Scheduler(wb, forkJobHost, {
        concurrency: 2,
        backend: 'wasm',
        onStatus: (_id, status) => {
          if (status !== 'completed' && status !== 'failed') return;
          finished++;
          if (finished % Math.max(1, Math.floor(JOBS / 10)) === 0)
            rss.push(process.memoryUsage().rss);
          if (finished === JOBS) resolve();
        },
      });
      for (const id of runIds) scheduler.enqueue(id);
    });
    await done;

    const statuses = wb.db
      .prepare(`SELECT status, COUNT(*) AS n FROM runs GROUP BY status`)
      .all() as { status: string; n: number }[];
    expect(statuses).toEqual([{ status: 'completed', n: JOBS }]);
    // Workers exit on their own after their job; give the last ones a moment.
    await new Promise((r) => setTimeout(r, 1000));
    expect(children()).toBe(0);
    expect(openFiles()).toBeLessThanOrEqual(filesBefore + 2);
    // Memory after the first tenth of the jobs against the end: no steady climb (≤ 40 MB).
    expect(rss.at(-1)! - rss[0]!).toBeLessThan(40 * 1024 * 1024);
  }, 1_800_000);
});
