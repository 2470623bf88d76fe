import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MethodOutputs, PushEvent, SettingsInfo } from '../../core/api/contract.js';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import { insertMetrics, setTag } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { configHash } from '../../core/schema/run-config.js';
import { prepareRun } from '../../core/train/prepare.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';
import { serviceCalls } from '../helpers/service-calls.js';

const home = tempDir('svw-api-');
const host = new FakeHost();
let service: HostService;
let wb: Workbench;
let datasetId: number;
const events: PushEvent[] = [];

beforeAll(() => {
  service = createHostService({
    home: home.dir,
    kind: 'serve',
    jobHost: host,
    backend: 'wasm',
    concurrency: 1,
    pickFolder: async (title) => {
      if (title === 'explode') throw new Error('picker crashed');
      return '/picked';
    },
  });
  service.onEvent((e) => events.push(e));
  // A second connection to the same home, as another host would have, to seed and inspect.
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'tiny');
});
afterAll(async () => {
  await service.close();
  wb.close();
  home.cleanup();
});

const { ok, failure } = serviceCalls(() => service);

const createRun = async (settings: string[] = [], extra: Record<string, unknown> = {}) =>
  (
    await ok<{ runIds: number[] }>('createRuns', {
      datasetId,
      preset: 'alexnet-cifar',
      settings,
      start: false,
      ...extra,
    })
  ).runIds[0]!;

describe('dispatch', () => {
  it('maps unknown methods, bad input, missing things, refusals, user errors and bugs to codes', async () => {
    expect(await failure('nope', {})).toMatchObject({ status: 404, code: 'not-found' });
    expect(await failure('constructor', {})).toMatchObject({ status: 404 });
    expect(await failure('getRun', { id: -1 })).toMatchObject({
      status: 400,
      code: 'invalid',
      path: 'id',
    });
    const long = await failure('checkRun', {
      preset: 'alexnet-cifar',
      settings: ['x'.repeat(501)],
    });
    expect(long).toMatchObject({ status: 400, code: 'invalid', path: 'settings.0' });
    expect(long.message).toMatch(/500/);
    expect(await failure('getRun', { id: 424242 })).toMatchObject({
      status: 404,
      code: 'not-found',
      message: "no run '424242'",
    });
    expect(await failure('getDataset', { id: 999 })).toMatchObject({ status: 404 });
    expect(
      await failure('schedulePreview', { preset: 'alexnet-cifar', settings: ['lr=-1'] }),
    ).toMatchObject({ status: 400, code: 'invalid', message: expect.stringMatching(/optim\.lr/) });
    expect(await failure('schedulePreview', { preset: 'lenet', settings: [] })).toMatchObject({
      status: 400,
      message: expect.stringMatching(/unknown preset 'lenet'/),
    });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const bug = await failure('pickFolder', { title: 'explode' });
    expect(bug).toMatchObject({ status: 500, code: 'internal' });
    expect(bug.message).not.toMatch(/picker crashed/);
    expect(String(logged.mock.calls[0]?.join(' '))).toMatch(/picker crashed/);
    logged.mockRestore();
    expect(await ok('pickFolder', {})).toEqual({ path: '/picked' });
  });

  it('answers every malformed request with an error and never throws', async () => {
    const huge = 'x'.repeat(3_000_000);
    const table: [string, unknown][] = [
      ['getRun', { id: '1' }],
      ['getRun', { id: 1.5 }],
      ['getRun', { id: 1, extra: true }],
      ['getRun', null],
      ['getRun', undefined],
      ['getRun', 'id=1'],
      ['getRun', []],
      ['listRuns', { filter: huge }],
      ['listRuns', { filter: 'params.lr >' }],
      ['listRuns', { sort: 'colour' }],
      ['listRuns', { limit: -3 }],
      ['runMetrics', { id: 1, maxPoints: 5 }],
      ['runLogs', { id: 1, afterId: -1 }],
      ['datasetImages', { id: datasetId, offset: -1 }],
      ['datasetImages', { id: datasetId, limit: 1e9 }],
      ['importDataset', { path: '../../no-such-folder-of-svw', name: 'x' }],
      ['importDataset', { path: '', name: 'x' }],
      ['importDataset', { path: '/tmp', name: huge }],
      ['search', { indexId: 1, query: { kind: 'image', imageIdx: -1 }, k: 5 }],
      ['search', { indexId: 1, query: { kind: 'url', url: 'http://x' }, k: 5 }],
      ['search', { indexId: 1, query: { kind: 'file', name: 'a', base64: 'AAAA' }, k: 0 }],
      ['createRuns', { datasetId, preset: 'alexnet-cifar', settings: ['lr'], start: false }],
      ['createRuns', { datasetId, preset: 'alexnet-cifar', settings: [], start: 'yes' }],
      ['compareRuns', { ids: [] }],
      ['compareRuns', { ids: [Number.MAX_SAFE_INTEGER + 2] }],
      ['tagRun', { id: 1, key: '', value: 'x' }],
      ['exportRun', { id: 1, out: '' }],
      ['__proto__', {}],
      ['toString', {}],
      ['', {}],
      ['runEvaluation', { id: 1, which: 'worst' }],
      ['startDemo', { epochs: 0 }],
    ];
    for (const [method, input] of table) {
      const outcome = await service.call(method, input);
      expect(outcome.ok, `${method} ${JSON.stringify(input)?.slice(0, 80)}`).toBe(false);
    }
    for (const p of [
      'res/image/../../etc/passwd',
      '/res/mean/-1',
      'res/filters/1/middle',
      '../x',
      'res/image/1',
      'res/image/9999/0',
    ]) {
      expect(await service.resource(p)).toBeNull();
    }
  });
});

