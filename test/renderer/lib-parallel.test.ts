import { describe, expect, it } from 'vitest';
import { bandOf, groupRuns } from '../../renderer/src/lib/grouped-curves';
import {
  brushMask,
  brushSelections,
  buildAxis,
  colorIndex,
  MISSING,
} from '../../renderer/src/lib/parallel-coords';

const lr = {
  field: 'params.optim.lr',
  kind: 'number' as const,
  values: [0.1, 0.01, null, 0.001, 0.0001],
};
const mode = {
  field: 'params.model.lrn.mode',
  kind: 'category' as const,
  values: ['paper', 'off', 'caffe', 'paper', null],
};

describe('parallel-coordinates axes and brushes', () => {
  it('places values linearly or logarithmically, categories evenly, missing values below', () => {
    const log = buildAxis(lr, 'log');
    expect(log.scale).toBe('log');
    expect([...log.pos].map((p) => Number(p.toFixed(3)))).toEqual([1, 0.667, MISSING, 0.333, 0]);
    const linear = buildAxis(lr, 'linear');
    expect(linear.pos[1]).toBeCloseTo(0.0991, 3);
    // A column with zero or less cannot be logarithmic.
    expect(buildAxis({ ...lr, values: [0, 1, 2] }, 'log').scale).toBe('linear');
    const cat = buildAxis(mode, 'category');
    expect(cat.categories).toEqual(['caffe', 'off', 'paper']);
    expect([...cat.pos].map((p) => Number(p.toFixed(3)))).toEqual([
      0.833,
      0.5,
      0.167,
      0.833,
      MISSING,
    ]);
  });

  it('keeps the runs every brush holds and writes them as bounds taken from the data', () => {
    const axes = [buildAxis(lr, 'log'), buildAxis(mode, 'category')];
    const brushes = new Map([
      ['params.optim.lr', { lo: 0.3, hi: 0.9 }],
      ['params.model.lrn.mode', { lo: 0.4, hi: 1 }],
    ]);
    expect([...brushMask(axes, brushes, 5)]).toEqual([0, 1, 0, 1, 0]);
    expect(brushSelections(axes, brushes)).toEqual([
      { field: 'params.optim.lr', min: 0.001, max: 0.01 },
      { field: 'params.model.lrn.mode', values: ['off', 'paper'] },
    ]);
    // A brush over nothing selects nothing.
    expect(brushSelections(axes, new Map([['params.optim.lr', { lo: 0.1, hi: 0.2 }]]))).toBeNull();
  });

  it('colours better values yellow: low errors, high precision', () => {
    expect([...colorIndex([0.1, 0.5, null, 0.9], true)]).toEqual([9, 5, -1, 0]);
    expect([...colorIndex([0.1, 0.9], false)]).toEqual([0, 9]);
  });
});

describe('grouped curves', () => {
  it('groups runs by the chosen params and draws a mean with a std or min–max band', () => {
    const runs = [
      { id: 1, params: { 'optim.lr': '0.1', seed: '0' } },
      { id: 2, params: { 'optim.lr': '0.1', seed: '1' } },
      { id: 3, params: { 'optim.lr': '0.01', seed: '0' } },
    ];
    expect(groupRuns(runs, ['optim.lr'])).toEqual([
      { label: 'lr=0.1', ids: [1, 2] },
      { label: 'lr=0.01', ids: [3] },
    ]);
    expect(groupRuns(runs, [])).toEqual([{ label: 'all runs', ids: [1, 2, 3] }]);
    const a = [
      { x: 1, y: 1 },
      { x: 2, y: 3 },
    ];
    const b = [
      { x: 1, y: 3 },
      { x: 2, y: 5 },
      { x: 3, y: 7 },
    ];
    const std = bandOf([a, b], 'std', 100);
    expect(std.mean).toEqual([
      { x: 1, y: 2 },
      { x: 2, y: 4 },
      { x: 3, y: 7 },
    ]);
    expect(std.upper[0]!.y).toBeCloseTo(2 + Math.SQRT2);
    // Past the end of a curve only the others count: one run, no spread.
    expect(std.lower[2]).toEqual({ x: 3, y: 7 });
    const minmax = bandOf([a, b], 'minmax', 100);
    expect(minmax.lower.map((p) => p.y)).toEqual([1, 3, 7]);
    expect(minmax.upper.map((p) => p.y)).toEqual([3, 5, 7]);
    // Between points, curves are interpolated onto a common grid.
    expect(bandOf([a, b], 'minmax', 2).mean.map((p) => p.x)).toEqual([1, 3]);
  });
});
