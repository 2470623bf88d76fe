import type { ClusterProfile } from '../../schema/cluster.js';
import { openClusterJobs } from '../../store/cluster-jobs.js';
import type { Db } from '../../store/db.js';
import { slurm, squeue } from './commands.js';
import { describeSighting } from './states.js';

export interface PartitionStatus {
  name: string;
  /** The partition jobs go to when they name none. */
  default: boolean;
  available: string;
  timeLimit: string;
  /** Node counts by state (idle, mixed, allocated, down…). */
  nodes: Record<string, number>;
  idle: number;
}

export interface ClusterStatus {
  cluster: string;
  partition: string;
  partitions: PartitionStatus[];
  /** The workbench's jobs there that have not ended, as Slurm sees them now. */
  jobs: {
    runId: number;
    kind: string;
    slurmJobId: string | null;
    attempt: number;
    state: string;
    node: string | null;
  }[];
}

/** sinfo's partitions and node states, and squeue's view of the workbench's open jobs. */
export async function clusterStatus(profile: ClusterProfile, db?: Db): Promise<ClusterStatus> {
  const out = await slurm('sinfo', ['--noheader', '--format=%P|%a|%l|%D|%T']);
  const partitions = new Map<string, PartitionStatus>();
  for (const line of out.split('\n')) {
    const [rawName, available, timeLimit, count, state] = line.trim().split('|');
    if (!rawName || !state) continue;
    const name = rawName.replace(/\*$/, '');
    const p = partitions.get(name) ?? {
      name,
      default: rawName.endsWith('*'),
      available: available ?? '',
      timeLimit: timeLimit ?? '',
      nodes: {},
      idle: 0,
    };
    const key = state.replace(/[*~#!%$@^-]+$/, '');
    p.nodes[key] = (p.nodes[key] ?? 0) + Number(count);
    if (key === 'idle') p.idle += Number(count);
    partitions.set(name, p);
  }
  const rows = db ? openClusterJobs(db, profile.name) : [];
  const seen = await squeue(
    rows.flatMap((r) => (r.slurmJobId ? [r.slurmJobId.split('_')[0]!] : [])),
  );
  return {
    cluster: profile.name,
    partition: profile.partition,
    partitions: [...partitions.values()],
    jobs: rows.map((r) => {
      const now = r.slurmJobId ? seen.get(r.slurmJobId) : undefined;
      return {
        runId: r.runId,
        kind: r.kind,
        slurmJobId: r.slurmJobId,
        attempt: r.attempt,
        state: now ? describeSighting(now) : describeSighting(r),
        node: now?.node ?? r.node,
      };
    }),
  };
}
