import { versionImages } from '../store/dataset-versions.js';
import { datasetClasses, findDataset } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import type { HomePaths } from '../store/paths.js';
import { UserError } from '../util/errors.js';
import type { DatasetPayload } from '../schema/messages.js';

/**
 * Everything a worker needs to read a version of a dataset, taken from the database by the
 * host: the images the version keeps, with its labels.
 */
export function datasetPayload(
  db: Db,
  paths: HomePaths,
  datasetId: number,
  version = 1,
): DatasetPayload {
  const row = findDataset(db, datasetId);
  if (!row) throw new UserError(`the run's dataset (id ${datasetId}) has been removed`);
  const images = versionImages(db, datasetId, version);
  const train = images.filter((i) => i.split === 'train');
  const val = images.filter((i) => i.split === 'val');
  return {
    dir: paths.dataset(datasetId),
    size: row.imageSize,
    classes: datasetClasses(db, datasetId).map((c) => c.name),
    trainIdx: train.map((i) => i.idx),
    trainLabels: train.map((i) => i.label),
    valIdx: val.map((i) => i.idx),
    valLabels: val.map((i) => i.label),
  };
}
