import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import { normsPath, readNorms } from '../../core/retrieval/gallery-norms.js';
import { FeatureIndex } from '../../core/retrieval/search.js';
import { searchInThread } from '../../core/retrieval/threaded-search.js';
import { NpyWriter } from '../../core/util/npy.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-norms-');
afterAll(() => tmp.cleanup());

function writeGallery(name: string, rows: number, d: number, seed: string): string {
  const rng = seedrandom.alea(seed);
  const file = path.join(tmp.dir, name);
  const writer = new NpyWriter(file, rows, d);
  writer.append(Float32Array.from({ length: rows * d }, () => Math.max(0, rng() * 2 - 0.6)));
  writer.close();
  return file;
}

const [rows, d] = [500, 64];
const query = Float32Array.from({ length: d }, (_, i) => (i % 5) / 5);
const search = (index: FeatureIndex) => index.search(query, 10, 'euclidean')[0];

describe('gallery norms stored beside the gallery', () => {
  it('are written when the gallery is built, and an open reads them instead of the rows', () => {
    const file = writeGallery('built.npy', rows, d, 'a');
    FeatureIndex.storeNorms(file);
    expect(normsPath(file)).toBe(path.join(tmp.dir, 'built.norms.npy'));
    expect(readNorms(file, rows)).toHaveLength(rows);
    const index = FeatureIndex.open(file, { blockRows: 64 });
    expect(index.norms).toBe('stored');
    const stored = search(index);
    index.close();
    rmSync(normsPath(file));
    const fresh = FeatureIndex.open(file, { blockRows: 64 });
    expect(fresh.norms).toBe('computed');
    expect(search(fresh)).toEqual(stored);
    fresh.close();
  });

  it('are computed once for a gallery built without them, then stored', () => {
    const file = writeGallery('legacy.npy', rows, d, 'b');
    expect(existsSync(normsPath(file))).toBe(false);
    FeatureIndex.open(file).close();
    expect(existsSync(normsPath(file))).toBe(true);
    const again = FeatureIndex.open(file);
    expect(again.norms).toBe('stored');
    again.close();
  });

  it('are not used for other rows: a gallery rebuilt from another checkpoint', () => {
    const file = writeGallery('rebuilt.npy', rows, d, 'c');
    FeatureIndex.storeNorms(file);
    const old = readNorms(file, rows)!;
    writeGallery('rebuilt.npy', rows, d, 'another network'); // the same shape, other features
    const index = FeatureIndex.open(file);
    expect(index.norms).toBe('computed');
    const hits = search(index);
    index.close();
    expect(readNorms(file, rows)).not.toEqual(old); // and replaced for the next open
    rmSync(normsPath(file));
    const check = FeatureIndex.open(file);
    expect(search(check)).toEqual(hits);
    check.close();
    // A norms file of another length is no use either.
    const shorter = writeGallery('shorter.npy', rows - 1, d, 'c');
    expect(readNorms(shorter, rows)).toBeNull();
  });
});

describe('searches on a worker thread', () => {
  it('find what a search in this thread finds, while this thread goes on', async () => {
    const file = writeGallery('threaded.npy', 4000, 256, 'd');
    const queries = Float32Array.from({ length: 3 * 256 }, (_, i) => (i % 7) / 7);
    const index = FeatureIndex.open(file);
    const here = index.search(queries, 5, 'cosine');
    index.close();
    const order: string[] = [];
    const searched = searchInThread(file, queries, 5, 'cosine').then((hits) => {
      order.push('search');
      return hits;
    });
    setImmediate(() => order.push('this thread'));
    expect(await searched).toEqual(here);
    // A search on this thread would have held the event loop until it finished.
    expect(order).toEqual(['this thread', 'search']);
  });

  it('rejects with the reason when the gallery cannot be read', async () => {
    await expect(
      searchInThread(path.join(tmp.dir, 'missing.npy'), query, 3, 'euclidean'),
    ).rejects.toThrow(/ENOENT|no such file/);
  });
});
