/**
 * Copies in a dataset: identical pixels by content hash, and near copies (re-encoded, resized,
 * mirrored) as pairs that fc7 puts close together and whose pixels agree. fc7 alone does not
 * suffice: an undertrained network maps many different images of a class nearly onto each other
 * (thousands of pairs above 0.99 cosine after two epochs on CIFAR), so fc7 proposes and the
 * pixels decide.
 */
import { createHash } from 'node:crypto';
import type { DatasetCache } from '../data/dataset.js';
import type { NeighbourGraph } from './knn-graph.js';

/** Side of the grayscale thumbnails pixels are compared on. */
export const THUMB = 32;

/** SHA-256 of an image's cached pixels. */
export function pixelHash(cache: DatasetCache, idx: number): string {
  return createHash('sha256').update(cache.read(idx).data).digest('hex');
}

/** Pairs of images with equal hashes: each later image paired with the first of its group. */
export function exactPairs(ids: number[], hashes: string[]): [number, number][] {
  const first = new Map<string, number>();
  const pairs: [number, number][] = [];
  hashes.forEach((hash, i) => {
    const seen = first.get(hash);
    if (seen === undefined) first.set(hash, ids[i]!);
    else pairs.push([seen, ids[i]!]);
  });
  return pairs;
}

/**
 * An image as a zero-mean, unit-length grayscale thumbnail (THUMB × THUMB block averages), so
 * that a dot product is the Pearson correlation of two images' pixels.
 */
export function thumbnail(cache: DatasetCache, idx: number): Float32Array {
  const { data, width, height } = cache.read(idx);
  const sums = new Float64Array(THUMB * THUMB);
  const counts = new Float64Array(THUMB * THUMB);
  for (let y = 0; y < height; y++) {
    const ty = Math.min(THUMB - 1, Math.floor((y * THUMB) / height));
    for (let x = 0; x < width; x++) {
      const tx = Math.min(THUMB - 1, Math.floor((x * THUMB) / width));
      const o = 3 * (y * width + x);
      sums[ty * THUMB + tx]! += 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
      counts[ty * THUMB + tx]!++;
    }
  }
  const out = new Float32Array(THUMB * THUMB);
  let mean = 0;
  for (let i = 0; i < out.length; i++) mean += out[i] = counts[i]! ? sums[i]! / counts[i]! : 0;
  mean /= out.length;
  let norm = 0;
  for (let i = 0; i < out.length; i++) norm += (out[i]! -= mean) ** 2;
  // A flat image has no pattern to match: it stays zero and agrees with nothing.
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}

/** Pixel similarity of two thumbnails: their correlation as they are or with one mirrored. */
export function pixelSimilarity(a: Float32Array, b: Float32Array): number {
  let same = 0;
  let mirrored = 0;
  for (let y = 0; y < THUMB; y++) {
    const row = y * THUMB;
    for (let x = 0; x < THUMB; x++) {
      same += a[row + x]! * b[row + x]!;
      mirrored += a[row + x]! * b[row + THUMB - 1 - x]!;
    }
  }
  return Math.max(same, mirrored);
}

/** Pairs (a < b, as rows of the graph's symmetric matrix) at or above a cosine similarity. */
export function candidatePairs(graph: NeighbourGraph, rows: number, threshold: number) {
  const seen = new Set<number>();
  const pairs: { a: number; b: number; similarity: number }[] = [];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < graph.k; j++) {
      const other = graph.idx[r * graph.k + j]!;
      const similarity = graph.sims[r * graph.k + j]!;
      if (other < 0 || similarity < threshold) break;
      const [a, b] = r < other ? [r, other] : [other, r];
      if (seen.has(a * rows + b)) continue;
      seen.add(a * rows + b);
      pairs.push({ a, b, similarity: Math.min(1, similarity) });
    }
  }
  return pairs.sort((x, y) => y.similarity - x.similarity || x.a - y.a || x.b - y.b);
}
