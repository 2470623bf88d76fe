import type { Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import { requireRun } from '../../jobs/launch.js';
import type { SweepSpecInput } from '../../schema/sweep.js';
import { getRun, finishRun } from '../../store/runs.js';
import { metricGoal } from '../../store/run-compare.js';
import { getSweep, markSweepCancelled, sweepRunIds } from '../../store/sweeps.js';
import { openWorkbench, withWorkbench } from '../../store/workbench.js';
import { createSweep } from '../../sweep/create.js';
import { recoverSweepRuns } from '../../sweep/recover.js';
import { parseDimension } from '../../sweep/space.js';
import { sweepDetail, sweepSummaries, type SweepDetail } from '../../sweep/summary.js';
import { prepareRun } from '../../train/prepare.js';
import { NotFoundError, UserError } from '../../util/errors.js';
import { note, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, collect, parsePositiveInt } from '../parse.js';
import { runQueued } from '../run-queued.js';
import { table } from './runs-format.js';

interface RunFlags extends CommonOptions {
  dataset: string;
  preset: string;
  set: string[];
  sweep: string[];
  random?: number;
  seed?: number;
  asha?: boolean;
  metric: string;
  grace: number;
  eta: number;
  maxEpochs?: number;
  epochs?: number;
  experiment: string;
  name?: string;
  on?: string;
  concurrency?: number;
  backend: BackendChoice;
}

/** Random searches draw this many trials unless told. */
const DEFAULT_TRIALS = 8;

const fmt = (v: unknown) =>
  typeof v === 'number'
    ? String(Number(v.toPrecision(4)))
    : v === null || v === undefined
      ? '—'
      : String(v);

/** The sweep's runs as an aligned table, its rungs and its best run. */
export function renderSweep(d: SweepDetail): string {
  const keys = d.runs.length ? Object.keys(d.runs[0]!.values) : [];
  const runs = table(
    ['run', 'trial', 'status', 'epochs', ...keys, d.metric],
    d.runs.map((r) => [
      String(r.id),
      r.trial ?? '',
      r.status,
      `${r.epochsDone}/${r.epochsTotal}`,
      ...keys.map((k) => fmt(r.values[k])),
      fmt(r.metric),
    ]),
  );
  const lines = [
    `sweep ${d.id} '${d.name}' (${d.kind}, ${d.preset} on ${d.dataset ?? '—'})`,
    runs.trimEnd(),
  ];
  for (const rung of d.rungs)
    lines.push(
      `rung ${rung.rung + 1} at epoch ${rung.epoch}: ${rung.entries.length} runs, ${rung.entries.filter((e) => e.pruned).length} pruned, cutoff now ${fmt(rung.cutoff)}`,
    );
  for (const r of d.runs.filter((r) => r.status === 'pruned'))
    lines.push(`run ${r.id} pruned: ${r.error}`);
  lines.push(
    d.best
      ? `best so far: run ${d.best.runId}, ${d.metric} ${fmt(d.best.value)}`
      : 'no results yet',
  );
  return lines.join('\n') + '\n';
}

function requireSweep(wb: ReturnType<typeof openWorkbench>, id: string) {
  const sweep = /^\d+$/.test(id) ? getSweep(wb.db, Number(id)) : undefined;
  if (!sweep) throw new NotFoundError(`no sweep '${id}'`, 'svw sweep list shows the sweeps');
  return sweep;
}

export function registerSweep(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('searches over settings: grids, random search and ASHA early stopping');

  addBackendOption(sweep.command('run'))
    .description('create a sweep and run its trials here, as many at once as the machine takes')
    .requiredOption('--dataset <dataset>', 'dataset id or name')
    .requiredOption('--preset <name>', 'model preset')
    .option('--set <key=value>', 'a setting every trial shares (repeatable)', collect, [])
    .option(
      '--sweep <key=values>',
      'a swept setting: lr=1e-4..1e-1 (a range; log-uniform for lr and weightDecay, log: or lin: to choose), dropout=0.3,0.5 (values); repeatable',
      collect,
      [],
    )
    .option(
      '--random <trials>',
      `random search with this many trials (${DEFAULT_TRIALS} when a range is swept)`,
      parsePositiveInt,
    )
    .option('--seed <n>', 'seed of the random draws', parsePositiveInt)
    .option('--asha', 'stop weak trials early (asynchronous successive halving)')
    .option('--metric <key>', 'the metric ASHA ranks trials by', 'val_top1_error')
    .option('--grace <epochs>', "epochs before ASHA's first judgement", parsePositiveInt, 1)
    .option(
      '--eta <n>',
      "ASHA's reduction factor: each rung keeps the best 1/n",
      parsePositiveInt,
      3,
    )
    .option(
      '--max-epochs <n>',
      'epochs of a trial ASHA never stops (default: --epochs, or the preset’s)',
      parsePositiveInt,
    )
    .option('--epochs <n>', 'epochs per trial', parsePositiveInt)
    .option('--experiment <name>', 'experiment to file the runs under', 'default')
    .option('--name <name>', 'sweep name')
    .option('--on <cluster>', 'run the trials on this Slurm cluster profile (svw cluster add)')
    .option(
      '--concurrency <n>',
      'trials at once (default: one per GPU, or per core on wasm)',
      parsePositiveInt,
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: RunFlags) => {
      const wb = openWorkbench();
      try {
        const settings = [...opts.set, ...(opts.epochs ? [`epochs=${opts.epochs}`] : [])];
        const { config } = prepareRun(wb.db, {
          dataset: opts.dataset,
          preset: opts.preset,
          settings,
        });
        if (opts.sweep.length === 0) throw new UserError('give at least one --sweep key=values');
        const space = Object.fromEntries(opts.sweep.map((s) => parseDimension(s)));
        const ranged = Object.values(space).some((d) => !('values' in d));
        const random = ranged || opts.random !== undefined;
        const spec: SweepSpecInput = {
          method: random ? 'random' : 'grid',
          settings,
          space,
          ...(random ? { trials: opts.random ?? DEFAULT_TRIALS } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          asha: opts.asha
            ? {
                metric: opts.metric,
                mode: metricGoal(opts.metric) === 'max' ? 'max' : 'min',
                grace: opts.grace,
                eta: opts.eta,
                maxEpochs: opts.maxEpochs ?? config.epochs,
              }
            : null,
        };
        const { sweepId, runIds } = createSweep(wb.db, {
          dataset: opts.dataset,
          preset: opts.preset,
          spec,
          experiment: opts.experiment,
          name: opts.name,
          on: opts.on,
        });
        note(`sweep ${sweepId}: ${runIds.length} trials (runs ${runIds[0]}…${runIds.at(-1)})`);
        await runQueued(
          wb,
          runIds.map((id) => ({ id })),
          { ...opts, quiet: Boolean(opts.json) },
        );
        const detail = sweepDetail(wb.db, sweepId);
        if (opts.json) printJson(detail);
        else process.stdout.write(renderSweep(detail));
        if (detail.runs.some((r) => r.status === 'failed' || r.status === 'interrupted'))
          process.exitCode = 1;
      } finally {
        wb.close();
      }
    });

  sweep
    .command('list')
    .description('every sweep, with its runs by status')
    .option('--json', 'machine-readable output')
    .action((opts: CommonOptions) =>
      withWorkbench((wb) => {
        const sweeps = sweepSummaries(wb.db);
        if (opts.json) return printJson(sweeps);
        if (sweeps.length === 0) return note('no sweeps yet');
        process.stdout.write(
          table(
            ['sweep', 'name', 'kind', 'preset', 'dataset', 'runs'],
            sweeps.map((s) => [
              String(s.id),
              s.name,
              s.kind,
              s.preset,
              s.dataset ?? '—',
              Object.entries(s.counts)
                .map(([k, n]) => `${n} ${k}`)
                .join(', '),
            ]),
          ),
        );
      }),
    );

  sweep
    .command('show')
    .description("a sweep's runs, ASHA's rungs and the best run so far")
    .argument('<sweep>', 'sweep id')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: CommonOptions) =>
      withWorkbench((wb) => {
        const detail = sweepDetail(wb.db, requireSweep(wb, id).id);
        if (opts.json) return printJson(detail);
        process.stdout.write(renderSweep(detail));
      }),
    );

  addBackendOption(sweep.command('resume'))
    .description(
      "run a sweep's queued and interrupted trials here, the interrupted from their last checkpoint",
    )
    .argument('<sweep>', 'sweep id')
    .option('--concurrency <n>', 'trials at once', parsePositiveInt)
    .option('--json', 'machine-readable output')
    .action(
      async (
        id: string,
        opts: CommonOptions & { backend: BackendChoice; concurrency?: number },
      ) => {
        const wb = openWorkbench();
        try {
          const sweepId = requireSweep(wb, id).id;
          if (getSweep(wb.db, sweepId)!.cancelledAt)
            throw new UserError(`sweep ${sweepId} was cancelled`);
          const { resume } = recoverSweepRuns(wb.db);
          const mine = new Set(sweepRunIds(wb.db, sweepId));
          const todo = [
            ...resume.filter((r) => mine.has(r)).map((r) => ({ id: r, resume: true })),
            ...[...mine]
              .filter((r) => getRun(wb.db, r)?.status === 'queued')
              .map((r) => ({ id: r, resume: getRun(wb.db, r)!.startedAt !== null })),
          ];
          note(`sweep ${sweepId}: ${todo.length} trials to run`);
          await runQueued(wb, todo, { ...opts, quiet: Boolean(opts.json) });
          const detail = sweepDetail(wb.db, sweepId);
          if (opts.json) printJson(detail);
          else process.stdout.write(renderSweep(detail));
        } finally {
          wb.close();
        }
      },
    );

  sweep
    .command('cancel')
    .description("cancel a sweep's queued trials; ASHA stops judging it")
    .argument('<sweep>', 'sweep id')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: CommonOptions) =>
      withWorkbench((wb) => {
        const sweepId = requireSweep(wb, id).id;
        markSweepCancelled(wb.db, sweepId);
        const cancelled = sweepRunIds(wb.db, sweepId).filter((r) => {
          const run = requireRun(wb, r);
          // Queued here or by a host that is gone; a live host's queue is its own to cancel.
          if (run.status !== 'queued' && run.status !== 'interrupted') return false;
          finishRun(wb.db, r, 'cancelled');
          return true;
        });
        if (opts.json) return printJson({ cancelled });
        note(
          `sweep ${sweepId} cancelled: ${cancelled.length} trials will not run; running ones finish unless cancelled where they run`,
        );
      }),
    );
}