describe('host info', () => {
  it('reports the version, home, engine and what the host can do', async () => {
    const info = await ok<Record<string, unknown>>('info', {});
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(info).toMatchObject({
      version: pkg.version,
      home: path.resolve(home.dir),
      host: 'serve',
      concurrency: 1,
      canPickFolder: true,
      empty: false,
      demoAvailable: true,
      engine: { backend: 'wasm' },
    });
  });
});

describe('new runs', () => {
  it('lists presets whose ablations are valid settings', async () => {
    const presets = await ok<{ name: string; ablations: { setting: string }[] }[]>('presets', {});
    expect(presets.map((p) => p.name)).toEqual(['alexnet-paper', 'alexnet-cifar']);
    const cifar = presets[1]!;
    expect(cifar.ablations.map((a) => a.setting)).toEqual(
      expect.arrayContaining(['lrn=off', 'groups=1', 'pool=2/2', 'dropout=0']),
    );
    const { settings, shorthands } = await ok<SettingsInfo>('settings', {});
    const names = [...settings.flatMap((d) => [d.key, d.param]), ...shorthands.map((s) => s.key)];
    for (const { setting } of cifar.ablations) {
      const key = setting.split('=')[0]!;
      expect(names).toContain(key);
      const check = await ok<{ ok: boolean }>('checkRun', {
        preset: 'alexnet-cifar',
        datasetId,
        settings: [setting],
      });
      expect(check.ok, setting).toBe(true);
    }
  });

  it('checkRun blames the settings at fault, or none when they only clash together', async () => {
    const good = await ok<{ ok: boolean; flat: Record<string, unknown> }>('checkRun', {
      preset: 'alexnet-cifar',
      datasetId,
      settings: ['lr=0.05'],
    });
    expect(good).toMatchObject({ ok: true, flat: { 'optim.lr': 0.05, 'model.classes': 2 } });
    const bad = await ok<{ ok: false; errors: { setting: string | null; message: string }[] }>(
      'checkRun',
      {
        preset: 'alexnet-cifar',
        datasetId,
        settings: ['lr=abc', 'groups=1', 'colour=red', 'inputSize=40'],
      },
    );
    expect(bad.ok).toBe(false);
    expect(bad.errors.map((e) => e.setting)).toEqual(['lr=abc', 'colour=red', 'inputSize=40']);
    expect(bad.errors[1]!.message).toMatch(/unknown setting 'colour'/);
    expect(bad.errors[2]!.message).toMatch(/input size 40 is larger/);
    const unknownPreset = await ok<{ errors: { setting: string | null }[] }>('checkRun', {
      preset: 'lenet',
      settings: ['lr=0.1'],
    });
    expect(unknownPreset.errors).toEqual([
      { setting: null, message: expect.stringMatching(/lenet/) },
    ]);
    expect(
      await failure('checkRun', { preset: 'alexnet-cifar', datasetId: 777, settings: [] }),
    ).toMatchObject({ status: 404 });
  });

  it('previews step schedules epoch by epoch, and the plateau schedule flat', async () => {
    const step = await ok<{ epoch: number; lr: number }[]>('schedulePreview', {
      preset: 'alexnet-cifar',
      settings: [
        'lr=0.1',
        'schedule=step',
        'schedule.stepSize=2',
        'schedule.gamma=0.5',
        'epochs=5',
      ],
    });
    expect(step.map((s) => s.epoch)).toEqual([1, 2, 3, 4, 5]);
    step.forEach((s, i) => expect(s.lr).toBeCloseTo([0.1, 0.1, 0.05, 0.05, 0.025][i]!, 12));
    const plateau = await ok<{ lr: number }[]>('schedulePreview', {
      preset: 'alexnet-cifar',
      settings: ['lr=0.02', 'epochs=4'],
    });
    expect(plateau.map((s) => s.lr)).toEqual([0.02, 0.02, 0.02, 0.02]);
  });

  it('creates one run per sweep combination, or none when any is invalid', async () => {
    const before = (await ok<unknown[]>('listRuns', {})).length;
    const { runIds } = await ok<{ runIds: number[] }>('createRuns', {
      datasetId,
      preset: 'alexnet-cifar',
      settings: ['epochs=2'],
      sweep: { lr: ['0.01', '0.02'], batch: ['16', '32', '64'] },
      experiment: 'sweep',
      name: 'grid',
      start: false,
    });
    expect(runIds).toHaveLength(6);
    const runs = await ok<
      { id: number; name: string; params: { lr: number; batchSize: number } }[]
    >('listRuns', { experiment: 'sweep', sort: 'id' });
    expect(runs.map((r) => r.name)).toEqual([
      'grid lr=0.01 batch=16',
      'grid lr=0.01 batch=32',
      'grid lr=0.01 batch=64',
      'grid lr=0.02 batch=16',
      'grid lr=0.02 batch=32',
      'grid lr=0.02 batch=64',
    ]);
    expect(runs.map((r) => [r.params.lr, r.params.batchSize])).toContainEqual([0.02, 32]);
    expect(events).toContainEqual({ type: 'runs-changed' });

    const bad = await failure('createRuns', {
      datasetId,
      preset: 'alexnet-cifar',
      settings: [],
      sweep: { lr: ['0.01', 'fast'] },
      start: false,
    });
    expect(bad).toMatchObject({ status: 400, message: expect.stringMatching(/^lr=fast: /) });
    const tooMany = await failure('createRuns', {
      datasetId,
      preset: 'alexnet-cifar',
      settings: [],
      sweep: {
        lr: Array.from({ length: 15 }, (_, i) => String(0.01 * (i + 1))),
        seed: Array.from({ length: 14 }, (_, i) => String(i)),
      },
      start: false,
    });
    expect(tooMany.message).toMatch(/210 runs; at most 200/);
    expect((await ok<unknown[]>('listRuns', {})).length).toBe(before + 6);
  });

  it('clones a run into settings that recreate its config exactly', async () => {
    const settings = [
      'lr=0.003',
      'lrn=off',
      'conv2.filters=96',
      'schedule=multistep',
      'schedule.milestones=3,6',
      'data.flip=false',
    ];
    const id = await createRun(settings, { experiment: 'clone-me' });
    const clone = await ok<{
      preset: string;
      datasetId: number;
      settings: string[];
      experiment: string;
    }>('cloneRun', { id });
    expect(clone).toMatchObject({ preset: 'alexnet-cifar', datasetId, experiment: 'clone-me' });
    expect(clone.settings).toContain('conv2.filters=96');
    const original = prepareRun(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      settings,
    }).config;
    const again = prepareRun(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      settings: clone.settings,
    }).config;
    expect(configHash(again)).toBe(configHash(original));
  });
});

