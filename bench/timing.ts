/** The middle value (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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
