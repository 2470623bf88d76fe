import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll } from 'vitest';
import { importDataset } from '../../core/data/import.js';
import { selectBackend } from '../../core/engine/backends.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { ROOT, tempDir } from './cli.js';

/**
 * A workbench in a temporary home with the bundled demo images imported as dataset 'tiny'
 * (`maxPerClass` per class), and the wasm engine loaded, for training in the test's own process.
 * Returns the workbench (open from beforeAll to afterAll) and the home folder.
 */
export function tinyTrainingHome(maxPerClass: number): { wb: () => Workbench; dir: string } {
  const home = tempDir('svw-home-');
  let wb: Workbench | null = null;
  beforeAll(async () => {
    wb = openWorkbench(home.dir);
    await importDataset(
      wb.db,
      path.join(ROOT, 'demo/cifar10-demo'),
      { name: 'tiny', maxPerClass },
      wb.paths,
    );
    tf.enableProdMode();
    await selectBackend('wasm');
  });
  afterAll(() => {
    wb?.close();
    home.cleanup();
  });
  return {
    wb: () => {
      if (!wb) throw new Error('the workbench opens in beforeAll');
      return wb;
    },
    dir: home.dir,
  };
}