describe('run queries', () => {
  it('lists runs with their best retrieval precision and tags', async () => {
    const a = await createRun();
    const b = await createRun();
    const point = (key: string, value: number, step: number) => ({
      key,
      value,
      step,
      epoch: 1,
      wallTime: 1,
    });
    insertMetrics(wb.db, a, [
      point('retrieval_p_at_5', 0.4, 1),
      point('retrieval_p_at_5', 0.3, 2),
      point('retrieval_p_at_10', 0.2, 2),
      point('val_top1_error', 0.5, 2),
    ]);
    setTag(wb.db, a, 'owner', 'ann');
    const runs = await ok<
      { id: number; retrieval: Record<string, number>; tags: Record<string, string> }[]
    >('listRuns', {});
    const byId = new Map(runs.map((r) => [r.id, r]));
    expect(byId.get(a)).toMatchObject({
      retrieval: { '5': 0.4, '10': 0.2 },
      tags: { owner: 'ann' },
    });
    expect(byId.get(b)).toMatchObject({ retrieval: {}, tags: {} });
  });

  it('downsamples metric series keeping each bucket’s extremes', async () => {
    const id = await createRun();
    const n = 10_000;
    const points = Array.from({ length: n }, (_, step) => ({
      key: 'train_loss',
      step,
      epoch: step / 1000,
      value: step === 4321 ? 50 : step === 8765 ? -7 : Math.sin(step / 100),
      wallTime: 1_700_000_000 + step,
    }));
    insertMetrics(wb.db, id, points);
    insertMetrics(wb.db, id, [{ key: 'lr', step: 0, epoch: 0, value: 0.01, wallTime: 5 }]);
    const series = await ok<
      { key: string; total: number; points: { step: number; value: number; time: number }[] }[]
    >('runMetrics', { id, maxPoints: 100 });
    const loss = series.find((s) => s.key === 'train_loss')!;
    expect(loss.total).toBe(n);
    expect(loss.points.length).toBeLessThanOrEqual(100);
    expect(loss.points.length).toBeGreaterThan(50);
    expect(loss.points.map((p) => p.value)).toEqual(expect.arrayContaining([50, -7]));
    expect(loss.points.find((p) => p.value === 50)).toMatchObject({
      step: 4321,
      time: 1_700_004_321,
    });
    const steps = loss.points.map((p) => p.step);
    expect(steps).toEqual([...steps].sort((x, y) => x - y));
    expect(series.find((s) => s.key === 'lr')!.points).toEqual([
      { step: 0, epoch: 0, value: 0.01, time: 5 },
    ]);
    const only = await ok<{ key: string }[]>('runMetrics', { id, keys: ['lr'] });
    expect(only.map((s) => s.key)).toEqual(['lr']);
    const full = await ok<{ points: unknown[] }[]>('runMetrics', { id, keys: ['train_loss'] });
    expect(full[0]!.points.length).toBeLessThanOrEqual(2000);
    // Compare's call sends the same points as columns, for each run asked (once each).
    const many = await ok<MethodOutputs['runsMetrics']>('runsMetrics', {
      ids: [id, id],
      maxPoints: 100,
    });
    expect(many.map((r) => r.id)).toEqual([id]);
    expect(
      many[0]!.series.map((c) => ({
        key: c.key,
        total: c.total,
        points: c.step.map((step, i) => ({
          step,
          epoch: c.epoch[i],
          value: c.value[i],
          time: c.time[i],
        })),
      })),
    ).toEqual(series);
  });

  it('compares every param with a differs flag, and the best of each metric', async () => {
    const a = await createRun(['lr=0.01']);
    const b = await createRun(['lr=0.02']);
    const point = (key: string, value: number, step: number) => ({
      key,
      value,
      step,
      epoch: step,
      wallTime: step,
    });
    insertMetrics(wb.db, a, [
      point('val_top1_error', 0.6, 1),
      point('val_top1_error', 0.4, 2),
      point('val_top1_error', 0.5, 3),
    ]);
    insertMetrics(wb.db, b, [point('retrieval_p_at_5', 0.3, 1), point('retrieval_p_at_5', 0.2, 2)]);
    const result = await ok<{
      runs: { id: number }[];
      params: { key: string; values: (string | null)[]; differs: boolean }[];
      metrics: { key: string; values: (number | null)[] }[];
    }>('compareRuns', { ids: [a, b] });
    expect(result.runs.map((r) => r.id)).toEqual([a, b]);
    const param = (key: string) => result.params.find((p) => p.key === key)!;
    expect(param('optim.lr')).toEqual({ key: 'optim.lr', values: ['0.01', '0.02'], differs: true });
    expect(param('batchSize').differs).toBe(false);
    expect(result.params.length).toBeGreaterThan(40);
    const metric = (key: string) => result.metrics.find((m) => m.key === key)!.values;
    expect(metric('val_top1_error')).toEqual([0.4, null]);
    expect(metric('retrieval_p_at_5')).toEqual([null, 0.3]);
  });
});

