import { describe, expect, it } from 'vitest';
import { checkVariants, fieldOfError } from '../../renderer/src/components/new-run/request';
import {
  scheduleChartConfig,
  scheduleSummary,
} from '../../renderer/src/components/new-run/schedule-chart';
import { fieldNames, fieldSpecs, resolveKey } from '../../renderer/src/components/new-run/settings';
import { cifarPreset, settings } from './new-run-fixtures';

describe('new-run settings', () => {
  const specs = fieldSpecs(settings, cifarPreset);
  const names = fieldNames(settings, specs);

  it("makes one field per described setting with the preset's default", () => {
    const by = Object.fromEntries(specs.map((s) => [s.key, s]));
    expect(Object.keys(by)).not.toContain('lr');
    expect(by['optim.lr']).toMatchObject({ group: 'optim', kind: 'number', default: 0.01 });
    expect(by['optim.type']).toMatchObject({
      kind: 'choice',
      choices: ['sgd', 'nesterov', 'adam'],
    });
    expect(by['data.flip']).toMatchObject({ group: 'data', kind: 'boolean' });
    expect(by['schedule.milestones']).toMatchObject({ group: 'schedule', kind: 'list' });
    expect(by['conv1.filters']).toMatchObject({ group: 'model', default: 64 });
    expect(by['dropout']).toMatchObject({ group: 'model', default: 0.5 });
    // The host fits these to the dataset; a field could only get them wrong.
    expect(by['classes']).toBeUndefined();
    expect(by['sourceSize']).toBeUndefined();
    expect(by['batchSize']!.group).toBe('optim');
    expect(by['epochs']!.group).toBe('run');
  });

  it('resolves aliases and model key spellings', () => {
    expect(resolveKey('lr', names)).toBe('optim.lr');
    expect(resolveKey('model.dropout', names)).toBe('dropout');
    expect(resolveKey('model.conv.1.filters', names)).toBe('conv1.filters');
    expect(resolveKey('pool', names)).toBeNull();
    expect(names.shorthands.get('pool')).toEqual(['pool.size', 'pool.stride']);
    expect(fieldOfError('settings.1', ['epochs=3', 'batch=7'], names)).toBe('batchSize');
    expect(fieldOfError('lr=-1', [], names)).toBe('optim.lr');
    expect(fieldOfError(null, [], names)).toBeNull();
  });

  it('checks each sweep value once rather than every combination', () => {
    const variants = checkVariants({
      settings: ['epochs=5'],
      sweep: { 'optim.lr': ['0.01', '0.02', '0.03'], batchSize: ['64', '128'] },
    });
    expect(variants).toEqual([
      ['optim.lr=0.01', 'batchSize=64', 'epochs=5'],
      ['optim.lr=0.02', 'batchSize=64', 'epochs=5'],
      ['optim.lr=0.03', 'batchSize=64', 'epochs=5'],
      ['optim.lr=0.01', 'batchSize=128', 'epochs=5'],
    ]);
  });

  it('charts the schedule as steps, on a log axis when asked', () => {
    const points = [
      { epoch: 1, lr: 0.01 },
      { epoch: 2, lr: 0.01 },
      { epoch: 3, lr: 0.1 * 0.01 },
    ];
    const config = scheduleChartConfig(points, true);
    expect(config.data.labels).toEqual([1, 2, 3]);
    expect(config.data.datasets[0]!.data).toEqual([0.01, 0.01, 0.001]);
    expect(config.options?.scales?.y?.type).toBe('logarithmic');
    expect(scheduleChartConfig(points, false).options?.scales?.y?.type).toBe('linear');
    expect(scheduleSummary(points)).toBe('0.01 → 0.001 at epoch 3');
  });
});
