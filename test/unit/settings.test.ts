import { describe, expect, it } from 'vitest';
import {
  applyModelSettings,
  applyRunSettings,
  settingsBetween,
} from '../../core/schema/apply-settings.js';
import { presetConfig } from '../../core/schema/model-config.js';
import { configHash, flattenParams, presetRunConfig } from '../../core/schema/run-config.js';
import { settingsInfo } from '../../core/schema/settings.js';

const info = settingsInfo();
const by = Object.fromEntries(info.settings.map((d) => [d.key, d]));
const cifar = () => presetRunConfig('alexnet-cifar');

describe('setting descriptors', () => {
  it('describe every leaf of a run config but its preset, once', () => {
    const params = Object.keys(flattenParams(cifar())).filter((k) => k !== 'model.preset');
    expect(info.settings.map((d) => d.param).sort()).toEqual(params.sort());
  });

  it('give every setting its own names, help and a group the form has', () => {
    const names = [
      ...info.settings.flatMap((d) => [d.key, ...d.aliases]),
      ...info.shorthands.map((s) => s.key),
    ];
    expect(new Set(names).size).toBe(names.length);
    const groups = new Set(info.groups.map((g) => g.id));
    for (const d of info.settings) {
      expect(d.help.length, d.key).toBeGreaterThan(5);
      expect(groups.has(d.group), d.key).toBe(true);
    }
    for (const s of info.shorthands) for (const k of s.sets) expect(by[k], k).toBeDefined();
  });

  it('read kind, range and choices from the schema and defaults from each preset', () => {
    expect(by['optim.lr']).toMatchObject({ kind: 'number', min: 0, minExclusive: true });
    expect(by['optim.lr']!.aliases).toEqual(['lr']);
    expect(by['batchSize']).toMatchObject({ kind: 'integer', min: 1, max: 4096, group: 'optim' });
    expect(by['conv1.filters']).toMatchObject({
      kind: 'integer',
      min: 1,
      param: 'model.conv.1.filters',
    });
    expect(by['groups']).toMatchObject({ kind: 'choice', choices: ['1', '2'] });
    expect(by['lrn.mode']).toMatchObject({ kind: 'choice', choices: ['paper', 'caffe', 'off'] });
    expect(by['schedule.milestones']).toMatchObject({ kind: 'list', min: 1, unit: 'epochs' });
    expect(by['epochs']!.defaults).toEqual({ 'alexnet-paper': 90, 'alexnet-cifar': 30 });
    expect(by['fc']!.defaults['alexnet-cifar']).toEqual([1024, 1024]);
    expect(by['classes']!.fromDataset).toBe(true);
    expect(by['inputSize']!.fromDataset).toBeUndefined();
  });
});

describe('--set', () => {
  it('parses each value as its kind, under any of its names', () => {
    const c = applyRunSettings(cifar(), [
      'lr=0.02',
      'lrn.mode=off',
      'groups=1',
      'flip=off',
      'schedule.milestones=10',
      'model.conv.2.filters=96',
      'model.dropout=0.3',
      'optimizer=adam',
    ]);
    expect(c.optim).toMatchObject({ lr: 0.02, type: 'adam' });
    expect(c.model).toMatchObject({ groups: 1, dropout: 0.3, lrn: { mode: 'off' } });
    expect(c.model.conv[1]!.filters).toBe(96);
    expect(c.data.flip).toBe(false);
    expect(c.schedule.milestones).toEqual([10]);
    expect(applyRunSettings(cifar(), ['schedule.milestones=']).schedule.milestones).toEqual([]);
  });

  it('refuses text that cannot be of the kind, naming the setting', () => {
    const bad = (s: string) => () => applyRunSettings(cifar(), [s]);
    expect(bad('lr=abc')).toThrow(/optim\.lr takes a number/);
    expect(bad('flip=maybe')).toThrow(/data\.flip takes true or false/);
    expect(bad('schedule.milestones=3,x')).toThrow(/numbers separated by commas/);
    expect(bad('optimizer=rmsprop')).toThrow(/optim\.type/);
    expect(bad('colour=red')).toThrow(
      /unknown setting 'colour' \(settable: .*optimizer, optim\.type/,
    );
    expect(bad('lrn=big')).toThrow(/choose paper, caffe, off/);
    expect(() => applyModelSettings(presetConfig('alexnet-paper'), ['lr=1'])).toThrow(
      /unknown setting 'lr'/,
    );
  });

  it('expands shorthands into the settings they stand for', () => {
    const c = applyRunSettings(cifar(), ['lrn=caffe', 'pool=2/2']);
    expect(c.model.lrn).toEqual({ mode: 'caffe', size: 5, k: 1, alpha: 1e-4, beta: 0.75 });
    expect(c.model.pool).toEqual({ size: 2, stride: 2 });
  });
});

describe('settingsBetween', () => {
  it('spells a config as settings that recreate it, ablations as their shorthands', () => {
    const settings = [
      'lrn=off',
      'pool=2/2',
      'groups=1',
      'conv2.filters=96',
      'mean=pixel',
      'schedule.milestones=3,6',
      'epochs=7',
    ];
    const config = applyRunSettings(cifar(), settings);
    const between = settingsBetween(cifar(), config);
    expect(between).toEqual([
      'lrn=off',
      'pool=2/2',
      'conv2.filters=96',
      'groups=1',
      'schedule.milestones=3,6',
      'data.mean=pixel',
      'epochs=7',
    ]);
    expect(configHash(applyRunSettings(cifar(), between))).toBe(configHash(config));
    expect(settingsBetween(cifar(), cifar())).toEqual([]);
  });
});