describe('a big workbench', () => {
  // How fast: `npm run bench -- --only store` (run list API).
  it('lists 10,000 runs with their retrieval precision and tags', async () => {
    const seed = await createRun([], { experiment: 'bulk' });
    wb.db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
      INSERT INTO runs (experiment_id, name, dataset_id, preset, status, created_at, seed, config_hash, config, epochs_total)
      SELECT experiment_id, 'bulk-' || i, dataset_id, preset, 'completed', created_at, seed, config_hash, config, epochs_total
      FROM runs, n WHERE runs.id = ${seed}`);
    wb.db.exec(
      `INSERT INTO tags SELECT id, 'batch', 'b' || (id % 7) FROM runs WHERE name LIKE 'bulk-%'`,
    );
    wb.db
      .exec(`INSERT INTO latest_metrics SELECT id, 'retrieval_p_at_5', 0.5, 1, 1, 0.4, (id % 10) / 10.0
      FROM runs WHERE name LIKE 'bulk-%'`);
    const runs = await ok<
      { id: number; retrieval: Record<string, number>; tags: Record<string, string> }[]
    >('listRuns', { experiment: 'bulk' });
    expect(runs).toHaveLength(10_001);
    for (const r of runs.slice(0, 10_000)) {
      expect(r.tags).toEqual({ batch: `b${r.id % 7}` });
      expect(r.retrieval['5']).toBeCloseTo((r.id % 10) / 10, 10);
    }
  });
});
