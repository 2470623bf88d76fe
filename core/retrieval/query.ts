import { versionImages } from '../store/dataset-versions.js';
import { datasetClasses, datasetImages, type DatasetImage } from '../store/datasets.js';
import { findIndex, type FeatureIndexRow } from '../store/indexes.js';
import type { RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import type { CheckpointKind } from '../train/checkpoint.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { readIndexIds } from './retrieval-eval.js';
import { FeatureIndex, readRows, type Metric } from './search.js';

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

/**
 * The stored feature row of a dataset image, from whichever of the run's indexes at the
 * gallery's checkpoint holds it; null when none does.
 */
export function storedImageFeatures(
  wb: Workbench,
  run: RunRow,
  gallery: FeatureIndexRow,
  imageId: number,
): Float32Array | null {
  for (const split of ['train', 'val', 'all'] as const) {
    const row = findIndex(wb.db, run.id, split, gallery.checkpoint);
    if (!row) continue;
    const at = readIndexIds(row.idsPath).indexOf(imageId);
    if (at >= 0) return readRows(row.path, at, 1);
  }
  return null;
}

/** The stored feature row of a dataset image, from whichever of the run's indexes holds it. */
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
  throw new UserError(
    `dataset image ${imageId} is in none of run ${run.id}'s indexes`,
    `build one with: svw index build ${run.id} --split all`,
  );
}

/**
 * The k nearest gallery images of a query vector. A query that is itself a dataset image
 * (`exclude`) is left out of its own results, so k neighbours are other images.
 */
export function nearestImages(
  wb: Workbench,
  run: RunRow,
  gallery: FeatureIndexRow,
  query: Float32Array,
  k: number,
  metric: Metric,
  exclude: number | null,
): Hit[] {
  if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
  const ids = readIndexIds(gallery.idsPath);
  const index = FeatureIndex.open(gallery.path);
  let hits;
  try {
    hits = index.search(query, k + (exclude === null ? 0 : 1), metric)[0]!;
  } finally {
    index.close();
  }
  // Labels as the run's dataset version has them.
  const images = new Map(
    versionImages(wb.db, run.datasetId, run.datasetVersion).map((i) => [i.idx, i]),
  );
  const classes = datasetClasses(wb.db, run.datasetId).map((c) => c.name);
  return hits
    .filter((h) => ids[h.index] !== exclude)
    .slice(0, k)
    .map((h) => {
      const image = images.get(ids[h.index]!)!;
      return { image, className: classes[image.label]!, distance: h.distance };
    });
}
