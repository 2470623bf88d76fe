import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../core/data/import.js';
import { DatasetCache } from '../../core/data/dataset.js';
import { prepareBatch, resolveMean } from '../../core/data/transform.js';
import { buildAlexNet, tapModel } from '../../core/model/alexnet.js';
import { loadModelDir, saveModelDir } from '../../core/model/io.js';
import { transaction } from '../../core/store/db.js';
import {
  addLog,
  finishRun,
  insertEvaluation,
  insertMetrics,
  insertRun,
  markRunning,
  upsertCheckpoint,
} from '../../core/store/runs.js';
import { renewLease } from '../../core/store/leases.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { evalSpec, runPreprocessing } from '../../core/train/trainer.js';
import type { RunConfig } from '../../core/schema/run-config.js';
import { readNpyInfo } from '../../core/util/npy.js';
import { ROOT, svw, svwJson, tempDir } from '../helpers/cli.js';

interface ListItem {
  id: number;
  status: string;
  params: { lr: number | string | null; batchSize: number | null; epochs: number | null };
  metrics: { val_top1_error: number | null; val_top5_error: number | null };
  [key: string]: unknown;
}
interface Show {
  id: number;
  status: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  perClass: { class: string; error: number | null }[];
  checkpoints: { kind: string; epoch: number }[];
  engine: Record<string, string | null>;
  tags: Record<string, string>;
  notes: { text: string }[];
  [key: string]: unknown;
}
interface Compare {
  runs: number[];
  params: Record<string, unknown[]>;
  metrics: Record<string, { latest: (number | null)[]; best: (number | null)[] }>;
}

const tmp = tempDir('svw-runs-');
const home = path.join(tmp.dir, 'home');
const env = { SVW_HOME: home };
const run = (...args: string[]) => svw(args, env);
const json = <T>(...args: string[]) => svwJson<T>([...args, '--json'], env);
const ids = (items: { id: number }[]) => items.map((r) => r.id);
let classes: string[] = [];
let run1: { config: RunConfig; datasetId: number; imageSize: number };

const point = (key: string, value: number, epoch: number) => ({
  key,
  step: epoch * 10,
  epoch,
  value,
  wallTime: 1_700_000_000 + epoch,
});

