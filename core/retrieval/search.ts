/**
 * Exact nearest-neighbour search over a gallery of feature vectors (e.g. fc7 activations, as in
 * AlexNet's Figure 4) stored as an .npy matrix [N, D] of float32 ('<f4') or float16 ('<f2').
 *
 * search() streams the gallery from disk in blocks of rows through one reused buffer, so memory
 * is O(blockRows·D + N) however large the file (100k × 4096 float32 is 1.6 GB). Dot products
 * accumulate in float64 JS numbers: float32 accumulation needs Math.fround per step (measured ~15%
 * slower in V8) and wrecks ‖q‖² − 2q·x + ‖x‖² for near-duplicates (relative error > 100% at
 * distance 0.03 with norms ~30, against 7e-8 in float64).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import { npyHeader, readNpyInfo, type NpyDtype } from '../util/npy.js';
import { normsPath, readNorms, writeNorms } from './gallery-norms.js';

export type Metric = 'euclidean' | 'cosine';

/** One search hit: the gallery row and its distance (Euclidean, or cosine distance in [0, 2]). */
export interface Neighbour {
  index: number;
  distance: number;
}

/**
 * Default block: 4 MiB of float32 (256 rows at D = 4096), at most 4096 rows. A block that stays in
 * cache between the read and the kernel measured 30% faster per query than 64 MiB blocks (37 vs 54
 * ms for 10k × 4096), which go to DRAM and back.
 */
const DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_DEFAULT_BLOCK_ROWS = 4096;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Decodes an IEEE 754 binary16 bit pattern (0..0xffff) to a number; NaN payloads are not kept. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals: no implicit leading 1
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Encodes a number as binary16 bits, rounding to nearest even (the value is first rounded to
 * float32, which is exact for float32 sources). Overflow gives ±Infinity, underflow ±0 or a
 * subnormal, NaN a quiet NaN.
 */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // exponent rebiased for half
  if (e >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let h: number;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mant |= 0x800000; // make the implicit 1 explicit, then shift into subnormal position
    shift = 14 - e;
    h = mant >>> shift;
  } else {
    h = (e << 10) | (mant >>> 13);
  }
  const rem = mant & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  // A carry out of the mantissa correctly bumps the exponent (and 0x7bff rounds up to Infinity).
  if (rem > mid || (rem === mid && h & 1)) h++;
  return sign | h;
}

let halfTable: Float32Array | undefined;
/** All 65536 halves decoded once (256 KiB, stays in L2): decoding a block is then a lookup. */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

function decodeHalves(halves: Uint16Array, out: Float32Array): void {
  const table = halfLookup();
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
}

/** Reads exactly `bytes.length` bytes at `position`, or throws (a short read means truncation). */
function readFully(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    const n = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

/** Bounded max-heap of the k best (distance, index) pairs seen; the worst sits at the root. */
class TopK {
  private readonly dist: Float64Array;
  private readonly idx: Int32Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.dist = new Float64Array(k);
    this.idx = new Int32Array(k);
  }

  /** Is (da, ia) ranked after (db, ib)? Equal distances rank by index so results are stable. */
  private worse(da: number, ia: number, db: number, ib: number): boolean {
    return da > db || (da === db && ia > ib);
  }

  /** Rows arrive in ascending index order, so an equal distance never displaces the root. */
  offer(distance: number, index: number): void {
    const d = distance === distance ? distance : Infinity; // NaN (inf/NaN features) ranks last
    const { dist, idx } = this;
    let i: number;
    if (this.size < this.k) {
      i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(d, index, dist[p]!, idx[p]!)) break;
        dist[i] = dist[p]!;
        idx[i] = idx[p]!;
        i = p;
      }
    } else {
      if (!(d < dist[0]!)) return;
      i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= this.size) break;
        if (c + 1 < this.size && this.worse(dist[c + 1]!, idx[c + 1]!, dist[c]!, idx[c]!)) c++;
        if (!this.worse(dist[c]!, idx[c]!, d, index)) break;
        dist[i] = dist[c]!;
        idx[i] = idx[c]!;
        i = c;
      }
    }
    dist[i] = d;
    idx[i] = index;
  }

  sorted(): Neighbour[] {
    const out: Neighbour[] = [];
    for (let i = 0; i < this.size; i++) out.push({ index: this.idx[i]!, distance: this.dist[i]! });
    return out.sort((a, b) => a.distance - b.distance || a.index - b.index);
  }
}

/** One search call's state: queries [nq, dims], their ‖q‖², the gallery's ‖x‖², the heaps. */
interface Scoring {
  q: Float32Array;
  nq: number;
  dims: number;
  qNorms: Float64Array;
  xNorms: Float64Array;
  cosine: boolean;
  heaps: TopK[];
}

