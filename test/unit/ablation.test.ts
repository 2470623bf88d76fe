import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRun, getRun, insertMetrics } from '../../core/store/runs.js';
import { getSweep } from '../../core/store/sweeps.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { ablationCsv, ablationMarkdown } from '../../core/sweep/ablation-export.js';
import { ablationTable, createAblation, meanStd } from '../../core/sweep/ablation.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-ablation-');
let wb: Workbench;
let datasetId: number;

beforeAll(() => {
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'abl');
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

const config = (id: number) => JSON.parse(getRun(wb.db, id)!.config);

describe('the ablation study', () => {
  it('queues every trained variant with each seed, the baseline also evaluating ten crops', () => {
    const { sweepId, runIds } = createAblation(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      seeds: 2,
      epochs: 3,
    });
    expect(getSweep(wb.db, sweepId)).toMatchObject({ kind: 'ablation', name: 'ablation' });
    const runs = runIds.map((id) => ({ trial: getRun(wb.db, id)!.sweepTrial, c: config(id) }));
    expect(runs.map((r) => `${r.trial}/${r.c.seed}`)).toEqual(
      ['baseline', 'lrn-off', 'pool-2/2', 'groups-1', 'no-pca', 'no-dropout'].flatMap((v) => [
        `${v}/0`,
        `${v}/1`,
      ]),
    );
    const of = (trial: string) => runs.find((r) => r.trial === trial)!.c;
    const baseline = of('baseline');
    expect(runs.every((r) => r.c.epochs === 3)).toBe(true);
    expect(baseline).toMatchObject({
      tenCropAtEnd: true,
      model: { lrn: { mode: 'paper' }, pool: { size: 3, stride: 2 }, groups: 2, dropout: 0.5 },
      data: { pcaSigma: 0.1 },
    });
    expect(of('lrn-off')).toMatchObject({ tenCropAtEnd: false, model: { lrn: { mode: 'off' } } });
    expect(of('pool-2/2').model.pool).toEqual({ size: 2, stride: 2 });
    expect(of('groups-1').model.groups).toBe(1);
    expect(of('no-pca').data.pcaSigma).toBe(0);
    expect(of('no-dropout').model.dropout).toBe(0);
    // Each variant differs from the baseline in its own setting only.
    const { seed: _s, tenCropAtEnd: _t, ...base } = baseline;
    const { seed: _s2, tenCropAtEnd: _t2, ...noPca } = of('no-pca');
    expect({ ...noPca, data: { ...noPca.data, pcaSigma: 0.1 } }).toEqual(base);
  });

  it('refuses a bad seed count and creates nothing', () => {
    const before = wb.db.prepare('SELECT COUNT(*) FROM runs').pluck().get();
    expect(() =>
      createAblation(wb.db, { dataset: datasetId, preset: 'alexnet-cifar', seeds: 0 }),
    ).toThrow(/--seeds must be a whole number from 1 to 20/);
    expect(wb.db.prepare('SELECT COUNT(*) FROM runs').pluck().get()).toBe(before);
  });

  it('tabulates mean ± std per variant in points, the change against the baseline and the paper’s', () => {
    const { sweepId, runIds } = createAblation(wb.db, {
      dataset: datasetId,
      preset: 'alexnet-cifar',
      seeds: 2,
      epochs: 1,
    });
    // Final errors per run (top-1, top-5); the baseline's also ten-crop.
    const errors: Record<string, [number, number][]> = {
      baseline: [
        [0.4, 0.1],
        [0.42, 0.12],
      ],
      'lrn-off': [
        [0.43, 0.13],
        [0.45, 0.15],
      ],
      'no-dropout': [[0.5, 0.2]],
    };
    const seen: Record<string, number> = {};
    for (const id of runIds) {
      const trial = getRun(wb.db, id)!.sweepTrial!;
      const i = (seen[trial] = (seen[trial] ?? -1) + 1);
      const e = errors[trial]?.[i];
      if (!e) continue;
      const point = (key: string, value: number, epoch = 1) => ({
        key,
        value,
        epoch,
        step: epoch,
        wallTime: 0,
      });
      insertMetrics(wb.db, id, [
        // An earlier, better epoch does not count: the final model's error does.
        point('val_top1_error', e[0] - 0.1, 0),
        point('val_top1_error', e[0]),
        point('val_top5_error', e[1]),
        ...(trial === 'baseline'
          ? [
              point('val_top1_error_10crop', e[0] - 0.02),
              point('val_top5_error_10crop', e[1] - 0.01),
            ]
          : []),
      ]);
      finishRun(wb.db, id, 'completed');
    }
    const table = ablationTable(wb.db, sweepId);
    const row = (name: string) => table.variants.find((v) => v.name === name)!;
    expect(table.variants.map((v) => v.name)).toEqual([
      'baseline',
      'lrn-off',
      'pool-2/2',
      'groups-1',
      'no-pca',
      'no-dropout',
      'ten-crop',
    ]);
    expect(row('baseline').top1.mean).toBeCloseTo(41);
    expect(row('baseline').top1.std).toBeCloseTo(Math.SQRT2);
    expect(row('baseline').deltaTop1).toBeCloseTo(0);
    expect(row('lrn-off')).toMatchObject({ paperDeltaTop1: 1.4, paperDeltaTop5: 1.2 });
    expect(row('lrn-off').deltaTop1).toBeCloseTo(3);
    expect(row('lrn-off').deltaTop5).toBeCloseTo(3);
    // One seed finished: a mean, no spread.
    expect(row('no-dropout').top1).toEqual({ mean: expect.closeTo(50), std: null });
    expect(row('no-dropout').deltaTop1).toBeCloseTo(9);
    // Nothing finished: nothing to say.
    expect(row('pool-2/2')).toMatchObject({
      top1: { mean: null, std: null },
      deltaTop1: null,
      paperDeltaTop1: 0.4,
      paperDeltaTop5: 0.3,
    });
    expect(row('ten-crop').runIds).toEqual(row('baseline').runIds);
    expect(row('ten-crop').deltaTop1).toBeCloseTo(-2);
    expect(row('ten-crop').deltaTop5).toBeCloseTo(-1);
    expect(row('no-pca')).toMatchObject({ paperDeltaTop1: 1, paperDeltaTop5: null });

    const csv = ablationCsv(table).split('\n');
    expect(csv[0]).toBe(
      'variant,settings,runs,top1_mean,top1_std,top5_mean,top5_std,delta_top1,delta_top5,paper_delta_top1,paper_delta_top5',
    );
    expect(csv[2]).toBe('lrn-off,lrn=off,2,44.00,1.41,14.00,1.41,3.00,3.00,1.40,1.20');
    const md = ablationMarkdown(table);
    expect(md).toContain(
      '| No local response normalisation | 2 | 44.00 ± 1.41 | 14.00 ± 1.41 | +3.00 | +3.00 | +1.40 | +1.20 |',
    );
    expect(md).toContain('| No dropout | 2 | 50.00 | 20.00 | +9.00 | +9.00 | — | — |');
  });

  it('computes a sample standard deviation', () => {
    expect(meanStd([])).toEqual({ mean: null, std: null });
    expect(meanStd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: expect.closeTo(2.138, 3) });
  });
});
