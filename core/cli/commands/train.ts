import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { forkJobHost } from '../../jobs/hosts/fork.js';
import { requireRun, startTraining } from '../../jobs/launch.js';
import type { WorkerMessage } from '../../schema/messages.js';
import type { RunningJob } from '../../jobs/run-job.js';
import { extendEpochs } from '../../store/manage.js';
import { getRun, insertRun, latestMetrics } from '../../store/runs.js';
import { openWorkbench, type Workbench } from '../../store/workbench.js';
import { prepareRun } from '../../train/prepare.js';
import { PRESET_NAMES } from '../../schema/model-config.js';
import { UserError } from '../../util/errors.js';
import { requireBackend, type BackendChoice } from '../../engine/backends.js';
import { addSettingsHelp } from '../settings-help.js';
import { note, noteEngine, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, collect, parsePositiveInt } from '../parse.js';

interface TrainFlags extends CommonOptions {
  dataset?: string;
  preset?: string;
  set: string[];
  epochs?: number;
  experiment: string;
  name?: string;
  detach?: boolean;
  resume?: string;
  backend: BackendChoice;
}

/** Live progress: a bar on a terminal, one line per epoch otherwise. */
function progressReporter(runId: number): (m: WorkerMessage) => void {
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: `run ${runId} epoch {epoch} [{bar}] {percentage}% | loss {loss} | val err {valErr} | {ips} img/s | ETA {eta_formatted}`,
          stream: process.stderr,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  let valErr = '—';
  return (m) => {
    if (m.type === 'evaluation' && !m.tenCrop) valErr = `${(100 * m.top1Error).toFixed(1)}%`;
    if (m.type === 'progress' && m.phase === 'train' && bar) {
      const payload = {
        epoch: `${m.epoch + 1}/${m.epochs}`,
        loss: m.loss.toFixed(3),
        valErr,
        ips: m.imagesPerSec.toFixed(0),
      };
      if (!started) bar.start(m.batches * m.epochs, m.epoch * m.batches + m.batch, payload);
      else bar.update(m.epoch * m.batches + m.batch, payload);
      started = true;
    }
    if (m.type === 'metrics' && !tty) {
      const get = (k: string) => m.metrics.find((p) => p.key === k);
      const loss = get('epoch_train_loss');
      const err = get('val_top1_error');
      if (loss)
        note(
          `run ${runId}: epoch ${loss.epoch} train loss ${loss.value.toFixed(4)}${err ? `, val top-1 error ${(100 * err.value).toFixed(1)}%` : ''}`,
        );
    }
    if (m.type === 'log') note(`run ${runId}: ${m.message}`);
    if ((m.type === 'done' || m.type === 'error') && started) bar?.stop();
  };
}

/** Runs a training job to its end in this process (the host), with Ctrl-C cancelling it. */
async function superviseTraining(
  wb: Workbench,
  runId: number,
  resume: boolean,
  backend: BackendChoice,
  quiet: boolean,
) {
  const run = requireRun(wb, runId);
  const report = quiet ? undefined : progressReporter(runId);
  const job: RunningJob = startTraining(wb, forkJobHost, run, resume, {
    backend,
    onMessage: (m) => {
      if (m.type === 'started') noteEngine(m, `run ${runId}: `);
      report?.(m);
    },
  });
  const onSignal = () => {
    note(`\nrun ${runId}: cancelling (finishing the current step)…`);
    job.cancel();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await job.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerTrain(program: Command): void {
  addSettingsHelp(addBackendOption(program.command('train')))
    .description(
      'train a model on a dataset in a worker process, logging everything to the workbench database',
    )
    .option('--dataset <dataset>', 'dataset id or name')
    .option('--preset <name>', `model preset (${PRESET_NAMES.join(', ')})`)
    .option(
      '--set <key=value>',
      'change a setting: lr=0.02, batch=64, schedule=step, lrn=off, groups=1, … (repeatable; all below)',
      collect,
      [],
    )
    .option('--epochs <n>', 'number of epochs', parsePositiveInt)
    .option('--experiment <name>', 'experiment to file the run under', 'default')
    .option('--name <name>', 'run name')
    .option('--detach', 'start the run in the background and return at once')
    .option('--resume <run>', 'continue a run from its last checkpoint (--epochs may extend it)')
    .option('--json', 'machine-readable output')
    .action(async (opts: TrainFlags) => {
      await requireBackend(opts.backend);
      const wb = openWorkbench();
      try {
        let runId: number;
        if (opts.resume) {
          const run = requireRun(wb, opts.resume);
          if (run.status === 'running') throw new UserError(`run ${run.id} is running`);
          if (opts.epochs !== undefined) extendEpochs(wb, run, opts.epochs);
          runId = run.id;
        } else {
          if (!opts.dataset || !opts.preset)
            throw new UserError('--dataset and --preset are required (or --resume RUN)');
          const { config, dataset } = prepareRun(wb.db, {
            dataset: opts.dataset,
            preset: opts.preset,
            settings: opts.set,
            epochs: opts.epochs,
          });
          runId = insertRun(wb.db, {
            experiment: opts.experiment,
            name: opts.name,
            datasetId: dataset.id,
            config,
          });
        }
        if (opts.detach) {
          detachHost(runId, Boolean(opts.resume), opts.backend);
          if (opts.json) return printJson({ runId, status: 'queued' });
          return note(
            `run ${runId} started in the background; follow it with svw runs show ${runId}`,
          );
        }
        const status = await superviseTraining(
          wb,
          runId,
          Boolean(opts.resume),
          opts.backend,
          Boolean(opts.json),
        );
        const run = getRun(wb.db, runId)!;
        const metrics = latestMetrics(wb.db, runId);
        if (opts.json) {
          printJson({ runId, status, metrics, ...(run.error ? { error: run.error } : {}) });
        } else {
          note(`run ${runId} ${status}${run.error ? `: ${run.error}` : ''}`);
          const shown = ['val_top1_error', 'val_top5_error', 'val_loss', 'epoch_train_loss'].filter(
            (k) => k in metrics,
          );
          for (const k of shown) note(`  ${k.padEnd(18)} ${metrics[k]!.toFixed(4)}`);
        }
        if (status !== 'completed') process.exitCode = 1;
      } finally {
        wb.close();
      }
    });

  // The host of a detached run: a background `svw` that supervises one job and exits.
  program
    .command('_host', { hidden: true })
    .argument('<run>')
    .option('--resume')
    .option('--backend <name>', '', 'auto')
    .action(async (runId: string, opts: { resume?: boolean; backend: BackendChoice }) => {
      const wb = openWorkbench();
      try {
        await superviseTraining(wb, Number(runId), Boolean(opts.resume), opts.backend, true);
      } finally {
        wb.close();
      }
    });
}

function detachHost(runId: number, resume: boolean, backend: BackendChoice): void {
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../bin/svw.js');
  const args = [cli, '_host', String(runId), '--backend', backend, ...(resume ? ['--resume'] : [])];
  spawn(process.execPath, args, { detached: true, stdio: 'ignore', env: process.env }).unref();
}
