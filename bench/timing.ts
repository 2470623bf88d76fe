/** The middle value (of an even count, the mean of the two middle ones). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
}

/** The middle half of some values: their lower and upper quartiles. */
export function middleHalf(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return [sorted[Math.floor(n / 4)]!, sorted[Math.max(0, Math.ceil((3 * n) / 4) - 1)]!];
}

/** Times `step` after one warm-up call, repeating until `minMs` has passed (at least `minReps` times). */
export async function time(
  step: () => void | Promise<void>,
  minReps: number,
  minMs: number,
): Promise<number> {
  await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || performance.now() - start < minMs) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  return median(times);
}
