import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FeatureIndex, readRows } from './search.js';

const idsSchema = z.array(z.number().int().nonnegative());

/** The dataset image ids of an index's rows. */
export function readIndexIds(idsPath: string): number[] {
  return idsSchema.parse(JSON.parse(readFileSync(idsPath, 'utf8')));
}

/**
 * Precision@k of retrieval: for each query (a val image), the fraction of its k nearest gallery
 * images (train) that share its label, averaged over the queries. Queries are processed in
 * blocks so the query matrix never has to fit in memory at once.
 */
export function precisionAtK(
  gallery: { path: string; labels: number[] },
  queries: { path: string; labels: number[] },
  ks: number[],
  metric: 'euclidean' | 'cosine' = 'euclidean',
  blockQueries = 64,
): Record<number, number> {
  const index = FeatureIndex.open(gallery.path);
  const kMax = Math.max(...ks);
  const hits = new Map(ks.map((k) => [k, 0]));
  try {
    for (let start = 0; start < queries.labels.length; start += blockQueries) {
      const count = Math.min(blockQueries, queries.labels.length - start);
      const results = index.search(readRows(queries.path, start, count), kMax, metric);
      results.forEach((neighbours, i) => {
        const label = queries.labels[start + i];
        for (const k of ks) {
          const same = neighbours
            .slice(0, k)
            .filter((n) => gallery.labels[n.index] === label).length;
          hits.set(k, hits.get(k)! + same / k);
        }
      });
    }
  } finally {
    index.close();
  }
  return Object.fromEntries(
    ks.map((k) => [k, queries.labels.length ? hits.get(k)! / queries.labels.length : 0]),
  );
}