/** Turns a dot product into the reported distance and offers it to query `qi`'s heap. */
function offer(s: Scoring, qi: number, row: number, dot: number): void {
  const qn = s.qNorms[qi]!;
  const xn = s.xNorms[row]!;
  let d: number;
  if (s.cosine) {
    const denom = Math.sqrt(qn) * Math.sqrt(xn);
    // A zero vector has no direction; define its cosine distance to everything as 1 (orthogonal).
    d = denom === 0 ? 1 : Math.min(2, Math.max(0, 1 - dot / denom));
  } else {
    d = Math.sqrt(Math.max(0, qn - 2 * dot + xn)); // rounding can push the expansion below 0
  }
  s.heaps[qi]!.offer(d, row);
}

function offer4(s: Scoring, q: number, r: number, d0: number, d1: number, d2: number, d3: number) {
  offer(s, q, r, d0);
  offer(s, q, r + 1, d1);
  offer(s, q, r + 2, d2);
  offer(s, q, r + 3, d3);
}

/**
 * Scores every query against gallery rows [base, base + nx) held in `x` ([nx, dims] float32).
 * Register-blocked 2 queries × 4 rows: each loaded value feeds 2–4 multiply-adds (measured 2.0
 * GMAC/s against 1.3 for 1×4 and 0.5 for 1×1). Every kernel sums d = 0..D−1 in order into one
 * float64 accumulator, so identical rows get bit-identical distances whichever kernel ran.
 */
function scoreBlock(s: Scoring, x: Float32Array, nx: number, base: number): void {
  const { q, nq, dims: D } = s;
  let r = 0;
  for (; r + 4 <= nx; r += 4) {
    const o0 = r * D;
    const o1 = o0 + D;
    const o2 = o1 + D;
    const o3 = o2 + D;
    let i = 0;
    for (; i + 2 <= nq; i += 2) {
      const qa = i * D;
      const qb = qa + D;
      let [a0, a1, a2, a3, b0, b1, b2, b3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let d = 0; d < D; d++) {
        const u = q[qa + d]!;
        const v = q[qb + d]!;
        const x0 = x[o0 + d]!;
        const x1 = x[o1 + d]!;
        const x2 = x[o2 + d]!;
        const x3 = x[o3 + d]!;
        a0 += u * x0;
        a1 += u * x1;
        a2 += u * x2;
        a3 += u * x3;
        b0 += v * x0;
        b1 += v * x1;
        b2 += v * x2;
        b3 += v * x3;
      }
      offer4(s, i, base + r, a0, a1, a2, a3);
      offer4(s, i + 1, base + r, b0, b1, b2, b3);
    }
    if (i < nq) {
      const qa = i * D;
      let [a0, a1, a2, a3] = [0, 0, 0, 0];
      for (let d = 0; d < D; d++) {
        const u = q[qa + d]!;
        a0 += u * x[o0 + d]!;
        a1 += u * x[o1 + d]!;
        a2 += u * x[o2 + d]!;
        a3 += u * x[o3 + d]!;
      }
      offer4(s, i, base + r, a0, a1, a2, a3);
    }
  }
  for (; r < nx; r++) {
    for (let i = 0; i < nq; i++) offer(s, i, base + r, dot(q, i * D, x, r * D, D));
  }
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let sum = 0;
  for (let d = 0; d < n; d++) sum += a[ao + d]! * b[bo + d]!;
  return sum;
}

/**
 * Exact k-NN index over an .npy gallery [count, dims]. Holds an open file descriptor, one block
 * buffer (blockRows × dims × 4 bytes, plus the raw half block for '<f2') and ‖x‖² per row.
 */
export class FeatureIndex {
  private fd: number | undefined;
  private readonly raw: Uint8Array;
  private readonly block: Float32Array;
  /** ‖x‖² of every row (float64, N × 8 bytes). */
  private readonly sqNorms: Float64Array;
  /** Where the norms came from: the file stored beside the gallery, or a pass over its rows. */
  readonly norms: 'stored' | 'computed';

  private constructor(
    fd: number,
    readonly count: number,
    readonly dims: number,
    readonly dtype: NpyDtype,
    private readonly dataOffset: number,
    private readonly blockRows: number,
    stored: Float64Array | null,
  ) {
    this.fd = fd;
    const elems = blockRows * dims;
    this.raw = new Uint8Array(new ArrayBuffer(elems * (dtype === '<f4' ? 4 : 2)));
    this.block = dtype === '<f4' ? new Float32Array(this.raw.buffer) : new Float32Array(elems);
    const usable = stored !== null && this.normsFit(stored);
    this.sqNorms = usable ? stored : this.computeNorms();
    this.norms = usable ? 'stored' : 'computed';
  }

