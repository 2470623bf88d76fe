import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_SMALL, svwJson, tempDir } from '../helpers/cli.js';
import { plantFaults, type PlantedFaults } from '../helpers/planted-faults.js';

/**
 * The data tools on real CIFAR images with faults planted: 5% of the train labels flipped at
 * random, and copies of train images (exact, JPEG quality 60, resized 2×, mirrored) within
 * train and leaked into the test split. One short training run serves every case.
 */
const home = tempDir('svw-home-');
const source = tempDir('svw-planted-');
const env = { SVW_HOME: home.dir };
let planted: PlantedFaults;
let runId = 0;

/**
 * Three epochs of alexnet-cifar with Adam, no dropout, LRN or colour noise: about two and a half
 * minutes of one core, and a network that already knows most flipped images for what they are.
 */
const TRAINING = [
  ...['--epochs', '3'],
  ...['batch=32', 'optimizer=adam', 'lr=0.001', 'dropout=0', 'lrn=off', 'pcaSigma=0'].flatMap(
    (s) => ['--set', s],
  ),
];

beforeAll(async () => {
  planted = await plantFaults(CIFAR_SMALL, source.dir, { seed: 1, flipShare: 0.05 });
  svwJson(['dataset', 'import', source.dir, '--name', 'planted', '--json'], env);
  const trained = svwJson<{ runId: number; status: string }>(
    ['train', '--dataset', 'planted', '--preset', 'alexnet-cifar', ...TRAINING, '--json'],
    env,
  );
  expect(trained.status).toBe('completed');
  runId = trained.runId;
}, 900_000);

afterAll(() => {
  home.cleanup();
  source.cleanup();
});

describe('the label-error finder', () => {
  it('ranks the flipped labels high: at least half of them in the top 2N', () => {
    const n = planted.flipped.length;
    expect(n).toBe(250);
    const ranked = svwJson<
      { imageId: number; path: string; label: string; suggested: string; score: number }[]
    >(['label-errors', String(runId), '--top', String(2 * n), '--json'], env);
    expect(ranked).toHaveLength(2 * n);
    const scores = ranked.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const flipped = new Map(planted.flipped.map((f) => [f.path, f]));
    const inTop = (count: number) => ranked.slice(0, count).filter((r) => flipped.has(r.path));
    const precision = inTop(n).length / n;
    const recall = inTop(2 * n).length / n;
    console.log(
      `label errors: precision ${precision.toFixed(3)} in the top ${n}, ${inTop(2 * n).length} of ${n} flips in the top ${2 * n}`,
    );
    expect(recall).toBeGreaterThanOrEqual(0.5);
    // A flipped image is listed under the class it was given. Its suggestion names its true
    // class far more often than a guess among the nine other classes would (1 in 9): the network
    // scoring it has also learned some of the flipped labels, so the bar is three times chance.
    const found = inTop(2 * n);
    for (const r of found) expect(r.label).toBe(flipped.get(r.path)!.givenClass);
    const right = found.filter((r) => r.suggested === flipped.get(r.path)!.trueClass).length;
    console.log(`label errors: ${right} of ${found.length} suggestions name the true class`);
    expect(right / found.length).toBeGreaterThan(3 / 9);
  });
});