/** Runs 1–3 in experiment 'sweep' (completed, completed, failed), 4 running and 5 queued in 'other'. */
beforeAll(async () => {
  await tf.setBackend('cpu');
  const wb = openWorkbench(home);
  try {
    const demo = path.join(ROOT, 'demo/cifar10-demo');
    const ds = await importDataset(wb.db, demo, { name: 'demo' }, wb.paths);
    classes = ds.classes;
    const add = (experiment: string, settings: string[], name?: string) => {
      const { config } = prepareRun(wb.db, { dataset: 'demo', preset: 'alexnet-cifar', settings });
      return { id: insertRun(wb.db, { experiment, name, datasetId: ds.id, config }), config };
    };
    const r1 = add('sweep', ['lr=0.01', 'epochs=10'], 'baseline');
    run1 = { config: r1.config, datasetId: ds.id, imageSize: ds.imageSize };
    const r2 = add('sweep', ['lr=0.02', 'epochs=10']);
    const r3 = add('sweep', ['lr=0.05', 'batch=64', 'epochs=10']);
    const r4 = add('other', ['lr=0.01', 'epochs=10']);
    const r5 = add('other', ['lr=0.01', 'epochs=10']);
    expect([r1.id, r2.id, r3.id, r4.id, r5.id]).toEqual([1, 2, 3, 4, 5]);

    // val_top1_error: run 1 latest 0.40 (best 0.35), run 2 0.30, run 3 0.60, run 4 0.50.
    const curves: [number, number[]][] = [
      [1, [0.5, 0.35, 0.4]],
      [2, [0.45, 0.3]],
      [3, [0.7, 0.6]],
      [4, [0.5]],
    ];
    for (const [id, errors] of curves) {
      insertMetrics(
        wb.db,
        id,
        errors.flatMap((err, i) => [
          point('val_top1_error', err, i + 1),
          point('val_top5_error', err / 4, i + 1),
          point('val_loss', 3 * err, i + 1),
          point('epoch_train_loss', 2 - i / 10, i + 1),
        ]),
      );
    }
    insertMetrics(wb.db, 1, [point('lr', 0.01, 3), point('images_per_sec', 900, 3)]);
    // Run 4 stays running under a lease that holds for the whole test.
    const lease = { id: 'test-host', machine: 'here', pid: process.pid, kind: 'cli', ttlS: 1e9 };
    renewLease(wb.db, lease);
    for (const id of [1, 2, 3, 4])
      markRunning(wb.db, id, { hostId: lease.id, hostPid: process.pid, workerPid: null });
    finishRun(wb.db, 1, 'completed');
    finishRun(wb.db, 2, 'completed');
    finishRun(wb.db, 3, 'failed', { message: 'loss diverged' });
    wb.db
      .prepare(
        `UPDATE runs SET backend = 'cpu', engine_package = '@tensorflow/tfjs-backend-cpu',
         engine_version = '4.22.0', device = 'js', epochs_done = 3 WHERE id = 1`,
      )
      .run();
    addLog(wb.db, 1, 'info', 'epoch 3 done');

    // Evaluations of run 1: an older val one, the newest single-crop val one, then a ten-crop one.
    const evaluation = (epoch: number, tenCrop: boolean, perClassError: (number | null)[]) => ({
      type: 'evaluation' as const,
      epoch,
      step: epoch * 10,
      split: 'val' as const,
      tenCrop,
      checkpoint: tenCrop ? null : ('last' as const),
      images: 90,
      loss: 1.2,
      top1Error: 0.4,
      top5Error: 0.1,
      perClassError,
      perClassCount: perClassError.map((e) => (e === null ? 0 : 10)),
      confusion: [],
    });
    insertEvaluation(wb.db, 1, evaluation(2, false, Array<number>(10).fill(0.9)));
    const newest = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95, null];
    insertEvaluation(wb.db, 1, evaluation(3, false, newest));
    insertEvaluation(wb.db, 1, evaluation(3, true, Array<number>(10).fill(0.05)));

    // A real last checkpoint of run 1: the model folder plus optimizer and training state.
    const dir = path.join(wb.paths.run(1), 'checkpoints', 'last');
    const cache = new DatasetCache(wb.paths.dataset(ds.id), ds.imageSize);
    const { preprocessing, meanImage } = runPreprocessing(r1.config, cache);
    cache.close();
    const model = buildAlexNet(r1.config.model, { seed: 1 });
    await saveModelDir(dir, {
      model,
      config: r1.config.model,
      labels: classes,
      preprocessing,
      meanImage,
    });
    model.dispose();
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ epoch: 3, step: 30 }));
    writeFileSync(path.join(dir, 'optimizer.json'), '{"steps":30,"tensors":[]}');
    writeFileSync(path.join(dir, 'optimizer.bin'), '');
    upsertCheckpoint(wb.db, 1, {
      type: 'checkpoint',
      kind: 'last',
      epoch: 3,
      step: 30,
      path: dir,
      valTop1Error: 0.4,
    });
    mkdirSync(wb.paths.run(5), { recursive: true });
    writeFileSync(path.join(wb.paths.run(5), 'leftover.txt'), 'x');
  } finally {
    wb.close();
  }
});
afterAll(() => tmp.cleanup());

