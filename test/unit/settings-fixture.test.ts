import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import { settingsHelp } from '../../core/cli/settings-help.js';
import type { SettingsInfo } from '../../core/schema/settings.js';
import { runSettings } from '../../core/schema/settings.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';
import { serviceCalls } from '../helpers/service-calls.js';

// The one edit that adds a setting: a field with its meta in the run config schema, and its
// default. Everything else (API, --set, --help) must pick it up unchanged.
vi.mock('../../core/schema/run-config.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../core/schema/run-config.js')>();
  const { UserError } = await import('../../core/util/errors.js');
  const { extraDefault, withExtraSetting } = await import('../helpers/extra-setting.js');
  const runConfigSchema = withExtraSetting(real.runConfigSchema);
  return {
    ...real,
    runConfigSchema,
    presetRunConfig: (preset: string) => ({
      ...real.presetRunConfig(preset),
      warmupEpochs: extraDefault(preset),
    }),
    validateRunConfig: (value: unknown) => {
      const parsed = runConfigSchema.safeParse(value);
      if (parsed.success) return parsed.data;
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new UserError(`invalid run config: ${issues.join('; ')}`);
    },
  };
});

const home = tempDir('svw-setting-');
let service: HostService;
let datasetId: number;

beforeAll(() => {
  service = createHostService({
    home: home.dir,
    kind: 'serve',
    jobHost: new FakeHost(),
    backend: 'wasm',
    concurrency: 1,
  });
  const wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'tiny');
  wb.close();
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

const { ok: call } = serviceCalls(() => service);

describe('a setting added to the run config schema', () => {
  it('is served with its kind, range, unit, help and each preset default', async () => {
    const info = await call<SettingsInfo>('settings', {});
    expect(info.settings.find((d) => d.key === 'warmupEpochs')).toEqual({
      key: 'warmupEpochs',
      aliases: ['warmup'],
      param: 'warmupEpochs',
      group: 'schedule',
      kind: 'integer',
      defaults: { 'alexnet-paper': 5, 'alexnet-cifar': 2 },
      min: 0,
      max: 50,
      unit: 'epochs',
      help: 'epochs of linear learning-rate warm-up',
    });
  });

  it('is taken by --set under its key and alias, and validated by its schema', async () => {
    const check = (settings: string[]) =>
      call<{ ok: boolean; config?: { warmupEpochs: number }; errors?: { message: string }[] }>(
        'checkRun',
        { preset: 'alexnet-cifar', datasetId, settings },
      );
    expect((await check([])).config?.warmupEpochs).toBe(2);
    expect((await check(['warmup=3'])).config?.warmupEpochs).toBe(3);
    expect((await check(['warmupEpochs=4'])).config?.warmupEpochs).toBe(4);
    expect((await check(['warmup=51'])).errors?.[0]?.message).toMatch(/warmupEpochs:.*50/);
    expect((await check(['warmup=soon'])).errors?.[0]?.message).toMatch(
      /warmupEpochs takes a whole number/,
    );
  });

  it('shows in the CLI help of svw train, in its group', () => {
    const help = settingsHelp(runSettings());
    const schedule = help.slice(help.indexOf('Schedule:'), help.indexOf('Data and augmentation:'));
    expect(schedule).toMatch(
      /warmupEpochs, warmup +integer 0–50 epochs +epochs of linear learning-rate warm-up; default 5 \/ 2/,
    );
  });
});
