import type { Db } from './db.js';
import type { Skipped } from '../schema/skip-reasons.js';

export type DatasetLayout = 'imagefolder' | 'split-folders' | 'cifar10-binary';
export type Split = 'train' | 'val';

export interface DatasetRow {
  id: number;
  name: string;
  sourcePath: string;
  layout: DatasetLayout;
  imageSize: number;
  classCount: number;
  trainCount: number;
  valCount: number;
  skippedCount: number;
  valSplit: number | null;
  seed: number;
  maxPerClass: number | null;
  fingerprint: string;
  createdAt: string;
  /** Its newest version (1 until a review relabels or excludes images). */
  latestVersion: number;
}

export interface DatasetClass {
  idx: number;
  name: string;
  trainCount: number;
  valCount: number;
}

export interface DatasetImage {
  idx: number;
  split: Split;
  label: number;
  path: string;
}

const SELECT = `SELECT id, name, source_path AS sourcePath, layout, image_size AS imageSize,
  class_count AS classCount, train_count AS trainCount, val_count AS valCount,
  skipped_count AS skippedCount, val_split AS valSplit, seed, max_per_class AS maxPerClass,
  fingerprint, created_at AS createdAt,
  (SELECT COALESCE(MAX(v.version), 1) FROM dataset_versions v WHERE v.dataset_id = datasets.id) AS latestVersion
  FROM datasets`;

/** Inserts a dataset with its classes, images and skip report; returns its id. Call inside a transaction. */
export function insertDataset(
  db: Db,
  row: Omit<DatasetRow, 'id' | 'createdAt' | 'latestVersion'>,
  classes: DatasetClass[],
  images: DatasetImage[],
  skipped: Skipped[],
): number {
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO datasets (name, source_path, layout, image_size, class_count, train_count, val_count,
        skipped_count, val_split, seed, max_per_class, fingerprint, created_at)
       VALUES (@name, @sourcePath, @layout, @imageSize, @classCount, @trainCount, @valCount,
        @skippedCount, @valSplit, @seed, @maxPerClass, @fingerprint, @createdAt)`,
    )
    .run({ ...row, createdAt: new Date().toISOString() });
  const id = Number(lastInsertRowid);
  const addClass = db.prepare(
    'INSERT INTO dataset_classes (dataset_id, idx, name, train_count, val_count) VALUES (?, ?, ?, ?, ?)',
  );
  for (const c of classes) addClass.run(id, c.idx, c.name, c.trainCount, c.valCount);
  const addImage = db.prepare(
    'INSERT INTO dataset_images (dataset_id, idx, split, label, path) VALUES (?, ?, ?, ?, ?)',
  );
  for (const img of images) addImage.run(id, img.idx, img.split, img.label, img.path);
  const addSkip = db.prepare(
    'INSERT INTO dataset_skipped (dataset_id, path, reason, detail) VALUES (?, ?, ?, ?)',
  );
  for (const s of skipped) addSkip.run(id, s.path, s.reason, s.detail ?? null);
  return id;
}

export function listDatasets(db: Db): DatasetRow[] {
  return db.prepare(`${SELECT} ORDER BY id`).all() as DatasetRow[];
}

/** A dataset by numeric id or by name. */
export function findDataset(db: Db, idOrName: string | number): DatasetRow | undefined {
  const asId =
    typeof idOrName === 'number' ? idOrName : /^\d+$/.test(idOrName) ? Number(idOrName) : null;
  if (asId !== null) {
    const byId = db.prepare(`${SELECT} WHERE id = ?`).get(asId) as DatasetRow | undefined;
    if (byId) return byId;
  }
  return db.prepare(`${SELECT} WHERE name = ?`).get(String(idOrName)) as DatasetRow | undefined;
}

export function datasetClasses(db: Db, id: number): DatasetClass[] {
  return db
    .prepare(
      'SELECT idx, name, train_count AS trainCount, val_count AS valCount FROM dataset_classes WHERE dataset_id = ? ORDER BY idx',
    )
    .all(id) as DatasetClass[];
}

export function datasetImages(db: Db, id: number, split?: Split): DatasetImage[] {
  const sql = `SELECT idx, split, label, path FROM dataset_images WHERE dataset_id = ?${split ? ' AND split = ?' : ''} ORDER BY idx`;
  const stmt = db.prepare(sql);
  return (split ? stmt.all(id, split) : stmt.all(id)) as DatasetImage[];
}

export function datasetSkipped(db: Db, id: number): Skipped[] {
  return (
    db
      .prepare(
        'SELECT path, reason, detail FROM dataset_skipped WHERE dataset_id = ? ORDER BY rowid',
      )
      .all(id) as {
      path: string;
      reason: Skipped['reason'];
      detail: string | null;
    }[]
  ).map((s) =>
    s.detail === null ? { path: s.path, reason: s.reason } : { ...s, detail: s.detail },
  );
}

export function deleteDataset(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM datasets WHERE id = ?').run(id).changes > 0;
}

/** One image of a dataset by its index. */
export function findImage(db: Db, id: number, idx: number): DatasetImage | undefined {
  return db
    .prepare('SELECT idx, split, label, path FROM dataset_images WHERE dataset_id = ? AND idx = ?')
    .get(id, idx) as DatasetImage | undefined;
}

/**
 * A page of a dataset's images (of one split or class when given), by index, or a random sample
 * of `limit` of them; with the number that match.
 */
export function pageImages(
  db: Db,
  id: number,
  query: { split?: Split; label?: number; offset: number; limit: number; random: boolean },
): { total: number; items: DatasetImage[] } {
  const where = `WHERE dataset_id = ?${query.split ? ' AND split = ?' : ''}${query.label !== undefined ? ' AND label = ?' : ''}`;
  const args: unknown[] = [id];
  if (query.split) args.push(query.split);
  if (query.label !== undefined) args.push(query.label);
  const { total } = db
    .prepare(`SELECT COUNT(*) AS total FROM dataset_images ${where}`)
    .get(...args) as { total: number };
  const order = query.random ? 'ORDER BY random() LIMIT ?' : 'ORDER BY idx LIMIT ? OFFSET ?';
  const items = db
    .prepare(`SELECT idx, split, label, path FROM dataset_images ${where} ${order}`)
    .all(...args, query.limit, ...(query.random ? [] : [query.offset])) as DatasetImage[];
  return { total, items };
}