describe('svw runs list', () => {
  it('lists every run, newest first, with the documented JSON shape', () => {
    const all = json<ListItem[]>('runs', 'list');
    expect(ids(all)).toEqual([5, 4, 3, 2, 1]);
    const r1 = all.find((r) => r.id === 1)!;
    expect(Object.keys(r1).sort()).toEqual(
      [
        'id',
        'name',
        'experiment',
        'dataset',
        'preset',
        'status',
        'params',
        'metrics',
        'epochsDone',
        'epochsTotal',
        'createdAt',
        'startedAt',
        'endedAt',
        'durationSec',
        'backend',
      ].sort(),
    );
    expect(r1).toMatchObject({
      name: 'baseline',
      experiment: 'sweep',
      dataset: 'demo',
      preset: 'alexnet-cifar',
      status: 'completed',
      params: { lr: 0.01, batchSize: 128, epochs: 10 },
      metrics: { val_top1_error: 0.35 },
      epochsDone: 3,
      epochsTotal: 10,
      backend: 'cpu',
    });
    expect(r1.metrics.val_top5_error).toBeCloseTo(0.0875);
    expect(r1.durationSec).toBeGreaterThanOrEqual(0);
    expect(all.find((r) => r.id === 5)).toMatchObject({
      status: 'queued',
      metrics: { val_top1_error: null },
      durationSec: null,
    });
  });

  it('filters by experiment and by a filter expression', () => {
    expect(ids(json('runs', 'list', '--experiment', 'sweep'))).toEqual([3, 2, 1]);
    expect(ids(json('runs', 'list', '--filter', 'params.optim.lr > 0.015'))).toEqual([3, 2]);
    const both = 'params.optim.lr >= 0.01 and metrics.val_top1_error < 0.45';
    expect(ids(json('runs', 'list', '--filter', both))).toEqual([2, 1]);
    expect(
      ids(json('runs', 'list', '--experiment', 'other', '--filter', 'status = running')),
    ).toEqual([4]);
  });

  it('rejects a bad filter with the caret message', () => {
    const r = run('runs', 'list', '--filter', 'params.optim.lr > 0.01 and and');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    const caret = lines.findIndex((l) => /^\s*\^+\s*$/.test(l));
    expect(caret).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/expected a field name after 'and'/);
    // The caret sits under the second 'and' of the excerpt line above it.
    const at = lines[caret]!.indexOf('^');
    expect(lines[caret - 1]!.slice(at, at + 3)).toBe('and');
  });

  it('sorts by a metric both ways, runs without it last, and honours --limit', () => {
    expect(ids(json('runs', 'list', '--sort', 'metrics.val_top1_error'))).toEqual([2, 1, 4, 3, 5]);
    expect(ids(json('runs', 'list', '--sort', '-metrics.val_top1_error'))).toEqual([3, 4, 1, 2, 5]);
    expect(ids(json('runs', 'list', '--sort', 'metrics.val_top1_error.min'))).toEqual([
      2, 1, 4, 3, 5,
    ]);
    expect(ids(json('runs', 'list', '--sort', '-params.optim.lr', '--limit', '2'))).toEqual([3, 2]);
    expect(ids(json('runs', 'list', '--sort', 'id'))).toEqual([1, 2, 3, 4, 5]);
    const bad = run('runs', 'list', '--sort', 'colour');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot sort by 'colour'/);
  });

  it('prints an aligned table by default', () => {
    const r = run('runs', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^\s*ID\s+STATUS\s+EXPERIMENT.*BEST TOP-1/);
    expect(lines.find((l) => l.includes('baseline'))).toMatch(/completed\s+sweep\s+demo/);
    // Every row has the STATUS column at the same offset.
    const at = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1))
      expect(l.slice(at)).toMatch(/^(completed|failed|running|queued)/);
  });
});

