import seedrandom from 'seedrandom';

/** A seeded Fisher–Yates shuffle (returns a new array). */
export function seededShuffle<T>(items: readonly T[], seed: string): T[] {
  const rng = seedrandom.alea(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Keeps at most `max` items per group, chosen at random but reproducibly from `seed`;
 * the kept items stay in their original order.
 */
export function capPerGroup<T>(
  items: readonly T[],
  groupOf: (item: T) => string,
  max: number,
  seed: number,
): T[] {
  const groups = groupIndices(items, groupOf);
  const keep = new Set<number>();
  for (const [key, indices] of groups) {
    for (const i of seededShuffle(indices, `${seed}:cap:${key}`).slice(0, max)) keep.add(i);
  }
  return items.filter((_, i) => keep.has(i));
}

/**
 * Stratified train/val split: in each class, round(n·fraction) items go to val (at least one
 * when fraction > 0 and the class has two or more items; never all of them), chosen by a seeded
 * shuffle of that class, so the same seed always gives the same split.
 */
export function stratifiedSplit<T>(
  items: readonly T[],
  classOf: (item: T) => string,
  fraction: number,
  seed: number,
): ('train' | 'val')[] {
  const byClass = groupIndices(items, classOf);
  const splits: ('train' | 'val')[] = items.map(() => 'train');
  for (const [key, indices] of byClass) {
    if (fraction <= 0 || indices.length < 2) continue;
    const count = Math.min(indices.length - 1, Math.max(1, Math.round(indices.length * fraction)));
    for (const i of seededShuffle(indices, `${seed}:split:${key}`).slice(0, count))
      splits[i] = 'val';
  }
  return splits;
}

/** Indices of items, grouped by key, in first-seen key order. */
function groupIndices<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}
