import type { Db } from '../store/db.js';
import { listClusters, requireCluster } from '../store/clusters.js';
import { SlurmJobHost, type SlurmHostOptions } from './hosts/slurm.js';

/** Poll and tail intervals from the environment (SVW_SLURM_POLL_MS, SVW_SLURM_TAIL_MS), if set. */
export function slurmIntervals(env: NodeJS.ProcessEnv = process.env): SlurmHostOptions {
  const ms = (v: string | undefined) =>
    v && /^\d+$/.test(v) && Number(v) >= 50 ? Number(v) : undefined;
  const pollMs = ms(env.SVW_SLURM_POLL_MS);
  const tailMs = ms(env.SVW_SLURM_TAIL_MS);
  return { ...(pollMs ? { pollMs } : {}), ...(tailMs ? { tailMs } : {}) };
}

/**
 * The job host of each cluster profile, made on first use and kept while the workbench is open,
 * so that one host follows all of a cluster's jobs with one squeue call per poll.
 */
export class ClusterHosts {
  private readonly hosts = new Map<string, SlurmJobHost>();

  constructor(
    private readonly db: Db,
    private readonly options: SlurmHostOptions = slurmIntervals(),
  ) {}

  /** The host of the named profile; a clear error when there is none. */
  hostFor(name: string): SlurmJobHost {
    const profile = requireCluster(this.db, name);
    const known = this.hosts.get(name);
    // A profile removed and added again under its name (never while it has jobs) is a new host.
    if (known && JSON.stringify(known.profile) === JSON.stringify(profile)) return known;
    const host = new SlurmJobHost(this.db, profile, this.options);
    this.hosts.set(name, host);
    return host;
  }

  /** The hosts of every profile (for taking over the jobs a stopped host left). */
  all(): SlurmJobHost[] {
    return listClusters(this.db).map((c) => this.hostFor(c.name));
  }

  /** Stops following every job; they go on in their clusters. */
  close(): void {
    for (const host of this.hosts.values()) host.close();
  }
}