describe('svw runs show', () => {
  it('reports params, latest metrics, per-class errors with class names, checkpoints and engine', () => {
    const s = json<Show>('runs', 'show', '1');
    for (const key of ['id', 'status', 'params', 'metrics', 'perClass', 'checkpoints', 'engine'])
      expect(s).toHaveProperty(key);
    expect(s.params['optim.lr']).toBe(0.01);
    expect(s.params['batchSize']).toBe(128);
    expect(s.params['data.flip']).toBe(true);
    expect(s.metrics['val_top1_error']).toBeCloseTo(0.4);
    expect(s.engine).toEqual({
      backend: 'cpu',
      package: '@tensorflow/tfjs-backend-cpu',
      version: '4.22.0',
      device: 'js',
    });
    expect(s.perClass).toHaveLength(10);
    expect(s.perClass[0]).toEqual({ class: classes[0], error: 0.1 });
    expect(s.perClass[8]).toEqual({ class: classes[8], error: 0.95 });
    expect(s.perClass[9]).toEqual({ class: classes[9], error: null });
    expect(s.checkpoints).toMatchObject([{ kind: 'last', epoch: 3 }]);
  });

  it('prints a summary with the worst classes first and the last log lines', () => {
    const r = run('runs', 'show', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run 1 'baseline' completed/);
    const perClass = r.stdout.split('\n').findIndex((l) => l.includes('per-class'));
    expect(r.stdout.split('\n')[perClass + 1]).toMatch(new RegExp(`${classes[8]}\\s+95\\.0%`));
    expect(r.stdout).toMatch(/epoch 3 done/);
  });

  it('refuses an unknown run', () => {
    const r = run('runs', 'show', '42');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no run '42'/);
  });
});

describe('svw runs compare', () => {
  it('shows only the params that differ, and latest and best of every metric', () => {
    const c = json<Compare>('runs', 'compare', '1', '2', '3');
    expect(c.runs).toEqual([1, 2, 3]);
    expect(c.params).toEqual({ batchSize: [128, 128, 64], 'optim.lr': [0.01, 0.02, 0.05] });
    expect(c.metrics['val_top1_error']).toEqual({
      latest: [0.4, 0.3, 0.6],
      best: [0.35, 0.3, 0.6],
    });
    expect(Object.keys(c.metrics).slice(0, 4)).toEqual([
      'val_top1_error',
      'val_top5_error',
      'val_loss',
      'epoch_train_loss',
    ]);
    expect(c.metrics['images_per_sec']).toEqual({
      latest: [900, null, null],
      best: [900, null, null],
    });
    const text = run('runs', 'compare', '1', '3');
    expect(text.stdout).toMatch(/optim\.lr\s+0\.01\s+0\.05/);
  });

  it('needs at least two runs', () => {
    expect(run('runs', 'compare', '1').code).not.toBe(0);
    const same = run('runs', 'compare', '1', '1');
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/at least two/);
    expect(run('runs', 'compare', '1', '77').stderr).toMatch(/no run '77'/);
  });
});

describe('svw runs tag and note', () => {
  it('sets, removes and shows tags and notes', () => {
    expect(json('runs', 'tag', '2', 'owner=ann', 'goal=lr sweep')).toEqual({
      id: 2,
      tags: { goal: 'lr sweep', owner: 'ann' },
    });
    expect(json('runs', 'tag', '2', '--remove', 'goal')).toEqual({ id: 2, tags: { owner: 'ann' } });
    json('runs', 'note', '2', 'lr 0.02 looks best so far');
    const s = json<Show>('runs', 'show', '2');
    expect(s.tags).toEqual({ owner: 'ann' });
    expect(s.notes.map((n) => n.text)).toEqual(['lr 0.02 looks best so far']);
    expect(ids(json('runs', 'list', '--filter', 'tags.owner = ann'))).toEqual([2]);
    expect(run('runs', 'tag', '2', 'novalue').stderr).toMatch(/expected key=value/);
  });
});

