/** One benchmark figure. */
export interface BenchResult {
  name: string;
  backend: string;
  batch: number;
  imagesPerSec: number;
  /** Milliseconds per batch (median of the timed repetitions where repeated). */
  msPerBatch: number;
  /** Share of wall time the training loop spent waiting for its next batch. */
  waitPercent?: number;
  /** Share of the exact top-k an approximate search found (e.g. recall@10 of a float16 index). */
  recall?: number;
}
