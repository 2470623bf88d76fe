/** One benchmark figure. */
export interface BenchResult {
  name: string;
  /** Engine: a tfjs backend, `pytorch <version>`, or the component measured (sharp, sqlite…). */
  backend: string;
  batch: number;
  imagesPerSec: number;
  /** Milliseconds per batch (median of the timed repetitions where repeated). */
  msPerBatch: number;
  /** Share of wall time the training loop spent waiting for its next batch. */
  waitPercent?: number;
  /** Share of the exact top-k an approximate search found (e.g. recall@10 of a float16 index). */
  recall?: number;
  /** CPU threads the job ran on: our data-parallel shards, or PyTorch's torch.set_num_threads. */
  threads?: number;
  /** Parameters of the network measured. */
  params?: number;
  /** Peak resident set size of the process that ran the case alone, in MB. */
  peakRssMB?: number;
  /** tf.memory() once training is steady: bytes and count of live tensors. */
  tensorBytes?: number;
  tensors?: number;
  /** Training jobs running at once, each in its own process; imagesPerSec is their sum. */
  jobs?: number;
  /** images/s ÷ one job on one thread alone (2 is perfect for two cores' worth). */
  scaling?: number;
  /** Worker messages stored per second (cluster ingest). */
  messagesPerSec?: number;
  /** Multiply-adds per second, in billions (matrix-product cases). */
  gmacPerSec?: number;
  /** 95th percentile of the timed repetitions (frames of the map), in ms. */
  p95Ms?: number;
}

/** Our figure against PyTorch's for one network, batch, kind of pass and thread count. */
export interface Comparison {
  kind: 'train' | 'forward';
  preset: string;
  batch: number;
  threads: number;
  oursImagesPerSec: number;
  /** PyTorch on as many threads. */
  referenceImagesPerSec: number;
  /** ours ÷ PyTorch: the median of `ratios` where the two were measured in alternating rounds. */
  ratio: number;
  /** ours ÷ PyTorch in each round, in order. */
  ratios?: number[];
  /** ours ÷ ours on one thread, where this row has more than one (the median of `scalings`). */
  scaling?: number;
  /** That scaling in each round, in order. */
  scalings?: number[];
}

/** One line of the stderr summary table. */
export function formatResult(r: BenchResult): string {
  const rate = r.imagesPerSec
    ? `batch ${String(r.batch).padStart(5)} ${r.imagesPerSec.toFixed(1).padStart(8)} img/s ${String(r.msPerBatch).padStart(6)} ms/batch`
    : `${String(r.msPerBatch).padStart(36)} ms`;
  const extras = [
    r.threads === undefined ? '' : `${r.threads} thread${r.threads === 1 ? '' : 's'}`,
    r.waitPercent === undefined ? '' : `waiting ${r.waitPercent}%`,
    r.peakRssMB === undefined ? '' : `peak RSS ${Math.round(r.peakRssMB)} MB`,
    r.tensorBytes === undefined
      ? ''
      : `${r.tensors} tensors, ${Math.round(r.tensorBytes / 2 ** 20)} MB`,
    r.scaling === undefined ? '' : `${r.scaling.toFixed(2)}× one job on 1 thread`,
    r.messagesPerSec === undefined ? '' : `${r.messagesPerSec} messages/s`,
    r.gmacPerSec === undefined ? '' : `${r.gmacPerSec} GMAC/s`,
    r.p95Ms === undefined ? '' : `p95 ${r.p95Ms} ms`,
  ].filter(Boolean);
  return `${r.name.padEnd(60)} ${r.backend.padEnd(18)} ${rate}${extras.map((e) => `  ${e}`).join('')}`;
}
