import { afterAll, describe, expect, it } from 'vitest';
import { prepareRun } from '../../core/train/prepare.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { UserError } from '../../core/util/errors.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-prepare-');
const wb = openWorkbench(home.dir);
afterAll(() => {
  wb.close();
  home.cleanup();
});

/** A dataset whose cached images are `size`×`size`. */
function datasetOf(name: string, size: number): number {
  const id = seedDataset(wb, name);
  wb.db.prepare('UPDATE datasets SET image_size = ? WHERE id = ?').run(size, id);
  return id;
}

describe('prepareRun', () => {
  it('refuses a preset whose crop is larger than the images, saying how to fit it', () => {
    const photos = datasetOf('photos', 128);
    let error: unknown;
    try {
      prepareRun(wb.db, { dataset: photos, preset: 'alexnet-paper' });
    } catch (err) {
      error = err;
    }
    // The paper's 227×227 network is not quietly turned into a 128×128 one.
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      "the crop (227px) is larger than the images of dataset 'photos' (128×128): set inputSize to at most 128 or choose alexnet-cifar",
    );
    expect((error as UserError).hint).toMatch(/larger --size/);
  });

  it('takes a crop the user chose to fit, and the preset’s own where it fits', () => {
    const photos = datasetOf('photos-2', 128);
    const fitted = prepareRun(wb.db, {
      dataset: photos,
      preset: 'alexnet-paper',
      settings: ['inputSize=112'],
    });
    expect(fitted.config.model).toMatchObject({ inputSize: 112, sourceSize: 128 });
    // Set under its params name too.
    const named = prepareRun(wb.db, {
      dataset: photos,
      preset: 'alexnet-paper',
      settings: ['model.inputSize=96'],
    });
    expect(named.config.model.inputSize).toBe(96);
    const cifar = prepareRun(wb.db, { dataset: datasetOf('tiny', 32), preset: 'alexnet-cifar' });
    expect(cifar.config.model).toMatchObject({ inputSize: 24, sourceSize: 32, classes: 2 });
  });
});
