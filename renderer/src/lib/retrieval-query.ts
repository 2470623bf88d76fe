import type { SearchResult } from '../../../core/api/contract';
import type { FeatureIndexRow } from '../../../core/store/indexes';
import { bytes } from './run-format';

/** Pure pieces of the retrieval screen: what a query is, and how a gallery is chosen. */

/** The host takes at most 20 MB of decoded file bytes per query (see the contract). */
export const MAX_QUERY_FILE_BYTES = 20 * 1024 * 1024;
export const K_CHOICES = [5, 10, 20] as const;
export type K = (typeof K_CHOICES)[number];
export type Metric = 'euclidean' | 'cosine';

/** What a search starts from: a dataset image, or an image file's bytes (base64). */
export type Query =
  | { kind: 'image'; imageIdx: number }
  | { kind: 'file'; name: string; base64: string; mime: string };

export interface HistoryEntry {
  query: Query;
  result: SearchResult | null;
  /** The gallery, k and metric the result was found with; a change means searching again. */
  key: string;
}

/** Why a file cannot be a query (too big, empty, not an image), or null when it can. */
export function queryFileProblem(file: File): string | null {
  if (file.size > MAX_QUERY_FILE_BYTES)
    return `${file.name} is ${bytes(file.size)}; a query image may be at most 20 MB.`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.type && !file.type.startsWith('image/'))
    return `${file.name} is not an image (${file.type}).`;
  return null;
}

/** The file's bytes as plain base64 (the data: URL prefix stripped). */
export function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

/** The paper's setup first: val queries against the train gallery, best checkpoint, newest. */
export function defaultIndex(list: FeatureIndexRow[]): FeatureIndexRow | undefined {
  const splitRank = { train: 0, all: 1, val: 2 } as const;
  return [...list].sort(
    (a, b) =>
      splitRank[a.split] - splitRank[b.split] ||
      (a.checkpoint === b.checkpoint ? 0 : a.checkpoint === 'best' ? -1 : 1) ||
      b.id - a.id,
  )[0];
}

/**
 * A run's measured retrieval P@k by k: from the run list's summary (keyed by k in some form),
 * else from its best metrics (`retrieval_p_at_<k>`, as `svw retrieval-eval` stores them).
 */
export function storedPrecision(
  summary: Record<string, number> | undefined,
  best: Record<string, number> | undefined,
): { k: number; value: number }[] {
  const byK = new Map<number, number>();
  for (const [key, value] of Object.entries(summary ?? {})) {
    const m = /(\d+)$/.exec(key);
    if (m) byK.set(Number(m[1]), value);
  }
  if (byK.size === 0)
    for (const [key, value] of Object.entries(best ?? {})) {
      const m = /^retrieval_p_at_(\d+)$/.exec(key);
      if (m) byK.set(Number(m[1]), value);
    }
  return [...byK].sort((a, b) => a[0] - b[0]).map(([k, value]) => ({ k, value }));
}
