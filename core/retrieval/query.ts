import { datasetClasses, datasetImages, type DatasetImage } from '../store/datasets.js';
import { findIndex, runIndexes, type FeatureIndexRow } from '../store/indexes.js';
import type { RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import {
  checkpointIdentity,
  resolveCheckpoint,
  type CheckpointIdentity,
  type CheckpointKind,
} from '../train/checkpoint.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { readIndexIds } from './retrieval-eval.js';
import { readRows, type Metric } from './search.js';
import { searchInThread } from './threaded-search.js';

type Split = FeatureIndexRow['split'];

/** A gallery image found by a search. */
export interface Hit {
  image: DatasetImage;
  className: string;
  distance: number;
}

/** The run's index of a split (from the given checkpoint, or the newest), or a NotFoundError. */
export function requireIndex(
  wb: Workbench,
  run: RunRow,
  split: Split,
  checkpoint?: CheckpointKind,
): FeatureIndexRow {
  const row = findIndex(wb.db, run.id, split, checkpoint);
  if (!row) {
    throw new NotFoundError(
      `run ${run.id} has no feature index of its ${split} split${checkpoint ? ` (${checkpoint} checkpoint)` : ''}`,
      `build it with: svw index build ${run.id} --split ${split}${checkpoint ? ` --checkpoint ${checkpoint}` : ''}`,
    );
  }
  return row;
}

/** The run's checkpoint of this kind as it is now, or null when it has none. */
export function currentCheckpoint(
  wb: Workbench,
  run: RunRow,
  kind: CheckpointKind,
): CheckpointIdentity | null {
  try {
    return checkpointIdentity(resolveCheckpoint(wb.paths.run(run.id), kind));
  } catch {
    return null;
  }
}

/** Were the two indexes' features computed by the same network (the same weights)? */
export const sameNetwork = (a: FeatureIndexRow, b: { checkpointSha256: string | null }) =>
  a.checkpointSha256 !== null && a.checkpointSha256 === b.checkpointSha256;

/** Is the index built from exactly the checkpoint the run holds now? */
export const isCurrent = (index: FeatureIndexRow, now: CheckpointIdentity | null) =>
  now !== null && sameNetwork(index, { checkpointSha256: now.weightsSha256 });

/** Why an index no longer matches its checkpoint, for the error that refuses to use it. */
export function staleReason(
  run: RunRow,
  index: FeatureIndexRow,
  now: CheckpointIdentity | null,
): string {
  const built = `run ${run.id}'s ${index.split} index was built from its ${index.checkpoint} checkpoint of epoch ${index.checkpointEpoch}`;
  if (now === null) return `${built}, which no longer exists`;
  if (index.checkpointSha256 === null)
    return `${built}, before indexes recorded which weights they came from`;
  return `${built}, which has since been replaced (it is now epoch ${now.epoch})`;
}

const rebuildHint = (run: RunRow, index: FeatureIndexRow) =>
  `rebuild it: svw index build ${run.id} --split ${index.split} --checkpoint ${index.checkpoint}`;

/**
 * Refuses a gallery whose checkpoint the run no longer holds, before a query is embedded with
 * that checkpoint as it is now: distances between features of two networks mean nothing.
 */
export function requireCurrentGallery(wb: Workbench, run: RunRow, gallery: FeatureIndexRow): void {
  const now = currentCheckpoint(wb, run, gallery.checkpoint);
  if (isCurrent(gallery, now)) return;
  throw new UserError(
    `${staleReason(run, gallery, now)}; build it again to query it with an image it does not hold (features of two networks are not comparable)`,
    rebuildHint(run, gallery),
  );
}

/**
 * Refuses query features computed by another network than the gallery's (the checkpoint was
 * replaced while the query was being embedded).
 */
export function requireSameNetwork(
  run: RunRow,
  gallery: FeatureIndexRow,
  query: { checkpointSha256: string },
): void {
  if (sameNetwork(gallery, query)) return;
  throw new UserError(
    `run ${run.id}'s ${gallery.checkpoint} checkpoint changed while the query was being embedded, so its features do not match the ${gallery.split} index`,
    rebuildHint(run, gallery),
  );
}

/**
 * The stored feature row of a dataset image: from the gallery itself, or from another of the
 * run's indexes built by the same network (never another checkpoint's). Null when none holds it.
 */
export function storedImageFeatures(
  wb: Workbench,
  run: RunRow,
  gallery: FeatureIndexRow,
  imageId: number,
): Float32Array | null {
  const others = runIndexes(wb.db, run.id).filter(
    (row) => row.id !== gallery.id && sameNetwork(row, gallery),
  );
  for (const row of [gallery, ...others]) {
    const at = readIndexIds(row.idsPath).indexOf(imageId);
    if (at >= 0) return readRows(row.path, at, 1);
  }
  return null;
}

/** The stored feature row of a dataset image, from an index built by the gallery's network. */
export function datasetImageFeatures(
  wb: Workbench,
  run: RunRow,
  gallery: FeatureIndexRow,
  imageId: number,
): Float32Array {
  const stored = storedImageFeatures(wb, run, gallery, imageId);
  if (stored) return stored;
  if (run.datasetId === null || !datasetImages(wb.db, run.datasetId).some((i) => i.idx === imageId))
    throw new NotFoundError(`dataset image ${imageId} does not exist`);
  const now = currentCheckpoint(wb, run, gallery.checkpoint);
  if (!isCurrent(gallery, now))
    throw new UserError(
      `dataset image ${imageId} is not in the ${gallery.split} index, and ${staleReason(run, gallery, now)}`,
      `${rebuildHint(run, gallery)}, then: svw index build ${run.id} --split all --checkpoint ${gallery.checkpoint}`,
    );
  throw new UserError(
    `dataset image ${imageId} is in none of run ${run.id}'s indexes of the epoch ${gallery.checkpointEpoch} ${gallery.checkpoint} checkpoint`,
    `build one with: svw index build ${run.id} --split all --checkpoint ${gallery.checkpoint}`,
  );
}

/**
 * The k nearest gallery images of a query vector, searched on a worker thread. A query that is
 * itself a dataset image (`exclude`) is left out of its own results, so k neighbours are others.
 */
export async function nearestImages(
  wb: Workbench,
  run: RunRow,
  gallery: FeatureIndexRow,
  query: Float32Array,
  k: number,
  metric: Metric,
  exclude: number | null,
): Promise<Hit[]> {
  if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
  const datasetId = run.datasetId;
  const ids = readIndexIds(gallery.idsPath);
  const [hits] = await searchInThread(gallery.path, query, k + (exclude === null ? 0 : 1), metric);
  const images = new Map(datasetImages(wb.db, datasetId).map((i) => [i.idx, i]));
  const classes = datasetClasses(wb.db, datasetId).map((c) => c.name);
  return hits!
    .filter((h) => ids[h.index] !== exclude)
    .slice(0, k)
    .map((h) => {
      const image = images.get(ids[h.index]!)!;
      return { image, className: classes[image.label]!, distance: h.distance };
    });
}
