import { InvalidArgumentError, type Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import { getSweep } from '../../store/sweeps.js';
import { openWorkbench, withWorkbench } from '../../store/workbench.js';
import { ablationCsv, ablationMarkdown } from '../../sweep/ablation-export.js';
import { ablationTable, createAblation, DEFAULT_SEEDS } from '../../sweep/ablation.js';
import { NotFoundError, UserError } from '../../util/errors.js';
import { note, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, collect, parsePositiveInt } from '../parse.js';
import { runQueued } from '../run-queued.js';

interface AblationFlags extends CommonOptions {
  dataset?: string;
  preset?: string;
  seeds: number;
  epochs?: number;
  set: string[];
  experiment: string;
  name?: string;
  on?: string;
  show?: string;
  format: 'markdown' | 'csv';
  concurrency?: number;
  backend: BackendChoice;
}

function parseFormat(value: string): 'markdown' | 'csv' {
  if (value !== 'markdown' && value !== 'csv')
    throw new InvalidArgumentError('expected markdown or csv');
  return value;
}

/** Prints an ablation study's table: JSON, or Markdown / CSV. */
function printTable(wb: ReturnType<typeof openWorkbench>, sweepId: number, opts: AblationFlags) {
  const result = ablationTable(wb.db, sweepId);
  if (opts.json) return printJson(result);
  process.stdout.write(opts.format === 'csv' ? ablationCsv(result) : ablationMarkdown(result));
}

export function registerAblation(program: Command): void {
  addBackendOption(program.command('ablation'))
    .description(
      "the paper's ablation study on your data: baseline, LRN off, pooling 2/2, one tower, no PCA colour noise, no dropout, each with N seeds, and ten-crop against centre-crop evaluation; trains here and prints the table",
    )
    .option('--dataset <dataset>', 'dataset id or name')
    .option('--preset <name>', 'model preset')
    .option('--seeds <n>', 'seeds per variant', parsePositiveInt, DEFAULT_SEEDS)
    .option('--epochs <n>', 'epochs per run', parsePositiveInt)
    .option('--set <key=value>', 'a setting every run shares (repeatable)', collect, [])
    .option('--experiment <name>', 'experiment to file the runs under', 'default')
    .option('--name <name>', 'study name')
    .option('--on <cluster>', 'run the study on this Slurm cluster profile (svw cluster add)')
    .option('--show <study>', 'print the table of an existing study instead of running one')
    .option('--format <format>', 'markdown or csv (without --json)', parseFormat, 'markdown')
    .option('--concurrency <n>', 'runs at once', parsePositiveInt)
    .option('--json', 'machine-readable output')
    .action(async (opts: AblationFlags) => {
      if (opts.show !== undefined) {
        const id = opts.show;
        return withWorkbench((wb) => {
          const sweep = /^\d+$/.test(id) ? getSweep(wb.db, Number(id)) : undefined;
          if (sweep?.kind !== 'ablation')
            throw new NotFoundError(`no ablation study '${id}'`, 'svw sweep list shows them');
          printTable(wb, sweep.id, opts);
        });
      }
      if (!opts.dataset || !opts.preset)
        throw new UserError('--dataset and --preset are required (or --show STUDY)');
      const wb = openWorkbench();
      try {
        const { sweepId, runIds } = createAblation(wb.db, {
          dataset: opts.dataset,
          preset: opts.preset,
          seeds: opts.seeds,
          epochs: opts.epochs,
          settings: opts.set,
          experiment: opts.experiment,
          name: opts.name,
          on: opts.on,
        });
        note(
          `ablation study ${sweepId}: ${runIds.length} runs; \`svw ablation --show ${sweepId}\` prints its table later`,
        );
        await runQueued(
          wb,
          runIds.map((id) => ({ id })),
          { ...opts, quiet: Boolean(opts.json) },
        );
        printTable(wb, sweepId, opts);
      } finally {
        wb.close();
      }
    });
}
