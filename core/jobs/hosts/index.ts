import { UserError } from '../../util/errors.js';
import type { JobHost } from '../host.js';

/**
 * The job hosts: where a job's worker process runs and how the host talks to it.
 *
 * How to add a host:
 * 1. Write `hosts/<name>.ts` exporting a `JobHost` (`../host.ts`): `start()` returns a
 *    `JobProcess` whose messages are the worker's (`schema/messages.ts`), whatever carries them.
 * 2. Add one entry below. `open` builds the host from the command line's options; a host that
 *    needs a runtime core/ may not import (Electron) lives beside that runtime, is named here
 *    with `module`, and is handed to `createHostService` by that runtime instead. A host of
 *    remote jobs (`remote: true`, jobs that outlive it) is opened per profile of its own:
 *    Slurm's by `ClusterHosts` (`../clusters.ts`) for runs whose `cluster` names a profile.
 */
export interface JobHostEntry {
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly summary: string;
  /** The file that defines it, from the repository root. */
  readonly module: string;
  readonly open?: () => Promise<JobHost>;
  /** How a host without `open` is opened instead, for the error that says so. */
  readonly openedBy?: string;
}

export const JOB_HOSTS = [
  {
    name: 'fork',
    summary: 'a Node child process on this machine (the CLI and svw serve)',
    module: 'core/jobs/hosts/fork.ts',
    open: async () => (await import('./fork.js')).forkJobHost,
  },
  {
    name: 'electron',
    summary: 'an Electron utility process (the desktop app)',
    module: 'electron/utility-host.ts',
  },
  {
    name: 'slurm',
    summary: 'a Slurm batch job on a cluster (svw cluster add; --on NAME), one host per profile',
    module: 'core/jobs/hosts/slurm.ts',
    openedBy: 'one per cluster profile: svw cluster add NAME, then --on NAME',
  },
] as const satisfies readonly JobHostEntry[];

export type JobHostName = (typeof JOB_HOSTS)[number]['name'];

/** The host of that name, for a runtime that may start it itself. */
export async function openJobHost(name: string): Promise<JobHost> {
  const entry: JobHostEntry | undefined = JOB_HOSTS.find((h) => h.name === name);
  if (!entry)
    throw new UserError(
      `no job host '${name}' (known: ${JOB_HOSTS.map((h) => h.name).join(', ')})`,
    );
  if (!entry.open)
    throw new UserError(
      `the ${name} job host is ${entry.openedBy ? `opened ${entry.openedBy}` : `started by its own runtime (${entry.module})`}`,
    );
  return entry.open();
}
