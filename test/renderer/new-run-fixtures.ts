import type { PresetInfo } from '../../core/api/contract';
import type { DatasetRow } from '../../core/store/datasets';
// Tests may run core: the presets and settings here are built exactly as the host builds them.
import { flattenParams, presetRunConfig } from '../../core/schema/run-config';
import { settingsInfo } from '../../core/schema/settings';

function preset(name: string, description: string): PresetInfo {
  const defaults = presetRunConfig(name);
  return {
    name,
    description,
    defaults,
    flat: flattenParams(defaults),
    ablations: [
      { label: 'No local response normalisation', setting: 'lrn=off' },
      { label: 'One tower instead of two', setting: 'groups=1' },
      { label: 'No dropout', setting: 'dropout=0' },
    ],
  };
}

/** What the host's `settings` method serves. */
export const settings = settingsInfo();

export const cifarPreset = preset('alexnet-cifar', 'AlexNet scaled for 32×32 images');
export const paperPreset = preset('alexnet-paper', 'The network of the paper');

export const dataset: DatasetRow = {
  id: 3,
  name: 'cifar10-small',
  sourcePath: '/data/cifar10-small',
  layout: 'imagefolder',
  imageSize: 32,
  classCount: 10,
  trainCount: 5000,
  valCount: 1000,
  skippedCount: 0,
  valSplit: null,
  seed: 0,
  maxPerClass: null,
  fingerprint: 'abc',
  createdAt: '2025-01-01T00:00:00.000Z',
};