describe('svw export', () => {
  const out = path.join(tmp.dir, 'exported');

  it('copies the model files of the checkpoint, without optimizer or training state', () => {
    const r = json<{ checkpoint: string; files: string[] }>('export', '1', '--out', out);
    expect(r.checkpoint).toBe('last');
    expect(readdirSync(out).sort()).toEqual([
      'labels.json',
      'mean.f32',
      'model.json',
      'preprocessing.json',
      'weights.bin',
    ]);
  });

  it('refuses a non-empty folder without --force and a missing checkpoint', () => {
    const again = run('export', '1', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty/);
    expect(run('export', '1', '--out', out, '--force').code).toBe(0);
    const best = run('export', '1', '--out', path.join(tmp.dir, 'x'), '--checkpoint', 'best');
    expect(best.stderr).toMatch(/run 1 has no best checkpoint/);
    expect(run('export', '2', '--out', path.join(tmp.dir, 'y')).stderr).toMatch(/no checkpoint/);
  });

  /** The run's side: the checkpoint's network on val images, batched the way training evaluates. */
  async function runOwnOutputs() {
    const wb = openWorkbench(home);
    const images = wb.db
      .prepare(
        `SELECT idx, path FROM dataset_images WHERE dataset_id = ? AND split = 'val' ORDER BY idx LIMIT 12`,
      )
      .all(run1.datasetId) as { idx: number; path: string }[];
    const checkpoint = path.join(wb.paths.run(1), 'checkpoints', 'last');
    const cache = new DatasetCache(wb.paths.dataset(run1.datasetId), run1.imageSize);
    wb.close();
    const spec = evalSpec(run1.config, false);
    const stats = cache.stats();
    const indices = images.map((i) => i.idx);
    const x = prepareBatch(cache, stats, resolveMean(spec, cache, stats), spec, indices, 'eval');
    cache.close();
    const { model } = await loadModelDir(checkpoint);
    const [probs, fc7] = tf.tidy(() => {
      const input = tf.tensor4d(x, [images.length, spec.crop, spec.crop, 3]);
      return [
        tf.softmax(tapModel(model, 'fc8').predict(input) as tf.Tensor2D).arraySync(),
        (tapModel(model, 'fc7').predict(input) as tf.Tensor2D).arraySync(),
      ];
    });
    model.dispose();
    return { files: images.map((i) => i.path), probs, fc7 };
  }

  it('exports a model whose probabilities match the run’s own evaluation of the same images', async () => {
    const bundle = await loadModelDir(out);
    expect(bundle.labels).toEqual(classes);
    expect(bundle.mean.type).toBe('image');
    bundle.model.dispose();
    const own = await runOwnOutputs();
    // The comparison means something only if the network's outputs depend on its input.
    const flat = own.probs.flat();
    expect(Math.max(...flat) - Math.min(...flat)).toBeGreaterThan(0.01);

    const predictions = svwJson<{ image: string; top: { label: string; prob: number }[] }[]>(
      [
        'predict',
        '--model',
        out,
        '--backend',
        'cpu',
        '--json',
        '--top',
        String(classes.length),
      ].concat(own.files),
      env,
    );
    expect(predictions.map((p) => p.image)).toEqual(own.files);
    predictions.forEach((p, i) => {
      const byClass = classes.map((c) => p.top.find((t) => t.label === c)!.prob);
      byClass.forEach((prob, c) => expect(prob).toBeCloseTo(own.probs[i]![c]!, 4));
    });
  });

  it('writes the fc7 features the run itself computes for the same images', async () => {
    const own = await runOwnOutputs();
    const npy = path.join(tmp.dir, 'features.npy');
    svwJson(
      ['features', '--model', out, '--backend', 'cpu', '--json', '--out', npy, ...own.files],
      env,
    );
    const info = readNpyInfo(npy);
    const dims = run1.config.model.fc[1];
    expect(info.shape).toEqual([own.files.length, dims]);
    const bytes = readFileSync(npy).subarray(info.dataOffset);
    const rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    own.fc7.forEach((row, i) => {
      const norm = Math.hypot(...row);
      let diff = 0;
      row.forEach((v, j) => (diff += (v - rows[i * dims + j]!) ** 2));
      expect(norm).toBeGreaterThan(0);
      expect(Math.sqrt(diff) / norm).toBeLessThan(1e-4);
    });
  });
});

