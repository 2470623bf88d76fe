import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../core/store/db.js';
import { finishRun, insertMetrics, insertRun } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { createAblation } from '../../core/sweep/ablation.js';
import { quantile } from '../../core/sweep/asha.js';
import type { SweepDetail } from '../../core/sweep/summary.js';
import { prepareRun } from '../../core/train/prepare.js';
import { CIFAR_SMALL, svw, svwJson, tempDir } from '../helpers/cli.js';

// A real ASHA sweep: the CLI's scheduler runs four tiny trials in worker processes, and the
// host that ingests their metrics stops the weak ones at the first rung, as they train.
const tmp = tempDir('svw-sweeps-');
const env = { SVW_HOME: path.join(tmp.dir, 'home') };
const json = <T>(...args: string[]) => svwJson<T>([...args, '--json'], env);

beforeAll(() => {
  json('dataset', 'import', CIFAR_SMALL, '--name', 'tiny', '--max-per-class', '4');
});
afterAll(() => tmp.cleanup());

describe('an ASHA sweep with real workers', () => {
  let sweep: SweepDetail;

  it('trains every trial to the first rung and prunes the weak ones there, with the reason', () => {
    // ASHA ranks by the learning rate each run reports, so that the verdicts are known ahead
    // (a loss after a few steps is not reproducible enough to test against): at the first
    // rung, with η = 3, 0.03 and 0.04 are always above the cutoff once 0.01 has arrived.
    sweep = json<SweepDetail>(
      'sweep',
      'run',
      '--dataset',
      'tiny',
      '--preset',
      'alexnet-cifar',
      '--set',
      'batch=16',
      '--sweep',
      'lr=0.01,0.02,0.03,0.04',
      '--asha',
      '--metric',
      'lr',
      '--grace',
      '1',
      '--eta',
      '3',
      '--max-epochs',
      '2',
      '--concurrency',
      '2',
      '--backend',
      'wasm',
    );
    expect(sweep).toMatchObject({ kind: 'asha', metric: 'lr', mode: 'min' });
    const byLr = (lr: number) => sweep.runs.find((r) => r.values.lr === lr)!;
    expect(byLr(0.01)).toMatchObject({ status: 'completed', epochsDone: 2, error: null });
    expect(byLr(0.03)).toMatchObject({ status: 'pruned', epochsDone: 1 });
    expect(byLr(0.04)).toMatchObject({ status: 'pruned', epochsDone: 1 });
    // The cutoff depends on which runs had arrived (0.04 may come before 0.03); the rung's
    // entries below check each one exactly.
    expect(byLr(0.03).error).toMatch(/^lr 0\.03 at epoch 1, rung cutoff 0\.0[12]\d*$/);
    // 0.02 goes on only if it reached the rung before 0.01 did.
    expect(['completed', 'pruned']).toContain(byLr(0.02).status);
    for (const run of sweep.runs) expect(run.epochsDone).toBe(run.status === 'pruned' ? 1 : 2);

    // The rung: every run's value, and each verdict against the 1/η quantile of the values
    // recorded up to its arrival, its own included.
    const [rung] = sweep.rungs;
    expect(rung).toMatchObject({ rung: 0, epoch: 1 });
    expect(rung!.entries.map((e) => e.runId).sort()).toEqual(sweep.runs.map((r) => r.id).sort());
    rung!.entries.forEach((e, i) => {
      const cutoff = quantile(
        rung!.entries.slice(0, i + 1).map((x) => x.value),
        1 / 3,
      );
      expect(e.cutoff).toBeCloseTo(cutoff, 9);
      expect(e.pruned).toBe(e.value > e.cutoff);
      expect(sweep.runs.find((r) => r.id === e.runId)!.status === 'pruned').toBe(e.pruned);
    });
    expect(sweep.best).toEqual({ runId: byLr(0.01).id, value: 0.01 });
  });

  it('keeps a pruned run’s record at its rung, and shows the sweep again', () => {
    const wb = openWorkbench(env.SVW_HOME);
    try {
      for (const run of sweep.runs.filter((r) => r.status === 'pruned')) {
        const last = wb.db.prepare('SELECT MAX(epoch) FROM metrics WHERE run_id = ?').pluck();
        expect(last.get(run.id)).toBeLessThanOrEqual(1);
      }
    } finally {
      wb.close();
    }
    expect(json<SweepDetail>('sweep', 'show', String(sweep.id))).toEqual(sweep);
    const list = json<{ id: number; kind: string; counts: Record<string, number> }[]>(
      'sweep',
      'list',
    );
    expect(list[0]).toMatchObject({ id: sweep.id, kind: 'asha' });
    expect((list[0]!.counts.pruned ?? 0) + (list[0]!.counts.completed ?? 0)).toBe(4);
    // Four runs say nothing about importance: one line, no trace.
    const few = svw(['importance', '--metric', 'epoch_train_loss'], env);
    expect(few.code).toBe(1);
    expect(few.stderr.trim()).toBe(
      "svw: error: importance needs at least 8 runs with 'epoch_train_loss'; 4 have it",
    );
  });
});

