import path from 'node:path';
import { clusterProfileSchema, type ClusterProfile } from '../schema/cluster.js';
import { NotFoundError, RefusedError, UserError } from '../util/errors.js';
import type { Db } from './db.js';
import type { HomePaths } from './paths.js';

const SELECT = `SELECT name, partition, gres, cpus, mem, time_limit AS time, account, spool,
  max_resubmits AS maxResubmits FROM clusters`;

/** The cluster profiles, by name. */
export function listClusters(db: Db): ClusterProfile[] {
  return db.prepare(`${SELECT} ORDER BY name`).all() as ClusterProfile[];
}

export function findCluster(db: Db, name: string): ClusterProfile | undefined {
  return db.prepare(`${SELECT} WHERE name = ?`).get(name) as ClusterProfile | undefined;
}

/** The profile of that name, or a clear error naming the ones there are. */
export function requireCluster(db: Db, name: string): ClusterProfile {
  const profile = findCluster(db, name);
  if (!profile) {
    const known = listClusters(db).map((c) => c.name);
    throw new NotFoundError(
      `no cluster '${name}'`,
      known.length
        ? `known: ${known.join(', ')}`
        : 'add one with svw cluster add NAME --partition P',
    );
  }
  return profile;
}

/** The spool a profile gets unless it names one: a folder per cluster under the home. */
export const defaultSpool = (paths: HomePaths, name: string) =>
  path.join(paths.home, 'cluster-spool', name);

/**
 * Records a new profile; refuses a name in use and any value sbatch would not take. `check`
 * vets the valid profile before it is stored (that its spool is writable, say).
 */
export function addCluster(
  db: Db,
  input: ClusterProfile,
  check?: (profile: ClusterProfile) => void,
): ClusterProfile {
  const parsed = clusterProfileSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`--${String(issue.path[0] ?? 'value')}: expected ${issue.message}`);
  }
  const p = parsed.data;
  if (findCluster(db, p.name)) throw new RefusedError(`a cluster named '${p.name}' exists`);
  check?.(p);
  db.prepare(
    `INSERT INTO clusters (name, partition, gres, cpus, mem, time_limit, account, spool, max_resubmits, created_at)
     VALUES (@name, @partition, @gres, @cpus, @mem, @time, @account, @spool, @maxResubmits, @at)`,
  ).run({ ...p, at: new Date().toISOString() });
  return p;
}

/** Removes a profile; refused while a job of it is still followed. Runs keep its name. */
export function removeCluster(db: Db, name: string): void {
  requireCluster(db, name);
  const open = db
    .prepare('SELECT run_id FROM cluster_jobs WHERE cluster = ? AND ended_at IS NULL')
    .pluck()
    .all(name) as number[];
  const waiting = db
    .prepare(`SELECT id FROM runs WHERE cluster = ? AND status IN ('queued', 'running')`)
    .pluck()
    .all(name) as number[];
  const busy = [...new Set([...open, ...waiting])].sort((a, b) => a - b);
  if (busy.length)
    throw new RefusedError(
      `cluster '${name}' still has runs queued or running there (run ${busy.join(', run ')}); cancel them or let them end first`,
    );
  db.prepare('DELETE FROM clusters WHERE name = ?').run(name);
}