describe('svw runs delete', () => {
  it('refuses a running run and deletes the others with their folders', () => {
    const running = run('runs', 'delete', '4');
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/run 4 is running/);
    expect(json('runs', 'delete', '5', '3')).toEqual({ deleted: [5, 3] });
    expect(existsSync(path.join(home, 'runs', '5'))).toBe(false);
    expect(ids(json('runs', 'list'))).toEqual([4, 2, 1]);
    const wb = openWorkbench(home);
    try {
      for (const table of ['params', 'latest_metrics', 'metrics'])
        expect(
          wb.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id IN (3, 5)`).get(),
        ).toEqual({ n: 0 });
    } finally {
      wb.close();
    }
  });
});

describe('svw runs list with 10,000 runs', () => {
  const big = path.join(tmp.dir, 'big');
  const N = 10_000;
  const error = (i: number) => ((i * 7919) % 10_007) / 10_007;

  beforeAll(() => {
    const wb = openWorkbench(big);
    try {
      transaction(wb.db, () => {
        wb.db
          .prepare(`INSERT INTO experiments (name, created_at) VALUES ('bulk', '2024-01-01')`)
          .run();
        const addRun = wb.db.prepare(
          `INSERT INTO runs (id, experiment_id, name, preset, status, created_at, seed, config_hash, config, epochs_total)
           VALUES (?, 1, ?, 'alexnet-cifar', 'completed', '2024-01-01T00:00:00Z', 0, 'h', '{}', 10)`,
        );
        const addParam = wb.db.prepare(
          'INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)',
        );
        const addMetric = wb.db.prepare(
          `INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value) VALUES (?, ?, ?, 100, 10, ?, ?)`,
        );
        for (let i = 1; i <= N; i++) {
          addRun.run(i, `bulk-${i}`);
          addParam.run(i, 'optim.lr', String(i / 1e5), i / 1e5);
          addParam.run(i, 'batchSize', '128', 128);
          addParam.run(i, 'epochs', '10', 10);
          addMetric.run(i, 'val_top1_error', error(i), error(i) / 2, error(i));
          addMetric.run(i, 'val_top5_error', error(i) / 3, error(i) / 4, error(i) / 3);
          addMetric.run(i, 'epoch_train_loss', 1 + error(i), 1, 2);
        }
      });
    } finally {
      wb.close();
    }
  });

  it('returns the 5 lowest latest val_top1_error in one query', () => {
    const expected = Array.from({ length: N }, (_, i) => i + 1)
      .sort((a, b) => error(a) - error(b))
      .slice(0, 5);
    const started = performance.now();
    const rows = svwJson<ListItem[]>(
      ['runs', 'list', '--json', '--limit', '5', '--sort', 'metrics.val_top1_error'],
      { SVW_HOME: big },
    );
    const ms = performance.now() - started;
    console.log(
      `svw runs list --limit 5 --sort metrics.val_top1_error over ${N} runs: ${ms.toFixed(0)} ms`,
    );
    expect(ids(rows)).toEqual(expected);
    expect(rows[0]!.metrics.val_top1_error).toBeCloseTo(error(expected[0]!) / 2);
    const timed = <T>(label: string, args: string[]): T => {
      const t = performance.now();
      const result = svwJson<T>(args, { SVW_HOME: big });
      console.log(`${label}: ${(performance.now() - t).toFixed(0)} ms`);
      return result;
    };
    const filter = 'params.optim.lr > 0.05 and metrics.val_top1_error < 0.5';
    const filtered = timed<ListItem[]>(`svw runs list --json --filter '${filter}'`, [
      'runs',
      'list',
      '--json',
      '--filter',
      filter,
    ]);
    const want = Array.from({ length: N }, (_, i) => N - i).filter(
      (i) => i / 1e5 > 0.05 && error(i) < 0.5,
    );
    expect(ids(filtered)).toEqual(want);
    const all = timed<ListItem[]>(`svw runs list --json (all ${N} runs)`, [
      'runs',
      'list',
      '--json',
    ]);
    expect(all).toHaveLength(N);
  });
});