  /** ‖x‖² of every row, from one streaming pass over the file. */
  private computeNorms(): Float64Array {
    const { count, dims } = this;
    const norms = new Float64Array(count);
    for (let start = 0; start < count; start += this.blockRows) {
      const rows = this.readBlock(start);
      for (let r = 0; r < rows; r++)
        norms[start + r] = dot(this.block, r * dims, this.block, r * dims, dims);
    }
    return norms;
  }

  /**
   * Do stored norms belong to these rows? The first and last rows are computed again: a
   * gallery rebuilt from another checkpoint (or a norms file left from an older one) differs
   * there, while the same rows give bit-identical sums.
   */
  private normsFit(norms: Float64Array): boolean {
    for (const row of new Set([0, this.count - 1])) {
      if (row < 0) continue;
      this.readBlock(row);
      if (dot(this.block, 0, this.block, 0, this.dims) !== norms[row]) return false;
    }
    return true;
  }

  /**
   * Opens a 2-D '<f4' or '<f2' .npy gallery with its row norms: those stored beside it when it
   * was built (see gallery-norms.ts), or, for a gallery without them, from one pass over the
   * file, then stored for the next open where the folder is writable. `blockRows` (default: 4 MiB
   * of float32 rows, ≤ 4096) sets the rows per positioned read.
   */
  static open(npyPath: string, options: { blockRows?: number } = {}): FeatureIndex {
    if (os.endianness() !== 'LE') throw new Error('FeatureIndex needs a little-endian host');
    const info = readNpyInfo(npyPath);
    const [count, dims] = info.shape;
    if (info.shape.length !== 2 || count === undefined || dims === undefined || dims < 1)
      throw new Error(`${npyPath}: expected a [N, D] matrix, got shape [${info.shape.join(', ')}]`);
    if (info.dtype === '<f8') throw new Error(`${npyPath}: expected float32 or float16 features`);
    const fit = Math.floor(DEFAULT_BLOCK_BYTES / (dims * 4));
    const blockRows = options.blockRows ?? Math.max(1, Math.min(MAX_DEFAULT_BLOCK_ROWS, fit));
    if (!Number.isInteger(blockRows) || blockRows < 1)
      throw new Error(`blockRows must be a positive integer, got ${blockRows}`);
    const fd = openSync(npyPath, 'r');
    let index: FeatureIndex;
    try {
      const need = info.dataOffset + count * dims * (info.dtype === '<f4' ? 4 : 2);
      const size = fstatSync(fd).size;
      if (size < need)
        throw new Error(`${npyPath} is truncated: ${size} bytes, header needs ${need}`);
      const rows = Math.min(blockRows, Math.max(count, 1)); // no bigger buffer than the gallery
      const stored = readNorms(npyPath, count);
      index = new FeatureIndex(fd, count, dims, info.dtype, info.dataOffset, rows, stored);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (index.norms === 'computed') {
      try {
        writeNorms(npyPath, index.sqNorms);
      } catch {
        // A read-only folder: the norms are computed again next time, nothing worse.
      }
    }
    return index;
  }

  /**
   * Computes a gallery's norms and stores them beside it, replacing any there: for a gallery
   * just written (an index build), so that no search has to make a pass over it.
   */
  static storeNorms(npyPath: string): void {
    rmSync(normsPath(npyPath), { force: true });
    const index = FeatureIndex.open(npyPath);
    index.close();
    if (index.norms !== 'computed' || !existsSync(normsPath(npyPath)))
      throw new Error(`could not store the norms of ${npyPath}`);
  }

  /** Reads rows [start, start + blockRows) into `this.block` (float32); returns the row count. */
  private readBlock(start: number): number {
    const fd = this.requireOpen();
    const rows = Math.min(this.blockRows, this.count - start);
    const elems = rows * this.dims;
    const bytesPerElem = this.dtype === '<f4' ? 4 : 2;
    readFully(
      fd,
      this.raw.subarray(0, elems * bytesPerElem),
      this.dataOffset + start * this.dims * bytesPerElem,
    );
    if (this.dtype === '<f2') {
      decodeHalves(new Uint16Array(this.raw.buffer, 0, elems), this.block);
    }
    return rows;
  }

  private requireOpen(): number {
    if (this.fd === undefined) throw new Error('FeatureIndex is closed');
    return this.fd;
  }

  /**
   * The k nearest gallery rows for each query in `queries` ([q, dims] row-major). Returns q lists
   * of min(k, count) hits, sorted by distance ascending, ties by lower index. Euclidean distances
   * are not squared; cosine distance is 1 − cos ∈ [0, 2], and exactly 1 when either side is a
   * zero vector. Rows whose distance is NaN (inf/NaN features) rank last as +Infinity.
   */
  search(queries: Float32Array, k: number, metric: Metric): Neighbour[][] {
    this.requireOpen();
    if (!Number.isInteger(k) || k < 1) throw new Error(`k must be an integer ≥ 1, got ${k}`);
    if (metric !== 'euclidean' && metric !== 'cosine')
      throw new Error(`metric must be 'euclidean' or 'cosine', got '${String(metric)}'`);
    if (queries.length % this.dims !== 0)
      throw new Error(
        `queries must be a [q, ${this.dims}] matrix: ${queries.length} values is not a multiple of ${this.dims}`,
      );
    const { dims, count, blockRows } = this;
    const nq = queries.length / dims;
    const qNorms = new Float64Array(nq);
    for (let i = 0; i < nq; i++) qNorms[i] = dot(queries, i * dims, queries, i * dims, dims);
    const heaps = Array.from({ length: nq }, () => new TopK(Math.min(k, count)));
    const cosine = metric === 'cosine';
    const s: Scoring = { q: queries, nq, dims, qNorms, xNorms: this.sqNorms, cosine, heaps };
    // Gallery blocks outermost: each block is read once per call however many queries there are.
    for (let start = 0; nq > 0 && start < count; start += blockRows) {
      scoreBlock(s, this.block, this.readBlock(start), start);
    }
    return heaps.map((h) => h.sorted());
  }

  /** Releases the file descriptor; later searches throw. Safe to call twice. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Streams a float32 .npy into a float16 copy (any shape), written to `dstNpy.partial` and renamed
 * only when complete. Values round to nearest even; beyond ±65504 they become ±Infinity.
 */
export function writeFloat16Copy(srcNpy: string, dstNpy: string): void {
  const info = readNpyInfo(srcNpy);
  if (info.dtype !== '<f4')
    throw new Error(`${srcNpy}: expected a float32 ('<f4') array, got ${info.dtype}`);
  const total = info.shape.reduce((a, b) => a * b, 1);
  const chunk = 1 << 20; // elements per read: 4 MiB in, 2 MiB out
  const floats = new Float32Array(chunk);
  const halves = new Uint16Array(chunk);
  const partial = `${dstNpy}.partial`;
  const src = openSync(srcNpy, 'r');
  let out: number | undefined;
  try {
    out = openSync(partial, 'w');
    writeSync(out, npyHeader(info.shape, '<f2'));
    for (let done = 0; done < total; done += chunk) {
      const n = Math.min(chunk, total - done);
      readFully(src, new Uint8Array(floats.buffer, 0, n * 4), info.dataOffset + done * 4);
      for (let i = 0; i < n; i++) halves[i] = floatToHalf(floats[i]!);
      writeSync(out, new Uint8Array(halves.buffer, 0, n * 2));
    }
    closeSync(out);
    out = undefined;
    renameSync(partial, dstNpy);
  } catch (err) {
    if (out !== undefined) closeSync(out);
    rmSync(partial, { force: true });
    throw err;
  } finally {
    closeSync(src);
  }
}

/**
 * Mean over queries of |top-k(exact) ∩ top-k(approx)| / |top-k(exact)|, in [0, 1]. Both are
 * [q][ranked gallery indices]; a query whose exact list is empty counts as fully recalled.
 */
export function recallAtK(exact: number[][], approx: number[][], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be an integer ≥ 1, got ${k}`);
  if (exact.length !== approx.length)
    throw new Error(`exact has ${exact.length} queries but approx has ${approx.length}`);
  if (exact.length === 0) throw new Error('recallAtK needs at least one query');
  let sum = 0;
  exact.forEach((truth, i) => {
    const want = truth.slice(0, k);
    const got = new Set((approx[i] ?? []).slice(0, k));
    sum += want.length === 0 ? 1 : want.filter((t) => got.has(t)).length / want.length;
  });
  return sum / exact.length;
}

/**
 * Rows [start, start + count) of a float32 or float16 .npy matrix [rows, cols], as float32
 * [count, cols], read from disk (e.g. the stored features of one dataset image).
 */
export function readRows(npyPath: string, start: number, count: number): Float32Array {
  const info = readNpyInfo(npyPath);
  if (info.dtype === '<f8') throw new Error(`${npyPath}: expected float32 or float16 features`);
  const [rows = 0, cols = 1] = info.shape;
  if (start < 0 || start + count > rows) {
    throw new Error(`${npyPath}: rows ${start}..${start + count} out of ${rows}`);
  }
  const bytes = info.dtype === '<f2' ? 2 : 4;
  const raw = new Uint8Array(count * cols * bytes);
  const fd = openSync(npyPath, 'r');
  try {
    readFully(fd, raw, info.dataOffset + start * cols * bytes);
  } finally {
    closeSync(fd);
  }
  if (bytes === 4) return new Float32Array(raw.buffer);
  return Float32Array.from(new Uint16Array(raw.buffer), halfToFloat);
}
