import { findDataset, type DatasetRow } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { presetRunConfig, validateRunConfig, type RunConfig } from '../schema/run-config.js';
import { applyRunSettings } from '../schema/apply-settings.js';
import { checkThreads } from './threads.js';

export interface RunRequest {
  dataset: string | number;
  preset: string;
  settings?: readonly string[];
  epochs?: number;
}

/**
 * Turns a request into a validated run config for a dataset, before any job starts: the model
 * gets the dataset's image size and class count, and a config that cannot work with the
 * dataset (a crop larger than its images, another number of classes) or this machine (more
 * threads than it has cores) is refused clearly.
 */
export function prepareRun(
  db: Db,
  request: RunRequest,
): { config: RunConfig; dataset: DatasetRow } {
  const dataset = findDataset(db, request.dataset);
  if (!dataset)
    throw new NotFoundError(
      `no dataset '${request.dataset}'`,
      'svw dataset list shows the datasets',
    );
  const base = presetRunConfig(request.preset);
  base.model.sourceSize = dataset.imageSize;
  base.model.classes = dataset.classCount;
  base.model.inputSize = Math.min(base.model.inputSize, dataset.imageSize);
  const settings = [...(request.settings ?? [])];
  if (request.epochs !== undefined) settings.push(`epochs=${request.epochs}`);
  const config = checkThreads(applyRunSettings(base, settings));
  checkAgainstDataset(config, dataset);
  return { config, dataset };
}

export function checkAgainstDataset(config: RunConfig, dataset: DatasetRow): RunConfig {
  if (config.model.classes !== dataset.classCount) {
    throw new UserError(
      `the model has ${config.model.classes} classes but dataset '${dataset.name}' has ${dataset.classCount}`,
    );
  }
  if (config.model.inputSize > dataset.imageSize) {
    throw new UserError(
      `the crop (${config.model.inputSize}px) is larger than the images of dataset '${dataset.name}' (${dataset.imageSize}×${dataset.imageSize})`,
    );
  }
  if (config.model.sourceSize !== dataset.imageSize) {
    throw new UserError(`sourceSize must be the dataset's image size, ${dataset.imageSize}`);
  }
  if (dataset.trainCount < 1)
    throw new UserError(`dataset '${dataset.name}' has no training images`);
  return validateRunConfig(config);
}
