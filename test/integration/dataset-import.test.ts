import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_SMALL, IMAGENET_SAMPLES, ROOT, svw, svwJson, tempDir } from '../helpers/cli.js';
import { makeBadImageFolder } from '../helpers/bad-images.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { datasetImages, findDataset } from '../../core/store/datasets.js';
import { DatasetCache } from '../../core/data/dataset.js';

interface ImportJson {
  id: number;
  name: string;
  classes: string[];
  counts: { train: number; val: number };
  skipped: { path: string; reason: string; detail?: string }[];
}

const home = tempDir('svw-home-');
const env = { SVW_HOME: home.dir };
afterAll(() => home.cleanup());

const importJson = (args: string[]) =>
  svwJson<ImportJson>(['dataset', 'import', ...args, '--json'], env);

describe('svw dataset import', () => {
  it('imports the CIFAR sample with its own train/test split at its own 32×32 size', () => {
    const r = importJson([CIFAR_SMALL, '--name', 'cifar-small']);
    expect(r.classes).toEqual(readdirSync(path.join(CIFAR_SMALL, 'train')).sort());
    expect(r.counts).toEqual({ train: 5000, val: 1000 });
    expect(r.skipped).toEqual([]);
    const wb = openWorkbench(home.dir);
    try {
      const row = findDataset(wb.db, 'cifar-small')!;
      expect(row.imageSize).toBe(32);
      expect(row.layout).toBe('split-folders');
      expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      const cacheFile = path.join(wb.paths.dataset(row.id), 'images.u8');
      expect(statSync(cacheFile).size).toBe(6000 * 32 * 32 * 3);
      const images = datasetImages(wb.db, row.id);
      const val = images.filter((i) => i.split === 'val');
      expect(val.every((i) => i.path.includes(`${path.sep}test${path.sep}`))).toBe(true);
      const cache = new DatasetCache(wb.paths.dataset(row.id), 32);
      const stats = cache.stats();
      expect(stats.count).toBe(5000);
      expect(stats.perClass).toEqual(new Array(10).fill(500));
      // CIFAR-10's mean pixel is about (125, 123, 114); a 500-per-class sample is close to it.
      stats.meanPixel.forEach((m, c) =>
        expect(Math.abs(m - [125.3, 123.0, 113.9][c]!)).toBeLessThan(6),
      );
      expect(stats.eigenvalues[0]).toBeGreaterThan(stats.eigenvalues[1]);
      cache.close();
    } finally {
      wb.close();
    }
  });

  it('refuses a flat folder of images with no class folders, and keeps nothing', () => {
    const r = svw(['dataset', 'import', IMAGENET_SAMPLES, '--name', 'flat'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/class/);
    expect(
      svwJson<unknown[]>(['dataset', 'list', '--json'], env).map(
        (d) => (d as { name: string }).name,
      ),
    ).not.toContain('flat');
  });

  it('imports the ImageNet samples, grayscale included, labelled by file name', () => {
    const r = importJson([IMAGENET_SAMPLES, '--name', 'imagenet-samples', '--labels', 'filename']);
    expect(r.classes).toHaveLength(100);
    expect(r.classes).toContain('n03908714_pencil_sharpener'); // the grayscale one
    expect(r.counts).toEqual({ train: 100, val: 0 }); // one image per class: nothing to hold out
    expect(r.skipped).toEqual([]);
    const wb = openWorkbench(home.dir);
    try {
      const row = findDataset(wb.db, 'imagenet-samples')!;
      expect(row.imageSize).toBe(256);
      const cache = new DatasetCache(wb.paths.dataset(row.id), 256);
      const gray = datasetImages(wb.db, row.id).find((i) => i.path.includes('pencil_sharpener'))!;
      const { data } = cache.read(gray.idx);
      for (let p = 0; p < data.length; p += 3 * 997) {
        expect(data[p]).toBe(data[p + 1]);
        expect(data[p]).toBe(data[p + 2]);
      }
      cache.close();
    } finally {
      wb.close();
    }
  });

  it('skips every kind of bad file with its reason and imports the rest', async () => {
    const src = tempDir('svw-bad-');
    try {
      const { expectedSkips, expectedGood } = await makeBadImageFolder(src.dir);
      const r = importJson([src.dir, '--name', 'bad', '--val-split', '0']);
      const got = r.skipped
        .map((s) => ({ path: s.path, reason: s.reason }))
        .sort((a, b) => a.path.localeCompare(b.path));
      const want = expectedSkips
        .map((s) => ({ path: s.path, reason: s.reason }))
        .sort((a, b) => a.path.localeCompare(b.path));
      expect(got).toEqual(want);
      expect(r.counts.train).toBe(expectedGood.length);
      expect(r.classes).toEqual([...new Set(expectedGood.map((g) => g.className))].sort());
    } finally {
      src.cleanup();
    }
  });

  it('holds out a stratified, reproducible validation split', () => {
    const a = importJson([
      path.join(CIFAR_SMALL, 'train'),
      '--name',
      'split-a',
      '--val-split',
      '0.2',
      '--seed',
      '7',
      '--max-per-class',
      '50',
    ]);
    const b = importJson([
      path.join(CIFAR_SMALL, 'train'),
      '--name',
      'split-b',
      '--val-split',
      '0.2',
      '--seed',
      '7',
      '--max-per-class',
      '50',
    ]);
    const c = importJson([
      path.join(CIFAR_SMALL, 'train'),
      '--name',
      'split-c',
      '--val-split',
      '0.2',
      '--seed',
      '8',
      '--max-per-class',
      '50',
    ]);
    expect(a.counts).toEqual({ train: 400, val: 100 });
    const wb = openWorkbench(home.dir);
    try {
      const valPaths = (id: number) => datasetImages(wb.db, id, 'val').map((i) => i.path);
      expect(valPaths(b.id)).toEqual(valPaths(a.id));
      expect(valPaths(c.id)).not.toEqual(valPaths(a.id));
      const perClass = new Map<number, number>();
      for (const img of datasetImages(wb.db, a.id, 'val'))
        perClass.set(img.label, (perClass.get(img.label) ?? 0) + 1);
      expect([...perClass.values()]).toEqual(new Array(10).fill(10));
    } finally {
      wb.close();
    }
  });

  it('lists, shows and removes datasets; names are unique', () => {
    const dup = svw(['dataset', 'import', CIFAR_SMALL, '--name', 'cifar-small'], env);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/already exists/);
    const shown = svwJson<{ classes: unknown[]; skipped: unknown[] }>(
      ['dataset', 'show', 'cifar-small', '--json'],
      env,
    );
    expect(shown.classes).toHaveLength(10);
    const before = svwJson<{ id: number; name: string }[]>(['dataset', 'list', '--json'], env);
    const victim = before.find((d) => d.name === 'split-c')!;
    svwJson(['dataset', 'remove', 'split-c', '--json'], env);
    expect(existsSync(path.join(home.dir, 'datasets', String(victim.id)))).toBe(false);
    const after = svwJson<{ name: string }[]>(['dataset', 'list', '--json'], env);
    expect(after.map((d) => d.name)).not.toContain('split-c');
    const missing = svw(['dataset', 'show', 'nope'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no dataset 'nope'/);
  });

  it('shows the first 50 skipped files, and every one with --all', () => {
    const folder = path.join(home.dir, 'many-bad');
    for (const cls of ['airplane', 'cat']) {
      mkdirSync(path.join(folder, cls), { recursive: true });
      for (const name of ['0000.jpg', '0001.jpg'])
        copyFileSync(path.join(CIFAR_SMALL, 'train', cls, name), path.join(folder, cls, name));
      for (let i = 0; i < 30; i++)
        writeFileSync(path.join(folder, cls, `broken-${i}.jpg`), 'not a JPEG');
    }
    importJson([folder, '--name', 'many-bad', '--val-split', '0.5']);
    const listed = (text: string) => text.split('\n').filter((l) => /broken-\d+\.jpg/.test(l));
    const shown = svw(['dataset', 'show', 'many-bad'], env);
    expect(listed(shown.stdout)).toHaveLength(50);
    expect(shown.stdout).toContain('… and 10 more (--all lists them all)');
    const all = svw(['dataset', 'show', 'many-bad', '--all'], env);
    expect(new Set(listed(all.stdout)).size).toBe(60);
    expect(all.stdout).not.toContain('more (--all');
  });

  it('imports the bundled demo dataset', () => {
    const r = importJson([path.join(ROOT, 'demo/cifar10-demo'), '--name', 'demo']);
    expect(r.counts).toEqual({ train: 1000, val: 200 });
    expect(r.classes).toHaveLength(10);
  });
});
