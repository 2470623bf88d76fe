import type { Command } from 'commander';
import { runImportance } from '../../analysis/run-importance.js';
import { withWorkbench } from '../../store/workbench.js';
import { printJson, type CommonOptions } from '../output.js';
import { table } from './runs-format.js';

/** `svw importance`: which params matter for a metric, over the runs a filter selects. */
export function registerImportance(program: Command): void {
  program
    .command('importance')
    .description(
      "which params matter for a metric: random-forest permutation importance over the runs, with Spearman's ρ and its sign",
    )
    .requiredOption('--metric <key>', 'e.g. val_top1_error (each run’s best value)')
    .option('--filter <expr>', 'only these runs (the runs list filter language)')
    .option('--json', 'machine-readable output')
    .action((opts: CommonOptions & { metric: string; filter?: string }) =>
      withWorkbench((wb) => {
        const rows = runImportance(wb.db, opts);
        if (opts.json) return printJson(rows);
        const fixed = (v: number | null) => (v === null ? '—' : v.toFixed(3));
        process.stdout.write(
          table(
            ['param', 'importance', 'spearman', ''],
            rows.map((r) => [
              r.param,
              fixed(r.importance),
              fixed(r.spearman),
              '█'.repeat(Math.round(r.importance * 30)),
            ]),
            new Set([1, 2]),
          ),
        );
      }),
    );
}
