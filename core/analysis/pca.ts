/**
 * Exact principal components of a large matrix [N, D] (every row, no sample) by subspace
 * iteration: a block of p > components vectors is multiplied through the centred covariance,
 * XcᵀXc·V, and re-orthonormalised until the leading Ritz values and vectors stop moving; a
 * final Rayleigh–Ritz step gives the components. The covariance (D × D, 64 MB at D = 4096)
 * is never formed, so each pass costs 2·N·D·p multiply-adds, as matrix products on the engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import seedrandom from 'seedrandom';

export interface PcaResult {
  /** [N, components] coordinates of the centred rows on the components. */
  coords: Float32Array;
  components: number;
  /** Variance along each component (eigenvalues of the covariance, N − 1 denominator). */
  variance: number[];
  /** Share of the total variance each component explains. */
  explained: number[];
  iterations: number;
}

export interface PcaOptions {
  components?: number;
  /** Rows per matrix product (bounds the engine's memory). */
  blockRows?: number;
  maxIterations?: number;
  /** Stop when the leading Ritz values change by less than this, relatively. */
  tolerance?: number;
  onIteration?: (iteration: number, maxIterations: number) => void;
}

/** Orthonormal columns of m (modified Gram–Schmidt, twice for stability), in place. */
function orthonormalize(m: Float64Array, rows: number, cols: number, rng: () => number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < cols; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += m[r * cols + i]! * m[r * cols + j]!;
        for (let r = 0; r < rows; r++) m[r * cols + j]! -= dot * m[r * cols + i]!;
      }
      let norm = 0;
      for (let r = 0; r < rows; r++) norm += m[r * cols + j]! ** 2;
      // A column that collapsed (rank below p) restarts from noise and is orthogonalised next pass.
      if (norm < 1e-300) for (let r = 0; r < rows; r++) m[r * cols + j] = rng() - 0.5;
      else for (let r = 0; r < rows; r++) m[r * cols + j]! /= Math.sqrt(norm);
    }
  }
}

/** Xc·V [N, p] and, when wanted, Xcᵀ·(Xc·V) [D, p], with Xc = X − 1·μᵀ never formed. */
function products(
  x: Float32Array,
  n: number,
  d: number,
  mean: Float64Array,
  v: Float64Array,
  p: number,
  blockRows: number,
  back: boolean,
): { y: Float64Array; z: Float64Array | null } {
  // μᵀV is subtracted from every row of X·V: Xc·V = X·V − 1·(μᵀV).
  const muV = new Float64Array(p);
  for (let i = 0; i < d; i++) for (let j = 0; j < p; j++) muV[j]! += mean[i]! * v[i * p + j]!;
  const y = new Float64Array(n * p);
  const z = back ? new Float64Array(d * p) : null;
  const vt = tf.tensor2d(Float32Array.from(v), [d, p]);
  for (let start = 0; start < n; start += blockRows) {
    const rows = Math.min(blockRows, n - start);
    const [yb, zb] = tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(start * d, (start + rows) * d), [rows, d]);
      const ybT = tf.sub(tf.matMul(xb, vt), tf.tensor2d(Float32Array.from(muV), [1, p]));
      return [ybT, back ? tf.matMul(xb, ybT, true, false) : null];
    });
    y.set(yb.dataSync(), start * p);
    if (z && zb) {
      const part = zb.dataSync();
      for (let i = 0; i < part.length; i++) z[i]! += part[i]!;
    }
    tf.dispose([yb, ...(zb ? [zb] : [])]);
  }
  vt.dispose();
  if (z) {
    // Xᵀ·Yc counts μ once per row too: Xcᵀ·Y = Xᵀ·Y − μ·(1ᵀY).
    const colSums = new Float64Array(p);
    for (let r = 0; r < n; r++) for (let j = 0; j < p; j++) colSums[j]! += y[r * p + j]!;
    for (let i = 0; i < d; i++) for (let j = 0; j < p; j++) z[i * p + j]! -= mean[i]! * colSums[j]!;
  }
  return { y, z };
}

/** Rayleigh–Ritz: eigenpairs of YᵀY (p × p), largest first. */
function ritz(y: Float64Array, n: number, p: number): { values: number[]; vectors: Matrix } {
  const gram = new Matrix(p, p);
  for (let a = 0; a < p; a++)
    for (let b = a; b < p; b++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += y[r * p + a]! * y[r * p + b]!;
      gram.set(a, b, s);
      gram.set(b, a, s);
    }
  const evd = new EigenvalueDecomposition(gram, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
  const vectors = new Matrix(p, p);
  order.forEach(([, i], c) => {
    for (let r = 0; r < p; r++) vectors.set(r, c, evd.eigenvectorMatrix.get(r, i));
  });
  return { values: order.map(([v]) => v), vectors };
}

/** The first `components` principal components of the rows of x ([n, d] row-major). */
export function pca(x: Float32Array, n: number, d: number, options: PcaOptions = {}): PcaResult {
  const c = options.components ?? 2;
  if (n < 2) throw new Error('PCA needs at least two rows');
  const p = Math.min(d, Math.max(c + 8, 2 * c));
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-7;
  const blockRows = options.blockRows ?? Math.max(1, Math.floor((32 << 20) / (4 * d)));
  const mean = new Float64Array(d);
  let total = 0;
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i]! += x[r * d + i]!;
  for (let i = 0; i < d; i++) mean[i]! /= n;
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) total += (x[r * d + i]! - mean[i]!) ** 2;
  const rng = seedrandom.alea('svw-pca');
  let v: Float64Array = Float64Array.from({ length: d * p }, () => rng() - 0.5);
  orthonormalize(v, d, p, rng);
  let previous: number[] = [];
  let iterations = 0;
  let y: Float64Array | null = null as Float64Array | null;
  while (iterations < maxIterations) {
    iterations++;
    const step = products(x, n, d, mean, v, p, blockRows, true);
    y = step.y;
    // The Ritz values of the current block come from the same pass that advances it.
    const values = ritz(y, n, p).values.slice(0, c);
    options.onIteration?.(iterations, maxIterations);
    const settled =
      previous.length === c &&
      values.every((value, i) => Math.abs(value - previous[i]!) <= tolerance * Math.abs(value));
    if (settled) break;
    previous = values;
    orthonormalize(step.z!, d, p, rng);
    v = step.z!;
    y = null;
  }
  y ??= products(x, n, d, mean, v, p, blockRows, false).y;
  const { values, vectors } = ritz(y, n, p);
  const coords = new Float32Array(n * c);
  for (let j = 0; j < c; j++) {
    // The loading of largest magnitude is made positive, so the map's orientation is fixed.
    const loading = new Float64Array(d);
    for (let i = 0; i < d; i++)
      for (let q = 0; q < p; q++) loading[i]! += v[i * p + q]! * vectors.get(q, j);
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(loading[i]!) > Math.abs(big)) big = loading[i]!;
    const sign = big < 0 ? -1 : 1;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let q = 0; q < p; q++) s += y[r * p + q]! * vectors.get(q, j);
      coords[r * c + j] = sign * s;
    }
  }
  const variance = values.slice(0, c).map((value) => value / (n - 1));
  return {
    coords,
    components: c,
    variance,
    explained: variance.map((value) => (total > 0 ? (value * (n - 1)) / total : 0)),
    iterations,
  };
}
