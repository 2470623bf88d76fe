/**
 * An analysis of a run's fc7 index, in a job worker: the 2-D map (PCA or UMAP), the label-error
 * ranking or the duplicates, written as one result file the host reads (schemas in
 * core/schema/analysis.ts). Nothing here touches the database.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DatasetCache } from '../data/dataset.js';
import { tapModel } from '../model/alexnet.js';
import { extractFeatures } from '../retrieval/feature-job.js';
import { readRows } from '../retrieval/search.js';
import type { AnalysisResult } from '../schema/analysis.js';
import type { AnalysisJob, WorkerMessage } from '../schema/messages.js';
import type { RunConfig } from '../schema/run-config.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { evalSpec } from '../train/trainer.js';
import { candidatePairs, exactPairs, pixelHash, pixelSimilarity, thumbnail } from './duplicates.js';
import { loadRows, predictions, softmaxFromFeatures, type AnalysisRows } from './inputs.js';
import { neighbourGraph, normalizeRows } from './knn-graph.js';
import { scoreLabelErrors } from './label-errors.js';
import { pca } from './pca.js';
import { umapLayout } from './umap.js';

type Emit = (message: WorkerMessage) => void;

/** Label errors kept in the result, most suspicious first. */
const MAX_LABEL_ERRORS = 10_000;
/** Neighbours per point of the graph UMAP lays out (umap-js's default). */
const UMAP_NEIGHBOURS = 15;

export async function runAnalysis(
  job: AnalysisJob & { config: RunConfig },
  emit: Emit,
): Promise<void> {
  const started = Date.now();
  const progress = (stage: string) => (done: number, total: number) =>
    emit({ type: 'analysis-progress', stage, done, total });
  const rows = loadRows(job);
  if (rows.ids.length < 2)
    throw new Error('the index has fewer than two images of the run’s dataset version');
  const { bundle } = await loadCheckpoint(job.checkpointDir);
  let result: AnalysisResult;
  try {
    const classes = job.dataset.classes.length;
    const probs = softmaxFromFeatures(bundle.model, rows.matrix, classes);
    const seconds = () => (Date.now() - started) / 1000;
    if (job.task === 'map-pca' || job.task === 'map-umap') {
      const { matrix: m } = rows;
      const projection = pca(m.data, m.rows, m.dims, { onIteration: progress('pca') });
      let coords = projection.coords;
      if (job.task === 'map-umap') {
        normalizeRows(m);
        const graph = await neighbourGraph(m, {
          k: UMAP_NEIGHBOURS,
          onProgress: progress('graph'),
        });
        coords = umapLayout(graph, m.rows, { init: coords, onEpoch: progress('umap') });
      }
      result = {
        task: job.task,
        ids: rows.ids,
        coords: Array.from(coords),
        ...predictions(probs, classes),
        explained: job.task === 'map-pca' ? projection.explained : null,
        seconds: seconds(),
      };
    } else if (job.task === 'label-errors') {
      result = { ...(await labelErrors(rows, probs, classes, job, progress)), seconds: seconds() };
    } else {
      const found = await duplicates(rows, job, bundle.model, progress);
      result = { task: 'duplicates', ...job.options, ...found, seconds: seconds() };
    }
  } finally {
    bundle.model.dispose();
  }
  writeFileSync(`${job.outPath}.tmp`, JSON.stringify(result));
  renameSync(`${job.outPath}.tmp`, job.outPath);
  emit({ type: 'analysis', path: job.outPath });
}

type Progress = (stage: string) => (done: number, total: number) => void;

