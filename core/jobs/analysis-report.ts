import type { DuplicatesResult, LabelErrorsResult } from '../schema/analysis.js';
import { versionImages } from '../store/dataset-versions.js';
import { datasetClasses, type DatasetImage } from '../store/datasets.js';
import type { RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { UserError } from '../util/errors.js';

/** An image as reports show it: id, file, split and its label in the run's dataset version. */
export interface ReportImage {
  imageId: number;
  path: string;
  split: DatasetImage['split'];
  label: number;
  className: string;
}

/** The images of a run's dataset version by id, with class names. */
export function runImages(wb: Workbench, run: RunRow) {
  if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
  const classes = datasetClasses(wb.db, run.datasetId).map((c) => c.name);
  const images = new Map(
    versionImages(wb.db, run.datasetId, run.datasetVersion).map((i) => [i.idx, i]),
  );
  const image = (id: number): ReportImage => {
    const found = images.get(id);
    if (!found) throw new Error(`image ${id} is not in run ${run.id}'s dataset version`);
    return {
      imageId: id,
      path: found.path,
      split: found.split,
      label: found.label,
      className: classes[found.label]!,
    };
  };
  return { classes, images, image };
}

export interface DuplicateReport {
  /** Identical pixels, in any splits. */
  exact: { a: ReportImage; b: ReportImage }[];
  /** Near copies within one split. */
  near: { a: ReportImage; b: ReportImage; similarity: number; pixel: number }[];
  /** Copies across train and val (exact ones with similarity 1): the val image was seen in training. */
  leaks: {
    train: ReportImage;
    other: ReportImage;
    split: 'val';
    similarity: number;
    pixel: number;
  }[];
  candidates: number;
  threshold: number;
  pixelThreshold: number;
}

/** Sorts a duplicates result into exact copies, near copies within a split, and leaks across. */
export function duplicateReport(
  wb: Workbench,
  run: RunRow,
  result: DuplicatesResult,
): DuplicateReport {
  const { image } = runImages(wb, run);
  const leaks: DuplicateReport['leaks'] = [];
  const leak = (a: ReportImage, b: ReportImage, similarity: number, pixel: number) => {
    if (a.split === b.split) return false;
    const [train, other] = a.split === 'train' ? [a, b] : [b, a];
    leaks.push({ train, other, split: 'val', similarity, pixel });
    return true;
  };
  const exact = result.exact.map(([a, b]) => ({ a: image(a), b: image(b) }));
  for (const pair of exact) leak(pair.a, pair.b, 1, 1);
  const near = result.near.flatMap(({ a, b, similarity, pixel }) => {
    const pair = { a: image(a), b: image(b), similarity, pixel };
    return leak(pair.a, pair.b, similarity, pixel) ? [] : [pair];
  });
  leaks.sort((x, y) => y.similarity - x.similarity);
  return {
    exact,
    near,
    leaks,
    candidates: result.candidates,
    threshold: result.threshold,
    pixelThreshold: result.pixelThreshold,
  };
}

export interface LabelErrorItem {
  image: ReportImage;
  suggested: number;
  suggestedClass: string;
  score: number;
  disagreement: number;
  otherConfidence: number;
  neighbours: ReportImage[];
}

/** The `top` most suspicious labels, with their images and neighbours. */
export function labelErrorReport(
  wb: Workbench,
  run: RunRow,
  result: LabelErrorsResult,
  top: number,
): LabelErrorItem[] {
  const { classes, image } = runImages(wb, run);
  return result.items.slice(0, top).map((item) => ({
    image: image(item.imageId),
    suggested: item.suggested,
    suggestedClass: classes[item.suggested]!,
    score: item.score,
    disagreement: item.disagreement,
    otherConfidence: item.otherConfidence,
    neighbours: item.neighbours.map(image),
  }));
}
