import { Option, type Command } from 'commander';
import { requireRun } from '../../jobs/launch.js';
import { transaction } from '../../store/db.js';
import { deleteRuns } from '../../store/manage.js';
import { listRuns } from '../../store/run-list.js';
import {
  addNote,
  finishRun,
  getRun,
  runNotes,
  runTags,
  setTag,
  type RunRow,
} from '../../store/runs.js';
import { getLease, hostGone } from '../../store/leases.js';
import { cancelClusterJob, followed } from '../../jobs/slurm/cancel.js';
import type { BackendChoice } from '../../engine/backends.js';
import type { Workbench } from '../../store/workbench.js';
import { followClusterJobs } from '../follow.js';
import { withWorkbench } from '../../store/workbench.js';
import type { CheckpointKind } from '../../train/checkpoint.js';
import { exportCheckpoint } from '../../train/export.js';
import { RefusedError, UserError } from '../../util/errors.js';
import { note, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, collect, parsePositiveInt } from '../parse.js';
import { compareRuns, renderCompare, renderList, renderShow, showRun } from './runs-format.js';

interface ListFlags extends CommonOptions {
  experiment?: string;
  filter?: string;
  sort: string;
  limit?: number;
}

export function registerRuns(program: Command): void {
  const runs = program
    .command('runs')
    .description('list, inspect, compare and manage training runs');

  runs
    .command('list')
    .description('list runs with their key params, best validation errors and duration')
    .option('--experiment <name>', 'only runs of this experiment')
    .option('--filter <expr>', "e.g. 'params.optim.lr > 0.001 and metrics.val_top1_error < 0.5'")
    .option(
      '--sort <key>',
      'id, created_at, status, name, params.<key> or metrics.<key>; a leading - sorts descending',
      '-id',
    )
    .option('--limit <n>', 'show at most N runs', parsePositiveInt)
    .option('--json', 'machine-readable output')
    .action((opts: ListFlags) =>
      withWorkbench((wb) => {
        const rows = listRuns(wb.db, opts);
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return note('no runs match');
        process.stdout.write(renderList(rows));
      }),
    );

  runs
    .command('show')
    .description('a run: params, metrics, per-class errors, checkpoints, engine and recent logs')
    .argument('<run>', 'run id')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: CommonOptions) =>
      withWorkbench((wb) => {
        const shown = showRun(wb, requireRun(wb, id));
        if (opts.json) return printJson(shown);
        process.stdout.write(renderShow(shown));
      }),
    );

  runs
    .command('compare')
    .description('the params that differ between runs, and their latest and best metrics')
    .argument('<runs...>', 'two or more run ids')
    .option('--json', 'machine-readable output')
    .action((ids: string[], opts: CommonOptions) =>
      withWorkbench((wb) => {
        const rows = [...new Set(ids)].map((id) => requireRun(wb, id));
        if (new Set(rows.map((r) => r.id)).size < 2)
          throw new UserError('compare needs at least two different runs');
        const compared = compareRuns(wb, rows);
        if (opts.json) return printJson(compared);
        process.stdout.write(renderCompare(compared));
      }),
    );

  addBackendOption(runs.command('cancel'))
    .description(
      'cancel a run: a job on a cluster is scancelled from here; a local run, in its own process',
    )
    .argument('<run>', 'run id')
    .action((id: string, opts: { backend: BackendChoice }) =>
      withWorkbench(async (wb) => {
        const run = requireRun(wb, id);
        const job = await cancelClusterJob(wb.db, run.id);
        if (job) {
          note(`run ${run.id}: cancelled Slurm job ${job.slurmJobId ?? '(being submitted)'}`);
          if (followed(wb.db, job))
            return note('the workbench process following it records the end');
          // Nobody follows it: record what it reported and how it ended, here and now.
          await followClusterJobs(wb, { backend: opts.backend, onSignal: 'detach' }, (s) =>
            s.reattach((runId) => runId === run.id),
          );
          return note(`run ${run.id} ${getRun(wb.db, run.id)?.status ?? 'cancelled'}`);
        }
        cancelLocal(wb, run);
        note(`run ${run.id} cancelled`);
      }),
    );

  runs
    .command('delete')
    .description('delete runs: their records, metrics, checkpoints and folders')
    .argument('<runs...>', 'run ids')
    .option('--json', 'machine-readable output')
    .action((ids: string[], opts: CommonOptions) =>
      withWorkbench((wb) => {
        const rows = [...new Set(ids)].map((id) => requireRun(wb, id));
        deleteRuns(wb, rows);
        if (opts.json) return printJson({ deleted: rows.map((r) => r.id) });
        note(`deleted ${rows.map((r) => `run ${r.id} '${r.name}'`).join(', ')}`);
      }),
    );

  runs
    .command('tag')
    .description('set (key=value) or remove (--remove key) tags of a run')
    .argument('<run>', 'run id')
    .argument('[tags...]', 'key=value pairs')
    .option('--remove <key>', 'remove this tag (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action((id: string, pairs: string[], opts: CommonOptions & { remove: string[] }) =>
      withWorkbench((wb) => {
        const run = requireRun(wb, id);
        if (pairs.length === 0 && opts.remove.length === 0)
          throw new UserError('give tags as key=value, or --remove KEY');
        const set = pairs.map((p) => {
          const m = /^([^=\s]+)=(.*)$/s.exec(p);
          if (!m) throw new UserError(`expected key=value, got '${p}'`);
          return [m[1]!, m[2]!] as const;
        });
        transaction(wb.db, () => {
          for (const key of opts.remove) setTag(wb.db, run.id, key, null);
          for (const [key, value] of set) setTag(wb.db, run.id, key, value);
        });
        const tags = runTags(wb.db, run.id);
        if (opts.json) return printJson({ id: run.id, tags });
        const text = Object.entries(tags).map(([k, v]) => `${k}=${v}`);
        note(`run ${run.id} tags: ${text.length ? text.join(' ') : '(none)'}`);
      }),
    );

  runs
    .command('note')
    .description('add a note to a run')
    .argument('<run>', 'run id')
    .argument('<text...>', 'the note')
    .option('--json', 'machine-readable output')
    .action((id: string, words: string[], opts: CommonOptions) =>
      withWorkbench((wb) => {
        const run = requireRun(wb, id);
        const text = words.join(' ').trim();
        if (!text) throw new UserError('the note is empty');
        addNote(wb.db, run.id, text);
        const notes = runNotes(wb.db, run.id);
        if (opts.json) return printJson({ id: run.id, notes });
        note(`run ${run.id}: ${notes.length} note${notes.length === 1 ? '' : 's'}`);
      }),
    );
}