/** The indexed images of the wanted split, scored against their k nearest train images. */
async function labelErrors(
  rows: AnalysisRows,
  probs: Float32Array,
  classes: number,
  job: AnalysisJob,
  progress: Progress,
) {
  const { matrix: m, ids, labels, train } = rows;
  normalizeRows(m);
  const positions = (keep: (isTrain: boolean) => boolean) =>
    Int32Array.from(train.flatMap((t, r) => (keep(t) ? [r] : [])));
  const gallery = positions((t) => t);
  if (gallery.length < 2) throw new Error('the index holds fewer than two train images');
  const { split } = job.options;
  const queries = positions((t) => split === 'all' || t === (split === 'train'));
  if (queries.length === 0) throw new Error(`the index holds no ${split} images`);
  const symmetric = queries.length === gallery.length;
  const graph = await neighbourGraph(m, {
    k: job.options.k,
    ...(symmetric ? { queries } : { queries, gallery }),
    onProgress: progress('graph'),
  });
  const pick = (from: Int32Array | Float32Array, width: number) => {
    const out = new (from.constructor as typeof Float32Array)(queries.length * width);
    queries.forEach((r, i) => out.set(from.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  const ranked = scoreLabelErrors({
    graph,
    labels: Int32Array.from(queries, (r) => labels[r]!),
    galleryLabels: Int32Array.from(gallery, (r) => labels[r]!),
    probs: pick(probs, classes),
    classes,
  });
  return {
    task: 'label-errors' as const,
    k: graph.k,
    scored: ranked.length,
    items: ranked.slice(0, MAX_LABEL_ERRORS).map((c) => ({
      imageId: ids[queries[c.row]!]!,
      label: c.label,
      suggested: c.suggested,
      score: c.score,
      disagreement: c.neighbourDisagreement,
      otherConfidence: c.otherConfidence,
      neighbours: c.neighbours.map((g) => ids[gallery[g]!]!),
    })),
  };
}

/**
 * Exact copies among all images of the version, and near copies among the indexed ones: fc7
 * averaged with the fc7 of the mirrored image (so a flipped copy lands on its original)
 * proposes pairs, their pixels confirm them.
 */
async function duplicates(
  rows: AnalysisRows,
  job: AnalysisJob & { config: RunConfig },
  model: Parameters<typeof tapModel>[0],
  progress: Progress,
) {
  const cache = new DatasetCache(job.dataset.dir, job.dataset.size);
  try {
    const all = [...job.dataset.trainIdx, ...job.dataset.valIdx];
    const hashProgress = progress('hashes');
    const hashes = all.map((id, i) => {
      if (i % 1000 === 0) hashProgress(i, all.length);
      return pixelHash(cache, id);
    });
    const exact = exactPairs(all, hashes);
    const m = rows.matrix;
    const mirrored = await mirrorFeatures(job, rows.ids, model, progress('mirrored features'));
    for (let i = 0; i < m.data.length; i++) m.data[i]! += mirrored[i]!;
    normalizeRows(m);
    const graph = await neighbourGraph(m, { k: job.options.k, onProgress: progress('graph') });
    const exactSet = new Set(exact.map(([a, b]) => `${Math.min(a, b)}:${Math.max(a, b)}`));
    const candidates = candidatePairs(graph, m.rows, job.options.threshold);
    const thumbs = new Map<number, Float32Array>();
    const thumb = (id: number) => thumbs.get(id) ?? thumbs.set(id, thumbnail(cache, id)).get(id)!;
    const pixelProgress = progress('pixels');
    const near = candidates.flatMap(({ a, b, similarity }, i) => {
      if (i % 1000 === 0) pixelProgress(i, candidates.length);
      const [ia, ib] = [rows.ids[a]!, rows.ids[b]!];
      if (exactSet.has(`${Math.min(ia, ib)}:${Math.max(ia, ib)}`)) return [];
      const pixel = pixelSimilarity(thumb(ia), thumb(ib));
      return pixel >= job.options.pixelThreshold ? [{ a: ia, b: ib, similarity, pixel }] : [];
    });
    return { exact, near, candidates: candidates.length };
  } finally {
    cache.close();
  }
}

/** fc7 of each row's mirrored centre crop, kept beside the index for the next analysis. */
async function mirrorFeatures(
  job: AnalysisJob & { config: RunConfig },
  ids: number[],
  model: Parameters<typeof tapModel>[0],
  onBatch: (done: number, total: number) => void,
): Promise<Float32Array> {
  const idsPath = `${job.mirrorPath}.ids.json`;
  const fresh =
    existsSync(job.mirrorPath) &&
    existsSync(idsPath) &&
    readFileSync(idsPath, 'utf8') === JSON.stringify(ids);
  if (!fresh) {
    const spec = { ...evalSpec(job.config, false), mirror: true };
    await extractFeatures(tapModel(model, 'fc7'), job.dataset, spec, ids, job.mirrorPath, onBatch);
    writeFileSync(idsPath, JSON.stringify(ids));
  }
  return readRows(job.mirrorPath, 0, ids.length);
}
