import { latestVersion, versionImages } from '../store/dataset-versions.js';
import { findDataset, type DatasetRow } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { NotFoundError, UserError } from '../util/errors.js';
import { PRESET_NAMES, presetConfig } from '../schema/model-config.js';
import { presetRunConfig, validateRunConfig, type RunConfig } from '../schema/run-config.js';
import { applyRunSettings, findSetting } from '../schema/apply-settings.js';
import { runSettings } from '../schema/settings.js';
import { checkThreads } from './threads.js';

export interface RunRequest {
  /** A dataset id or name, optionally with a version: `pets@2`. */
  dataset: string | number;
  /** The dataset version to train on (after any `@N` in `dataset`); the newest when omitted. */
  version?: number;
  preset: string;
  settings?: readonly string[];
  epochs?: number;
}

/** The dataset a request names (`pets`, `3`, `pets@2`) and the version it asks for, if any. */
function findRequested(db: Db, request: RunRequest): { dataset: DatasetRow; version?: number } {
  const exact = findDataset(db, request.dataset);
  if (exact) return { dataset: exact, version: request.version };
  const at = /^(.+)@(\d+)$/.exec(String(request.dataset));
  const dataset = at ? findDataset(db, at[1]!) : undefined;
  if (!dataset || !at)
    throw new NotFoundError(
      `no dataset '${request.dataset}'`,
      'svw dataset list shows the datasets',
    );
  return { dataset, version: request.version ?? Number(at[2]) };
}

/**
 * Turns a request into a validated run config for a version of a dataset, before any job
 * starts: the model gets the dataset's image size and class count, and a config that cannot
 * work with the dataset (a crop larger than its images, another number of classes) or this
 * machine (more threads than it has cores) is refused clearly. The preset's crop is never shrunk to fit behind the user's back: that would be
 * another network.
 */
export function prepareRun(
  db: Db,
  request: RunRequest,
): { config: RunConfig; dataset: DatasetRow; version: number } {
  const found = findRequested(db, request);
  const version = found.version ?? latestVersion(db, found.dataset.id);
  const trainCount = versionImages(db, found.dataset.id, version, 'train').length;
  const dataset = { ...found.dataset, trainCount };
  const base = presetRunConfig(request.preset);
  base.model.sourceSize = dataset.imageSize;
  base.model.classes = dataset.classCount;
  const settings = [...(request.settings ?? [])];
  if (request.epochs !== undefined) settings.push(`epochs=${request.epochs}`);
  // Said before the settings are applied, which would only say the crop exceeds sourceSize.
  const entries = runSettings();
  const setsCrop = settings.some((s) => {
    const path = findSetting(entries, s.split('=')[0]!.trim())?.path;
    return path?.join('.') === 'model.inputSize';
  });
  if (!setsCrop && base.model.inputSize > dataset.imageSize)
    throw cropTooLarge(base.model.inputSize, dataset);
  const config = checkThreads(applyRunSettings(base, settings));
  checkAgainstDataset(config, dataset);
  return { config, dataset: found.dataset, version };
}

export function checkAgainstDataset(config: RunConfig, dataset: DatasetRow): RunConfig {
  if (config.model.classes !== dataset.classCount) {
    throw new UserError(
      `the model has ${config.model.classes} classes but dataset '${dataset.name}' has ${dataset.classCount}`,
    );
  }
  if (config.model.inputSize > dataset.imageSize)
    throw cropTooLarge(config.model.inputSize, dataset);
  if (config.model.sourceSize !== dataset.imageSize) {
    throw new UserError(`sourceSize must be the dataset's image size, ${dataset.imageSize}`);
  }
  if (dataset.trainCount < 1)
    throw new UserError(`dataset '${dataset.name}' has no training images`);
  return validateRunConfig(config);
}

/** A crop the dataset's images cannot give, with the ways to fit it. */
function cropTooLarge(crop: number, dataset: DatasetRow): UserError {
  const size = dataset.imageSize;
  const fitting = PRESET_NAMES.filter((p) => presetConfig(p).inputSize <= size);
  return new UserError(
    `the crop (${crop}px) is larger than the images of dataset '${dataset.name}' (${size}×${size}): set inputSize to at most ${size}${fitting.length ? ` or choose ${fitting.join(' or ')}` : ''}`,
    'if the original images are larger, import them again with a larger --size',
  );
}