interface ExportFlags extends CommonOptions {
  out: string;
  checkpoint?: CheckpointKind;
  force?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('copy the model of a run checkpoint to a folder that svw predict --model can use')
    .argument('<run>', 'run id')
    .requiredOption('--out <dir>', 'folder to write (model.json, weights.bin, labels.json, …)')
    .addOption(
      new Option('--checkpoint <kind>', 'which checkpoint (default: best, else last)').choices([
        'best',
        'last',
      ]),
    )
    .option('--force', 'write into a folder that is not empty')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: ExportFlags) =>
      withWorkbench((wb) => {
        const result = exportCheckpoint(wb, requireRun(wb, id), opts);
        if (opts.json) return printJson(result);
        note(
          `exported run ${result.runId}'s ${result.checkpoint} checkpoint (epoch ${result.epoch ?? '?'}) to ${result.out}: ${result.files.length} files, ${(result.bytes / 1e6).toFixed(1)} MB`,
        );
      }),
    );
}

/**
 * Cancels a run of this machine: one queued with no live host is cancelled here; one a live
 * workbench process runs or queues is that process's to stop (there is no channel to it).
 */
function cancelLocal(wb: Workbench, run: RunRow): void {
  const lease = run.hostId ? getLease(wb.db, run.hostId) : undefined;
  if (run.status === 'queued' && (!run.hostId || hostGone(lease))) {
    finishRun(wb.db, run.id, 'cancelled');
    return;
  }
  if (run.status === 'queued' || run.status === 'running')
    throw new RefusedError(
      `run ${run.id} is ${run.status} in another workbench process${lease ? ` (pid ${lease.pid} on ${lease.machine})` : ''}`,
      'cancel it there: Ctrl-C in its svw train, or Cancel in the app',
    );
  throw new RefusedError(`run ${run.id} is ${run.status}, not running`);
}
