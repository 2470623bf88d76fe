import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetPayload } from '../../core/jobs/payload.js';
import {
  createVersion,
  datasetVersions,
  latestVersion,
  versionDiff,
  versionImages,
} from '../../core/store/dataset-versions.js';
import { getRun, insertRun } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir();
let wb: Workbench;
let id: number;

beforeAll(() => {
  wb = openWorkbench(home.dir);
  // 12 images: idx % 4 === 3 are val, label = idx % 2.
  id = seedDataset(wb, 'shapes', 12);
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

describe('dataset versions', () => {
  it('starts at version 1, the dataset as imported', () => {
    expect(latestVersion(wb.db, id)).toBe(1);
    expect(datasetVersions(wb.db, id)).toEqual([
      expect.objectContaining({
        version: 1,
        parent: null,
        trainCount: 9,
        valCount: 3,
        relabelled: 0,
        excluded: 0,
      }),
    ]);
  });

  it('relabels and excludes in a new version, leaving the original as it was', () => {
    const v2 = createVersion(wb.db, id, {
      parent: 1,
      changes: [
        { imageIdx: 0, action: 'relabel', label: 1 },
        { imageIdx: 3, action: 'exclude' },
      ],
      note: 'review of run 1',
    });
    expect(v2).toBe(2);
    const images = versionImages(wb.db, id, 2);
    expect(images.find((i) => i.idx === 0)?.label).toBe(1);
    expect(images.some((i) => i.idx === 3)).toBe(false);
    expect(versionImages(wb.db, id, 1).find((i) => i.idx === 0)?.label).toBe(0);
    expect(versionImages(wb.db, id, 1)).toHaveLength(12);
    expect(versionDiff(wb.db, id, 2)).toEqual([
      { imageIdx: 0, split: 'train', path: '/data/shapes/a/0.png', before: 0, after: 1 },
      { imageIdx: 3, split: 'val', path: '/data/shapes/b/3.png', before: 1, after: null },
    ]);
    expect(datasetVersions(wb.db, id)[1]).toMatchObject({
      version: 2,
      parent: 1,
      note: 'review of run 1',
      trainCount: 9,
      valCount: 2,
      relabelled: 1,
      excluded: 1,
    });
  });

  it('builds on its parent: changes accumulate, and relabelling back undoes one', () => {
    const v3 = createVersion(wb.db, id, {
      parent: 2,
      changes: [
        { imageIdx: 0, action: 'relabel', label: 0 },
        { imageIdx: 4, action: 'exclude' },
      ],
    });
    const images = versionImages(wb.db, id, v3);
    expect(images.find((i) => i.idx === 0)?.label).toBe(0);
    expect(images.map((i) => i.idx)).not.toContain(3);
    expect(images.map((i) => i.idx)).not.toContain(4);
    expect(versionDiff(wb.db, id, v3).map((d) => [d.imageIdx, d.before, d.after])).toEqual([
      [0, 1, 0],
      [4, 0, null],
    ]);
  });

  it('refuses changes that change nothing, unknown images and classes, and excluded images', () => {
    const make =
      (changes: Parameters<typeof createVersion>[2]['changes'], parent = 2) =>
      () =>
        createVersion(wb.db, id, { parent, changes });
    expect(make([{ imageIdx: 1, action: 'relabel', label: 1 }])).toThrow(/change nothing/);
    expect(make([{ imageIdx: 99, action: 'exclude' }])).toThrow(/no image 99/);
    expect(make([{ imageIdx: 1, action: 'relabel', label: 2 }])).toThrow(/class from 0 to 1/);
    expect(make([{ imageIdx: 3, action: 'relabel', label: 0 }])).toThrow(/already excluded/);
    expect(make([{ imageIdx: 1, action: 'exclude' }], 9)).toThrow(/no version 9/);
    expect(latestVersion(wb.db, id)).toBe(3);
  });

  it('gives a job the images and labels of the run’s version', () => {
    const payload = datasetPayload(wb.db, wb.paths, id, 2);
    expect(payload.trainLabels[payload.trainIdx.indexOf(0)]).toBe(1);
    expect(payload.valIdx).not.toContain(3);
    expect(datasetPayload(wb.db, wb.paths, id).valIdx).toContain(3);
  });

  it('trains on the newest version by default, or the one named with @N, and records it', () => {
    const request = { preset: 'alexnet-cifar', settings: ['inputSize=24'] };
    expect(prepareRun(wb.db, { ...request, dataset: 'shapes' }).version).toBe(3);
    const { config, dataset, version } = prepareRun(wb.db, { ...request, dataset: 'shapes@2' });
    expect([dataset.id, version]).toEqual([id, 2]);
    const runId = insertRun(wb.db, {
      experiment: 'x',
      datasetId: id,
      datasetVersion: version,
      config,
    });
    expect(getRun(wb.db, runId)?.datasetVersion).toBe(2);
    expect(() => prepareRun(wb.db, { ...request, dataset: 'shapes@7' })).toThrow(/no version 7/);
    expect(() => prepareRun(wb.db, { ...request, dataset: 'nothing@2' })).toThrow(/no dataset/);
  });
});
