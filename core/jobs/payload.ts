import { datasetClasses, datasetImages, findDataset } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import type { HomePaths } from '../store/paths.js';
import { UserError } from '../util/errors.js';
import type { DatasetPayload } from '../schema/messages.js';

/** Everything a worker needs to read a dataset, taken from the database by the host. */
export function datasetPayload(db: Db, paths: HomePaths, datasetId: number): DatasetPayload {
  const row = findDataset(db, datasetId);
  if (!row) throw new UserError(`the run's dataset (id ${datasetId}) has been removed`);
  const images = datasetImages(db, datasetId);
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
