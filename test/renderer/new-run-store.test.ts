import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckResult, MethodInput, WorkbenchApi } from '../../core/api/contract';
import { ApiError } from '../../renderer/src/api/client';
import { CHECK_DEBOUNCE_MS, useNewRunStore } from '../../renderer/src/stores/new-run';
import { installFakeClient } from './fake-client';
import { cifarPreset, dataset, paperPreset, settings } from './new-run-fixtures';

const ok: CheckResult = { ok: true, config: cifarPreset.defaults, flat: cifarPreset.flat };

function setup(handlers: Partial<WorkbenchApi> = {}) {
  return installFakeClient({
    listDatasets: async () => [dataset],
    presets: async () => [cifarPreset, paperPreset],
    settings: async () => settings,
    checkRun: async () => ok,
    schedulePreview: async () => [
      { epoch: 1, lr: 0.01 },
      { epoch: 2, lr: 0.001 },
    ],
    ...handlers,
  });
}

describe('new-run store', () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => {
    useNewRunStore().$dispose();
    vi.useRealTimers();
  });

  it('starts from the first preset and dataset with no settings', async () => {
    setup();
    const store = useNewRunStore();
    await store.load();
    expect(store.presetName).toBe('alexnet-cifar');
    expect(store.datasetId).toBe(3);
    expect(store.values['optim.lr']).toBe('0.01');
    expect(store.specs.map((s) => s.key)).not.toContain('lr');
    expect(store.request.settings).toEqual([]);
    expect(store.runCount).toBe(1);
  });

  it('turns changed fields into key=value settings, and only those', async () => {
    setup();
    const store = useNewRunStore();
    await store.load();
    store.setValue('optim.lr', '0.02');
    store.setValue('optim.momentum', '0.90');
    store.setValue('data.flip', 'false');
    store.setValue('optim.type', 'nesterov');
    expect(store.request.settings).toEqual([
      'optim.type=nesterov',
      'optim.lr=0.02',
      'data.flip=false',
    ]);
    store.resetValue('optim.lr');
    expect(store.request.settings).not.toContain('optim.lr=0.02');
  });

  it('makes a sweep of comma-separated numbers and counts the runs', async () => {
    setup();
    const store = useNewRunStore();
    await store.load();
    store.setValue('optim.lr', '0.01, 0.02, 0.005');
    store.setValue('batchSize', '64,128');
    store.setValue('epochs', '20,');
    expect(store.request.sweep).toEqual({
      'optim.lr': ['0.01', '0.02', '0.005'],
      batchSize: ['64', '128'],
    });
    expect(store.request.settings).toEqual(['epochs=20']);
    expect(store.runCount).toBe(6);
    store.setValue('batchSize', '64,abc');
    expect(store.fieldErrors.batchSize).toBe("'abc' is not a number");
  });

  it('adds ablation settings, which take over the field they set', async () => {
    setup();
    const store = useNewRunStore();
    await store.load();
    store.setValue('groups', '1');
    store.setAblation(1, true);
    store.setAblation(0, true);
    expect(store.request.settings).toEqual(['lrn=off', 'groups=1']);
    expect(store.request.overridden).toMatchObject({
      groups: 'groups=1',
      'lrn.mode': 'lrn=off',
      'lrn.k': 'lrn=off',
    });
    expect(store.request.overridden['pool.size']).toBeUndefined();
  });

  it('checks every sweep value and maps the host’s errors to their fields', async () => {
    const fake = setup({
      checkRun: async ({ settings }) =>
        settings.includes('optim.lr=-1')
          ? { ok: false, errors: [{ setting: 'optim.lr=-1', message: 'must be positive' }] }
          : settings.includes('epochs=0')
            ? { ok: false, errors: [{ setting: 'epochs', message: 'at least 1' }] }
            : { ok: false, errors: [{ setting: null, message: 'dataset images are too small' }] },
    });
    const store = useNewRunStore();
    await store.load();
    store.setValue('optim.lr', '0.01,-1');
    store.setValue('epochs', '0');
    expect(await store.validate()).toBe(false);
    const checks = fake.calls
      .filter(([m]) => m === 'checkRun')
      .map(([, i]) => (i as MethodInput<'checkRun'>).settings);
    expect(checks).toEqual([
      ['optim.lr=0.01', 'epochs=0'],
      ['optim.lr=-1', 'epochs=0'],
    ]);
    expect(store.fieldErrors).toEqual({ 'optim.lr': 'must be positive', epochs: 'at least 1' });

    store.setValue('optim.lr', '0.01');
    store.setValue('epochs', '30');
    await store.validate();
    expect(store.fieldErrors).toEqual({});
    expect(store.generalErrors).toEqual(['dataset images are too small']);
    expect(store.canSubmit).toBe(false);
  });

  it('checks and previews the schedule once editing pauses', async () => {
    vi.useFakeTimers();
    const fake = setup();
    const store = useNewRunStore();
    await store.load();
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS + 10);
    const count = (m: string) => fake.calls.filter(([c]) => c === m).length;
    expect(count('schedulePreview')).toBe(1);
    store.setValue('optim.lr', '0.0');
    store.setValue('optim.lr', '0.05');
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS + 10);
    expect(count('schedulePreview')).toBe(2);
    expect(count('checkRun')).toBe(2);
    expect(fake.calls.at(-1)![1]).toEqual({ preset: 'alexnet-cifar', settings: ['optim.lr=0.05'] });
    expect(store.schedule).toHaveLength(2);
  });

  it('prefills from a cloned run', async () => {
    setup({
      // As the host spells a clone: full keys, conv layers as convN.
      cloneRun: async () => ({
        preset: 'alexnet-paper',
        datasetId: 3,
        settings: [
          'optim.lr=0.02',
          'data.flip=false',
          'model.groups=1',
          'model.lrn.mode=off',
          'model.dropout=0.3',
          'conv1.filters=48',
          'pool=2/2',
        ],
        experiment: 'lrn-ablation',
      }),
    });
    const store = useNewRunStore();
    await store.prefillFromClone(12);
    expect(store.loadError).toBeNull();
    expect(store.presetName).toBe('alexnet-paper');
    expect(store.experiment).toBe('lrn-ablation');
    expect(store.values).toMatchObject({
      'optim.lr': '0.02',
      'data.flip': 'false',
      'lrn.mode': 'off',
      dropout: '0.3',
      'conv1.filters': '48',
    });
    // model.groups=1 is the "one tower" ablation, so its switch comes on.
    expect(store.ablations).toEqual([false, true, false]);
    expect(store.extra).toEqual(['pool=2/2']);
    expect([...store.request.settings].sort()).toEqual(
      [
        'optim.lr=0.02',
        'data.flip=false',
        'lrn.mode=off',
        'dropout=0.3',
        'conv1.filters=48',
        'groups=1',
        'pool=2/2',
      ].sort(),
    );
  });

  it('creates a sweep, sending the sweep apart from the settings', async () => {
    const fake = setup({ createRuns: async () => ({ runIds: [4, 5] }) });
    const store = useNewRunStore();
    await store.load();
    store.setValue('optim.lr', '0.01,0.02');
    store.setValue('epochs', '5');
    store.experiment = 'lr sweep';
    expect(await store.submit(true)).toEqual([4, 5]);
    expect(fake.calls.find(([m]) => m === 'createRuns')![1]).toEqual({
      datasetId: 3,
      preset: 'alexnet-cifar',
      settings: ['epochs=5'],
      sweep: { 'optim.lr': ['0.01', '0.02'] },
      experiment: 'lr sweep',
      start: true,
    });
  });

  it('shows a refused setting on its field and other failures above the buttons', async () => {
    let error = new ApiError('invalid', 'too large', 'settings.0');
    setup({
      createRuns: async () => {
        throw error;
      },
    });
    const store = useNewRunStore();
    await store.load();
    store.setValue('batchSize', '100000');
    expect(await store.submit(false)).toBeNull();
    expect(store.fieldErrors.batchSize).toBe('too large');
    error = new ApiError('refused', 'the dataset is being removed');
    expect(await store.submit(false)).toBeNull();
    expect(store.submitError).toBe('the dataset is being removed');
  });
});
