import type { Db } from './db.js';

export interface FeatureIndexRow {
  id: number;
  runId: number;
  checkpoint: 'best' | 'last';
  checkpointEpoch: number;
  /** SHA-256 of the checkpoint's weights; null for an index built before it was recorded. */
  checkpointSha256: string | null;
  split: 'train' | 'val' | 'all';
  count: number;
  dims: number;
  dtype: 'float32' | 'float16';
  path: string;
  idsPath: string;
  createdAt: string;
}

const SELECT = `SELECT id, run_id AS runId, checkpoint, checkpoint_epoch AS checkpointEpoch,
  checkpoint_sha256 AS checkpointSha256, split, count, dims,
  dtype, path, ids_path AS idsPath, created_at AS createdAt FROM feature_indexes`;

/** Records a built index, replacing an older one of the same run, checkpoint and split. */
export function upsertIndex(db: Db, row: Omit<FeatureIndexRow, 'id' | 'createdAt'>): void {
  db.prepare(
    `INSERT INTO feature_indexes (run_id, checkpoint, checkpoint_epoch, checkpoint_sha256, split, count, dims, dtype, path, ids_path, created_at)
     VALUES (@runId, @checkpoint, @checkpointEpoch, @checkpointSha256, @split, @count, @dims, @dtype, @path, @idsPath, @createdAt)
     ON CONFLICT (run_id, checkpoint, split) DO UPDATE SET checkpoint_epoch = excluded.checkpoint_epoch,
       checkpoint_sha256 = excluded.checkpoint_sha256, count = excluded.count, dims = excluded.dims, dtype = excluded.dtype, path = excluded.path,
       ids_path = excluded.ids_path, created_at = excluded.created_at`,
  ).run({ ...row, createdAt: new Date().toISOString() });
}

export function runIndexes(db: Db, runId: number): FeatureIndexRow[] {
  return db.prepare(`${SELECT} WHERE run_id = ? ORDER BY id`).all(runId) as FeatureIndexRow[];
}

/** The index of a run's split, from the given checkpoint, or the newest of either when omitted. */
export function findIndex(
  db: Db,
  runId: number,
  split: FeatureIndexRow['split'],
  checkpoint?: FeatureIndexRow['checkpoint'],
): FeatureIndexRow | undefined {
  const where = checkpoint ? ' AND checkpoint = ?' : '';
  const args: unknown[] = checkpoint ? [runId, split, checkpoint] : [runId, split];
  return db
    .prepare(`${SELECT} WHERE run_id = ? AND split = ?${where} ORDER BY created_at DESC LIMIT 1`)
    .get(...args) as FeatureIndexRow | undefined;
}

/** A feature index by id. */
export function getIndex(db: Db, id: number): FeatureIndexRow | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as FeatureIndexRow | undefined;
}
