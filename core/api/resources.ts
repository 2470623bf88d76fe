import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DATASET_FILES } from '../data/cache.js';
import { DatasetCache } from '../data/dataset.js';
import { meanImageFromBytes } from '../data/stats.js';
import { filterGrid, readWeight } from '../model/kernels.js';
import { findImage } from '../store/datasets.js';
import { getRun } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { resolveCheckpoint } from '../train/checkpoint.js';
import { errorMessage, NotFoundError } from '../util/errors.js';
import { requireDataset } from './datasets-api.js';
import { parseResourcePath, type Resource } from './contract.js';
import type { ResourceBody } from './host-service.js';

const png = async (data: Uint8Array, width: number, height: number): Promise<ResourceBody> => ({
  mime: 'image/png',
  body: await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer(),
});

/** A dataset image as it was cached at import: S×S RGB, as PNG; null when there is no such image. */
export async function datasetImagePng(wb: Workbench, datasetId: number, idx: number) {
  const dataset = requireDataset(wb.db, datasetId);
  if (!findImage(wb.db, datasetId, idx)) return null;
  const cache = new DatasetCache(wb.paths.dataset(datasetId), dataset.imageSize);
  try {
    const image = cache.read(idx);
    return png(image.data, image.width, image.height);
  } finally {
    cache.close();
  }
}

/** The dataset's mean training image, rounded to 8 bits. */
async function meanImage(wb: Workbench, datasetId: number) {
  const { imageSize: size } = requireDataset(wb.db, datasetId);
  const bytes = readFileSync(path.join(wb.paths.dataset(datasetId), DATASET_FILES.mean));
  const mean = meanImageFromBytes(bytes, size);
  return png(
    Uint8Array.from(mean, (v) => Math.round(v)),
    size,
    size,
  );
}

/** A checkpoint's conv1 filters as a grid, like the paper's Figure 3. */
async function filters(wb: Workbench, runId: number, checkpoint: 'best' | 'last') {
  if (!getRun(wb.db, runId)) return null;
  let dir: string;
  try {
    dir = resolveCheckpoint(wb.paths.run(runId), checkpoint);
  } catch {
    return null; // no checkpoint of that kind yet
  }
  const kernel = readWeight(dir, 'conv1/kernel');
  if (!kernel) return null;
  const grid = filterGrid(kernel.data, kernel.shape);
  return png(grid.data, grid.width, grid.height);
}

function load(wb: Workbench, r: Resource): Promise<ResourceBody | null> {
  switch (r.kind) {
    case 'image':
      return datasetImagePng(wb, r.datasetId, r.idx);
    case 'mean':
      return meanImage(wb, r.datasetId);
    case 'filters':
      return filters(wb, r.runId, r.checkpoint);
  }
}

/**
 * The PNG a `res/...` path names, or null when it names nothing: only ids come in, looked up
 * in the database, so no path given can reach outside the workbench home. Only "no such
 * thing" is null (a 404); a file that cannot be read or a corrupt checkpoint is thrown, for
 * the host to answer 500 and log.
 */
export async function resourceFor(wb: Workbench, p: unknown): Promise<ResourceBody | null> {
  const parsed = typeof p === 'string' ? parseResourcePath(p) : null;
  if (!parsed) return null;
  try {
    return await load(wb, parsed);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw new Error(`cannot serve ${String(p)}: ${errorMessage(err)}`, { cause: err });
  }
}
