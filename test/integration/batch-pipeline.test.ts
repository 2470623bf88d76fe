import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchLoader, epochPlan } from '../../core/data/batches.js';
import { DatasetCache } from '../../core/data/dataset.js';
import { importDataset } from '../../core/data/import.js';
import { prepareBatch, resolveMean, type TransformSpec } from '../../core/data/transform.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const home = tempDir('svw-home-');
let wb: Workbench;
let dir: string;

beforeAll(async () => {
  wb = openWorkbench(home.dir);
  const result = await importDataset(
    wb.db,
    path.join(ROOT, 'demo/cifar10-demo'),
    { name: 'demo' },
    wb.paths,
  );
  dir = wb.paths.dataset(result.id);
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const train: TransformSpec = {
  kind: 'train',
  crop: 24,
  randomCrop: true,
  flip: true,
  pcaSigma: 0.1,
  mean: 'image',
  scale: 1,
};

describe('batch pipeline', () => {
  it('plans reproducible shuffled epochs that cover every image once', () => {
    const indices = Array.from({ length: 103 }, (_, i) => i);
    const a = epochPlan(indices, 32, { shuffle: true, seed: 1, epoch: 0 });
    expect(a.map((b) => b.length)).toEqual([32, 32, 32, 7]);
    expect(a.flat().sort((x, y) => x - y)).toEqual(indices);
    expect(epochPlan(indices, 32, { shuffle: true, seed: 1, epoch: 0 })).toEqual(a);
    expect(epochPlan(indices, 32, { shuffle: true, seed: 1, epoch: 1 })).not.toEqual(a);
    expect(epochPlan(indices, 32, { shuffle: false, seed: 1, epoch: 0 }).flat()).toEqual(indices);
  });

  it('builds on a worker thread exactly the batches built in-process, in plan order', async () => {
    const plan = epochPlan(
      Array.from({ length: 100 }, (_, i) => i),
      16,
      { shuffle: true, seed: 3, epoch: 0 },
    );
    const loader = new BatchLoader(dir, 32, train, 2);
    const cache = new DatasetCache(dir, 32);
    const stats = cache.stats();
    const mean = resolveMean(train, cache, stats);
    try {
      let n = 0;
      for await (const batch of loader.batches(plan, 'run7:e0')) {
        expect(batch.index).toBe(n);
        expect(batch.indices).toEqual(plan[n]);
        expect(batch.x.length).toBe(plan[n]!.length * 24 * 24 * 3);
        const local = prepareBatch(cache, stats, mean, train, plan[n]!, `run7:e0:${n}`);
        expect(batch.x).toEqual(local);
        n++;
      }
      expect(n).toBe(plan.length);
    } finally {
      cache.close();
      await loader.close();
    }
  });

  it('gives centre crops and ten-crops for evaluation', async () => {
    const cache = new DatasetCache(dir, 32);
    const stats = cache.stats();
    const none = { type: 'pixel', values: [0, 0, 0] } as const;
    const centre = prepareBatch(
      cache,
      stats,
      none,
      { kind: 'eval', crop: 24, tenCrop: false, mean: 'none', scale: 1 },
      [5],
      'x',
    );
    const ten = prepareBatch(
      cache,
      stats,
      none,
      { kind: 'eval', crop: 24, tenCrop: true, mean: 'none', scale: 1 },
      [5],
      'x',
    );
    expect(centre.length).toBe(24 * 24 * 3);
    expect(ten.length).toBe(10 * 24 * 24 * 3);
    const image = cache.read(5).data;
    // Centre crop of 24 in 32 starts at (4, 4); crop 5 of ten-crop is the centre.
    expect(centre[0]).toBe(image[(4 * 32 + 4) * 3]);
    expect(ten.subarray(4 * 1728, 5 * 1728)).toEqual(centre);
    // Crop 6 is the top-left corner, flipped: its first pixel is image pixel (0, 23).
    expect(ten[5 * 1728]).toBe(image[23 * 3]);
    cache.close();
  });

  it('reports a batch that cannot be built instead of hanging', async () => {
    const loader = new BatchLoader(dir, 32, train, 1);
    try {
      const batches = loader.batches([[0, 1], [999_999]], 'bad');
      await batches.next();
      await expect(batches.next()).rejects.toThrow(/beyond the end/);
    } finally {
      await loader.close();
    }
  });

  it('leaves nothing unhandled when the consumer stops early and the loader closes', async () => {
    // A cancelled or diverged run stops after a batch while the next ones are being prepared;
    // closing the loader rejects them, and an unobserved rejection kills the job's process.
    const unhandled: unknown[] = [];
    const listen = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listen);
    try {
      const loader = new BatchLoader(dir, 32, train, 2);
      const plan = epochPlan(
        Array.from({ length: 200 }, (_, i) => i),
        16,
        { shuffle: false, seed: 0, epoch: 0 },
      );
      for await (const batch of loader.batches(plan, 'stop')) {
        expect(batch.index).toBe(0);
        break;
      }
      await loader.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listen);
    }
  });
});