describe('importance and the ablation table from the command line', () => {
  it('ranks the learning rate first for a metric that depends on it alone', () => {
    const wb = openWorkbench(env.SVW_HOME);
    try {
      transaction(wb.db, () => {
        for (let i = 0; i < 40; i++) {
          const lr = 10 ** (-4 + (3 * ((i * 7) % 40)) / 40);
          const { config } = prepareRun(wb.db, {
            dataset: 'tiny',
            preset: 'alexnet-cifar',
            settings: [`lr=${lr}`, `momentum=${0.8 + ((i * 13) % 19) / 100}`, `seed=${i % 5}`],
          });
          const id = insertRun(wb.db, { experiment: 'importance', datasetId: 1, config });
          const error = 0.3 + 0.1 * (Math.log10(lr) + 2) ** 2;
          insertMetrics(wb.db, id, [
            { key: 'val_top1_error', step: 1, epoch: 1, value: error, wallTime: 0 },
          ]);
        }
      });
    } finally {
      wb.close();
    }
    const rows = json<{ param: string; importance: number; spearman: number | null }[]>(
      'importance',
      '--metric',
      'val_top1_error',
      '--filter',
      'experiment = importance',
    );
    expect(rows.map((r) => r.param)).toEqual(['optim.lr', expect.any(String), expect.any(String)]);
    expect(rows.map((r) => r.param).sort()).toEqual(['optim.lr', 'optim.momentum', 'seed']);
    expect(Object.keys(rows[0]!)).toEqual(['param', 'importance', 'spearman']);
    expect(rows[0]!.importance).toBeGreaterThan(0.8);
  });

  it('prints an ablation study’s table as JSON, Markdown and CSV', () => {
    const wb = openWorkbench(env.SVW_HOME);
    let id: number;
    try {
      const created = createAblation(wb.db, {
        dataset: 'tiny',
        preset: 'alexnet-cifar',
        seeds: 1,
        epochs: 1,
      });
      id = created.sweepId;
      for (const run of created.runIds) {
        insertMetrics(wb.db, run, [
          { key: 'val_top1_error', step: 1, epoch: 1, value: 0.5, wallTime: 0 },
          { key: 'val_top5_error', step: 1, epoch: 1, value: 0.2, wallTime: 0 },
        ]);
        finishRun(wb.db, run, 'completed');
      }
    } finally {
      wb.close();
    }
    const table = json<{ variants: Record<string, unknown>[] }>('ablation', '--show', String(id));
    expect(Object.keys(table)).toEqual(['variants']);
    expect(table.variants[0]).toEqual({
      name: 'baseline',
      settings: [],
      runIds: [expect.any(Number)],
      top1: { mean: 50, std: null },
      top5: { mean: 20, std: null },
      deltaTop1: 0,
      deltaTop5: 0,
      paperDeltaTop1: null,
      paperDeltaTop5: null,
    });
    expect(table.variants.map((v) => v.name)).toEqual([
      'baseline',
      'lrn-off',
      'pool-2/2',
      'groups-1',
      'no-pca',
      'no-dropout',
      'ten-crop',
    ]);
    const csv = svw(['ablation', '--show', String(id), '--format', 'csv'], env);
    expect(csv.stdout.split('\n')[2]).toBe('lrn-off,lrn=off,1,50.00,,20.00,,0.00,0.00,1.40,1.20');
    const md = svw(['ablation', '--show', String(id)], env);
    expect(md.stdout).toMatch(/^\| Variant \| Runs \| Top-1 error \(%\)/);
    const bad = svw(
      ['ablation', '--dataset', 'tiny', '--preset', 'alexnet-cifar', '--seeds', '0'],
      env,
    );
    expect(bad.code).toBe(2);
  });
});
