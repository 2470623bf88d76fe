import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import { clusterStatus } from '../../jobs/slurm/status.js';
import { DEFAULT_MAX_RESUBMITS, type ClusterProfile } from '../../schema/cluster.js';
import {
  addCluster,
  defaultSpool,
  listClusters,
  removeCluster,
  requireCluster,
} from '../../store/clusters.js';
import { withWorkbench } from '../../store/workbench.js';
import { UserError } from '../../util/errors.js';
import { storageError } from '../../util/system-errors.js';
import { followClusterJobs } from '../follow.js';
import { note, printJson, type CommonOptions } from '../output.js';
import { addBackendOption, parseIntOption, parsePositiveInt } from '../parse.js';
import { renderClusterStatus, renderProfiles } from './cluster-format.js';

interface AddFlags extends CommonOptions {
  partition: string;
  gres?: string;
  cpus?: number;
  mem?: string;
  time?: string;
  account?: string;
  spool?: string;
  resubmits: number;
}

/** The spool must be a folder this machine can write (the compute nodes must see it too). */
function requireWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw storageError(err) ?? new UserError(`cannot use ${dir} as the spool: ${String(err)}`);
  }
}

export function registerCluster(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('Slurm clusters to run training, evaluation and index jobs on (--on NAME)');

  cluster
    .command('add')
    .description('add a cluster profile: the partition and resources its jobs ask for')
    .argument('<name>', 'the name --on takes')
    .requiredOption('--partition <partition>', 'the Slurm partition')
    .option('--gres <gres>', 'generic resources per job, e.g. gpu:1')
    .option('--cpus <n>', 'CPUs per job (--cpus-per-task)', parsePositiveInt)
    .option('--mem <mem>', 'memory per job, e.g. 16G')
    .option('--time <limit>', 'time limit per job, e.g. 4:00:00 or 2-00:00:00')
    .option('--account <account>', 'the account to charge')
    .option(
      '--spool <dir>',
      'a folder on the file system the compute nodes share, for job files (default: under the workbench home)',
    )
    .option(
      '--resubmits <n>',
      'how often a preempted, timed-out or node-failed run is resubmitted to resume',
      parseIntOption,
      DEFAULT_MAX_RESUBMITS,
    )
    .option('--json', 'machine-readable output')
    .action((name: string, opts: AddFlags) =>
      withWorkbench(async (wb) => {
        const spool = path.resolve(opts.spool ?? defaultSpool(wb.paths, name));
        const profile: ClusterProfile = {
          name,
          partition: opts.partition,
          gres: opts.gres ?? null,
          cpus: opts.cpus ?? null,
          mem: opts.mem ?? null,
          time: opts.time ?? null,
          account: opts.account ?? null,
          spool,
          maxResubmits: opts.resubmits,
        };
        const added = addCluster(wb.db, profile, (p) => requireWritable(p.spool));
        // A check, not a gate: a profile may be written before the cluster is reachable.
        const status = await clusterStatus(added).catch(() => null);
        if (status && !status.partitions.some((p) => p.name === added.partition))
          note(
            `warning: Slurm here has no partition '${added.partition}' (it has ${status.partitions.map((p) => p.name).join(', ') || 'none'})`,
          );
        if (!status) note('warning: could not ask Slurm about the partition (sinfo failed)');
        if (opts.json) return printJson(added);
        note(`added cluster '${name}': partition ${added.partition}, spool ${added.spool}`);
      }),
    );

  cluster
    .command('list')
    .description('the cluster profiles')
    .option('--json', 'machine-readable output')
    .action((opts: CommonOptions) =>
      withWorkbench((wb) => {
        const profiles = listClusters(wb.db);
        if (opts.json) return printJson(profiles);
        if (profiles.length === 0)
          return note('no clusters; add one with svw cluster add NAME --partition P');
        process.stdout.write(renderProfiles(profiles));
      }),
    );

  cluster
    .command('remove')
    .description('remove a cluster profile (its runs keep its name)')
    .argument('<name>')
    .action((name: string) =>
      withWorkbench((wb) => {
        removeCluster(wb.db, name);
        note(`removed cluster '${name}'`);
      }),
    );

  cluster
    .command('status')
    .description("a cluster's partitions, idle nodes and the workbench's jobs there")
    .argument('[name]', 'the profile (the only one, when there is one)')
    .option('--json', 'machine-readable output')
    .action((name: string | undefined, opts: CommonOptions) =>
      withWorkbench(async (wb) => {
        const profiles = name ? [requireCluster(wb.db, name)] : listClusters(wb.db);
        if (profiles.length === 0)
          throw new UserError('no clusters; add one with svw cluster add NAME --partition P');
        if (profiles.length > 1 && !name)
          throw new UserError(`name the cluster: ${profiles.map((p) => p.name).join(', ')}`);
        const status = await clusterStatus(profiles[0]!, wb.db);
        if (opts.json) return printJson(status);
        process.stdout.write(renderClusterStatus(status));
      }),
    );

  addBackendOption(cluster.command('attach'))
    .description('follow the cluster jobs a stopped workbench process left running, until they end')
    .action((opts: { backend: BackendChoice }) =>
      withWorkbench(async (wb) => {
        const runs = await followClusterJobs(
          wb,
          {
            backend: opts.backend,
            onSignal: 'detach',
            report: (runId, m) => {
              if (m.type === 'log') note(`run ${runId}: ${m.message}`);
            },
          },
          (scheduler) => {
            const taken = scheduler.reattach();
            note(
              taken.length
                ? `following run ${taken.join(', run ')}`
                : 'no cluster jobs are waiting for a workbench process to follow them',
            );
            return taken;
          },
        );
        if (runs.length) note(`every followed job has ended (run ${runs.join(', run ')})`);
      }),
    );
}
