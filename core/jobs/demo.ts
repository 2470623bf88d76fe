import { existsSync } from 'node:fs';
import path from 'node:path';
import { importDataset, type ImportResult } from '../data/import.js';
import { findDataset } from '../store/datasets.js';
import { insertRun } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { prepareRun } from '../train/prepare.js';
import { unpackedPath } from '../util/module-path.js';
import { packageRoot } from '../util/package-root.js';

/** The name the bundled CIFAR-10 sample is imported under. */
export const DEMO_DATASET = 'cifar10-demo';
export const DEMO_PRESET = 'alexnet-cifar';
export const DEMO_EPOCHS = 3;

/** The bundled CIFAR-10 sample (Krizhevsky 2009) shipped with the workbench. */
// sharp (native code) cannot read inside the packaged app's asar archive, only its unpacked twin.
export const demoFolder = () => unpackedPath(path.join(packageRoot(), 'demo', 'cifar10-demo'));

export const demoAvailable = () => existsSync(demoFolder());

/**
 * Sets up the demo: imports the bundled sample unless it is already imported, and records a
 * queued alexnet-cifar run on it (batch 64) in the 'demo' experiment, for the caller to start.
 */
export async function prepareDemo(
  wb: Workbench,
  options: { epochs?: number; onImported?: (imported: ImportResult) => void } = {},
): Promise<{ datasetId: number; runId: number }> {
  if (!findDataset(wb.db, DEMO_DATASET)) {
    const imported = await importDataset(wb.db, demoFolder(), { name: DEMO_DATASET }, wb.paths);
    options.onImported?.(imported);
  }
  const { config, dataset } = prepareRun(wb.db, {
    dataset: DEMO_DATASET,
    preset: DEMO_PRESET,
    epochs: options.epochs ?? DEMO_EPOCHS,
    settings: ['batch=64'],
  });
  const runId = insertRun(wb.db, { experiment: 'demo', datasetId: dataset.id, config });
  return { datasetId: dataset.id, runId };
}
