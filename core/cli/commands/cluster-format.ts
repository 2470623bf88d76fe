import type { ClusterStatus } from '../../jobs/slurm/status.js';
import type { ClusterProfile } from '../../schema/cluster.js';
import { table } from './runs-format.js';

const dash = (v: string | number | null) => (v === null ? '—' : String(v));

/** `svw cluster list`. */
export function renderProfiles(profiles: ClusterProfile[]): string {
  return table(
    ['NAME', 'PARTITION', 'GRES', 'CPUS', 'MEM', 'TIME', 'ACCOUNT', 'RESUBMITS', 'SPOOL'],
    profiles.map((p) => [
      p.name,
      p.partition,
      dash(p.gres),
      dash(p.cpus),
      dash(p.mem),
      dash(p.time),
      dash(p.account),
      String(p.maxResubmits),
      p.spool,
    ]),
  );
}

/** `svw cluster status`: partitions with their idle nodes, then the workbench's jobs. */
export function renderClusterStatus(s: ClusterStatus): string {
  const partitions = table(
    ['PARTITION', 'AVAIL', 'TIME LIMIT', 'IDLE NODES', 'NODES BY STATE'],
    s.partitions.map((p) => [
      `${p.name}${p.default ? '*' : ''}${p.name === s.partition ? ' (this profile)' : ''}`,
      p.available,
      p.timeLimit,
      String(p.idle),
      Object.entries(p.nodes)
        .map(([state, n]) => `${n} ${state}`)
        .join(', '),
    ]),
  );
  const jobs = s.jobs.length
    ? table(
        ['RUN', 'KIND', 'SLURM JOB', 'ATTEMPT', 'STATE', 'NODE'],
        s.jobs.map((j) => [
          String(j.runId),
          j.kind,
          j.slurmJobId ?? '(submitting)',
          String(j.attempt),
          j.state,
          dash(j.node),
        ]),
      )
    : 'no workbench jobs on this cluster now\n';
  return `cluster ${s.cluster}\n\n${partitions}\n${jobs}`;
}
