import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  combineFilters,
  formatField,
  formatValue,
  selectionFilter,
} from '../../core/filter/format.js';
import { parseFilter } from '../../core/filter/parse.js';
import { filteredRunIds } from '../../core/store/run-list.js';
import { runColumns } from '../../core/store/run-values.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { seedRuns } from '../../bench/seed-runs.js';
import { tempDir } from '../helpers/cli.js';

const home = tempDir('svw-brush-');
let wb: Workbench;
beforeAll(() => {
  wb = openWorkbench(home.dir);
  seedRuns(wb.db, 200);
});
afterAll(() => {
  wb.close();
  home.cleanup();
});

describe('writing filters', () => {
  it('writes fields and values that parse back to themselves', () => {
    expect(formatField({ scope: 'params', name: 'optim.lr' })).toBe('params.optim.lr');
    expect(formatField({ scope: 'tags', name: 'my key' })).toBe('tags."my key"');
    expect(formatField({ scope: 'metrics', name: 'val_loss', stat: 'min' })).toBe(
      'metrics.val_loss.min',
    );
    for (const value of ['paper', '3/2', 'and', 'null', '1e-3', 'say "hi"', 'a b', 'x\\y']) {
      const node = parseFilter(`params.k = ${formatValue(value)}`);
      expect(node).toMatchObject({ value });
    }
    for (const value of [0.1 + 0.2, 1e-7, -3, 123456789.125])
      expect(parseFilter(`params.k = ${formatValue(value)}`)).toMatchObject({ value });
  });

  it('turns axis selections into the filter that selects the same runs', () => {
    expect(selectionFilter({ field: 'params.optim.lr', min: 0.001, max: 0.01 })).toBe(
      'params.optim.lr >= 0.001 and params.optim.lr <= 0.01',
    );
    expect(selectionFilter({ field: 'status', values: ['completed', 'failed'] })).toBe(
      '(status = completed or status = failed)',
    );
    expect(
      combineFilters('status = completed or id = 1', [{ field: 'seed', min: 2, max: 2 }]),
    ).toBe('(status = completed or id = 1) and seed = 2');
    expect(() => combineFilters('status =', [])).toThrow(/expected a value/);

    // A brush on two axes, its bounds taken from the data: the filter picks exactly those runs.
    const { ids } = filteredRunIds(wb.db, {});
    const [lr, top1] = runColumns(wb.db, ids, ['params.optim.lr', 'metrics.val_top1_error.min']);
    expect(lr!.kind).toBe('number');
    const inside = ids.filter((_, i) => {
      const [a, b] = [lr!.values[i] as number, top1!.values[i] as number];
      return a >= 0.001 && a <= 0.01 && b >= 0.2 && b <= 0.6;
    });
    const bounds = (column: (number | string | null)[]) => {
      const picked = inside.map((id) => column[ids.indexOf(id)] as number);
      return { min: Math.min(...picked), max: Math.max(...picked) };
    };
    const filter = combineFilters('', [
      { field: 'params.optim.lr', ...bounds(lr!.values) },
      { field: 'metrics.val_top1_error.min', ...bounds(top1!.values) },
    ]);
    expect(inside.length).toBeGreaterThan(10);
    expect(filteredRunIds(wb.db, { filter }).ids.sort()).toEqual(inside.sort());
  });

  it('reads columns of many runs, a category where any value is text', () => {
    const { ids, total } = filteredRunIds(wb.db, { filter: 'params.optim.lr = 0.1', limit: 5 });
    expect(total).toBe(50);
    expect(ids).toHaveLength(5);
    const [experiment, missing] = runColumns(wb.db, ids, ['experiment', 'params.nothing']);
    expect(experiment).toMatchObject({ kind: 'category', values: ids.map(() => 'exp-0') });
    expect(missing!.values.every((v) => v === null)).toBe(true);
    expect(() => runColumns(wb.db, ids, ['created_at'])).toThrow(/cannot show the run field/);
  });
});