describe('the duplicate finder', () => {
  it('finds every planted copy: exact and near, within train and leaked into test', () => {
    const result = svwJson<{
      exact: [string, string][];
      near: { a: string; b: string; similarity: number }[];
      leaks: { train: string; other: string; split: string; similarity: number }[];
    }>(['duplicates', String(runId), '--json'], env);
    const key = (a: string, b: string) => [a, b].sort().join(' | ');
    const exact = new Set(result.exact.map(([a, b]) => key(a, b)));
    const near = new Set(result.near.map((p) => key(p.a, p.b)));
    const leaks = new Set(result.leaks.map((p) => key(p.train, p.other)));
    for (const copy of planted.copies) {
      const pair = key(copy.original, copy.copy);
      const where = copy.split === 'test' ? leaks : copy.kind === 'exact' ? exact : near;
      expect(
        where.has(pair),
        `${copy.kind} copy in ${copy.split}: ${path.basename(copy.copy)}`,
      ).toBe(true);
    }
    for (const leak of result.leaks) {
      expect(leak.split).toBe('val');
      expect(leak.train).toContain(`${path.sep}train${path.sep}`);
      expect(leak.other).toContain(`${path.sep}test${path.sep}`);
    }
    // The pixel check keeps the list to copies: a handful beyond the planted ones (CIFAR has a
    // few near-duplicates of its own), not the thousands of pairs fc7 alone puts above 0.9.
    expect(result.near.length + result.leaks.length).toBeLessThan(60);
  });
});

describe('the embedding map', () => {
  it('places every indexed image, with its label and the network’s prediction', () => {
    const map = svwJson<{
      count: number;
      explained: number[];
      points: { imageId: number; x: number; y: number; label: string; predicted: string }[];
    }>(['map', String(runId), '--method', 'pca', '--json'], env);
    expect(map.count).toBe(5000 + 1000 + planted.copies.length);
    expect(map.points).toHaveLength(map.count);
    expect(map.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
    expect(map.explained[0]).toBeGreaterThan(map.explained[1]!);
    expect(new Set(map.points.map((p) => p.imageId)).size).toBe(map.count);
  });
});

describe('dataset versions', () => {
  it('relabels and excludes into a new version, and a run on it records the version', () => {
    const ranked = svwJson<{ imageId: number; path: string; suggested: string }[]>(
      ['label-errors', String(runId), '--top', '5', '--json'],
      env,
    );
    const copy = planted.copies[0]!.copy;
    const shown = svwJson<{ id: number }>(['dataset', 'show', 'planted', '--json'], env);
    const mapped = svwJson<{ points: { imageId: number; path: string }[] }>(
      ['map', String(runId), '--json'],
      env,
    ).points.find((p) => p.path === copy)!;
    const made = svwJson<{ version: number; parent: number }>(
      [
        'dataset',
        'version',
        'planted',
        ...ranked.flatMap((r) => ['--relabel', `${r.imageId}=${r.suggested}`]),
        ...['--exclude', String(mapped.imageId), '--note', 'review'],
        '--json',
      ],
      env,
    );
    expect(made).toMatchObject({ dataset: shown.id, version: 2, parent: 1 });
    const versions = svwJson<
      { version: number; trainCount: number; relabelled: number; excluded: number }[]
    >(['dataset', 'versions', 'planted', '--json'], env);
    expect(versions.map((v) => [v.version, v.relabelled, v.excluded])).toEqual([
      [1, 0, 0],
      [2, 5, 1],
    ]);
    // The original stays whole; the new version has one train image fewer.
    expect(versions.map((v) => v.trainCount)).toEqual([5008, 5007]);
    const run2 = svwJson<{ runId: number; status: string }>(
      [
        'train',
        ...['--dataset', 'planted@2', '--preset', 'alexnet-cifar', '--epochs', '1'],
        ...['--set', 'conv1.filters=8', '--set', 'conv2.filters=8', '--set', 'conv3.filters=8'],
        ...['--set', 'conv4.filters=8', '--set', 'conv5.filters=8', '--set', 'fc=16,16'],
        ...['--set', 'batch=256', '--json'],
      ],
      env,
    );
    expect(run2.status).toBe('completed');
    const shownRun = svwJson<{ datasetVersion: number }>(
      ['runs', 'show', String(run2.runId), '--json'],
      env,
    );
    expect(shownRun.datasetVersion).toBe(2);
    expect(
      svwJson<{ datasetVersion: number }>(['runs', 'show', String(runId), '--json'], env)
        .datasetVersion,
    ).toBe(1);
  });
});
