/**
 * Debiased exponential moving average, as TensorBoard smooths scalars:
 * s_t = w·s_{t−1} + (1−w)·x_t with s_0 = 0, reported as s_t / (1 − w^t).
 *
 * The debiasing keeps the start of a curve at its real height instead of dragging it towards
 * zero. Non-finite values are passed through as NaN and do not advance the average, so a gap in
 * a series does not poison everything after it.
 */
export function debiasedEma(values: readonly number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  if (w === 0) return values.map((v) => (Number.isFinite(v) ? v : NaN));
  const out = new Array<number>(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) {
      out[i] = NaN;
      continue;
    }
    n++;
    last = w * last + (1 - w) * x;
    out[i] = last / (1 - w ** n);
  }
  return out;
}
