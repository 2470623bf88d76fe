import { Option, type Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import { forkJobHost } from '../../jobs/hosts/fork.js';
import { requireRun, startEvaluation, startTraining } from '../../jobs/launch.js';
import { DEMO_DATASET, DEMO_EPOCHS, DEMO_PRESET, prepareDemo } from '../../jobs/demo.js';
import { getRun, latestMetrics, runEvaluations } from '../../store/runs.js';
import { openWorkbench } from '../../store/workbench.js';
import { note, noteEngine, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, parsePositiveInt } from '../parse.js';

interface EvalFlags extends CommonOptions {
  split: 'train' | 'val';
  tenCrop?: boolean;
  checkpoint: 'best' | 'last';
  backend: BackendChoice;
}

export function registerEval(program: Command): void {
  addBackendOption(program.command('eval'))
    .description(
      "evaluate a run's checkpoint (top-1/top-5 and per-class error), stored with the run",
    )
    .argument('<run>', 'run id')
    .addOption(
      new Option('--split <split>', 'dataset split').choices(['train', 'val']).default('val'),
    )
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint').choices(['best', 'last']).default('best'),
    )
    .option('--ten-crop', 'average softmax over 10 crops (4 corners + centre, and their flips)')
    .option('--json', 'machine-readable output')
    .action(async (runArg: string, opts: EvalFlags) => {
      const wb = openWorkbench();
      try {
        const run = requireRun(wb, runArg);
        const job = startEvaluation(
          wb,
          forkJobHost,
          run,
          { checkpoint: opts.checkpoint, split: opts.split, tenCrop: Boolean(opts.tenCrop) },
          {
            backend: opts.backend,
            onMessage: (m) => {
              if (m.type === 'started') noteEngine(m);
            },
          },
        );
        const status = await job.done;
        const evaluation = runEvaluations(wb.db, run.id).at(-1);
        if (status !== 'completed' || !evaluation) {
          process.exitCode = 1;
          return note(`evaluation of run ${run.id} failed; see svw runs show ${run.id}`);
        }
        const { perClassError, perClassCount, confusion: _confusion, ...summary } = evaluation;
        if (opts.json)
          return printJson({ runId: run.id, ...summary, perClassError, perClassCount });
        note(
          `run ${run.id} ${opts.checkpoint} checkpoint (epoch ${evaluation.epoch}) on ${evaluation.images} ${opts.split} images${opts.tenCrop ? ', ten-crop' : ''}: top-1 error ${(100 * evaluation.top1Error).toFixed(2)}%, top-5 error ${(100 * evaluation.top5Error).toFixed(2)}%`,
        );
      } finally {
        wb.close();
      }
    });

  addBackendOption(program.command('demo'))
    .description(
      'import the bundled CIFAR-10 sample if needed, train alexnet-cifar on it and show the results',
    )
    .option('--epochs <n>', 'epochs to train', parsePositiveInt, DEMO_EPOCHS)
    .option('--json', 'machine-readable output')
    .action(async (opts: CommonOptions & { epochs: number; backend: BackendChoice }) => {
      const wb = openWorkbench();
      try {
        const { runId } = await prepareDemo(wb, {
          epochs: opts.epochs,
          onImported: (imported) =>
            note(
              `imported the demo dataset: ${imported.classes.length} classes, ${imported.counts.train} train + ${imported.counts.val} val images`,
            ),
        });
        note(`training run ${runId}: ${DEMO_PRESET} on ${DEMO_DATASET} for ${opts.epochs} epochs…`);
        const job = startTraining(wb, forkJobHost, getRun(wb.db, runId)!, false, {
          backend: opts.backend,
          onMessage: (m) => {
            if (m.type === 'started') noteEngine(m);
            if (m.type === 'evaluation' && !opts.json) {
              note(
                `  epoch ${String(m.epoch).padStart(2)}  val top-1 error ${(100 * m.top1Error).toFixed(1).padStart(5)}%  top-5 error ${(100 * m.top5Error).toFixed(1).padStart(5)}%  loss ${m.loss?.toFixed(3)}`,
              );
            }
          },
        });
        process.on('SIGINT', () => job.cancel());
        const status = await job.done;
        const metrics = latestMetrics(wb.db, runId);
        if (opts.json) return printJson({ runId, status, metrics });
        note(`run ${runId} ${status}. Chance is 90% top-1 error on 10 classes.`);
        note(`next: svw runs show ${runId}   svw runs list   svw export ${runId} --out my-model`);
        if (status !== 'completed') process.exitCode = 1;
      } finally {
        wb.close();
      }
    });
}
