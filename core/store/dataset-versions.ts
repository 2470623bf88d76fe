import { datasetClasses, datasetImages, type DatasetImage } from './datasets.js';
import { transaction, type Db } from './db.js';
import { NotFoundError, UserError } from '../util/errors.js';

/** One change a version makes to an image of version 1: a new label, or left out. */
export interface VersionChange {
  imageIdx: number;
  action: 'relabel' | 'exclude';
  /** The image's label in the version; null when it is excluded. */
  label: number | null;
}

export interface DatasetVersion {
  version: number;
  /** The version it was made from (null for version 1, the dataset as imported). */
  parent: number | null;
  note: string;
  sourceRunId: number | null;
  createdAt: string;
  trainCount: number;
  valCount: number;
  /** Images relabelled and excluded against its parent. */
  relabelled: number;
  excluded: number;
}

/** How one image differs between a version and its parent. */
export interface VersionDiff {
  imageIdx: number;
  split: DatasetImage['split'];
  path: string;
  /** Its label in the parent and in the version; null where it is excluded. */
  before: number | null;
  after: number | null;
}

/** The newest version of a dataset (1 when it was never changed). */
export function latestVersion(db: Db, datasetId: number): number {
  const row = db
    .prepare('SELECT MAX(version) AS v FROM dataset_versions WHERE dataset_id = ?')
    .get(datasetId) as { v: number | null };
  return row.v ?? 1;
}

function requireVersion(db: Db, datasetId: number, version: number): void {
  if (version === 1) return;
  const found = db
    .prepare('SELECT 1 FROM dataset_versions WHERE dataset_id = ? AND version = ?')
    .get(datasetId, version);
  if (!found) throw new NotFoundError(`dataset ${datasetId} has no version ${version}`);
}

/** Every change a version makes to version 1, by image. */
export function versionChanges(
  db: Db,
  datasetId: number,
  version: number,
): Map<number, VersionChange> {
  requireVersion(db, datasetId, version);
  const rows = db
    .prepare(
      `SELECT image_idx AS imageIdx, action, label FROM dataset_version_changes
       WHERE dataset_id = ? AND version = ?`,
    )
    .all(datasetId, version) as VersionChange[];
  return new Map(rows.map((r) => [r.imageIdx, r]));
}

/** The images of a version, in index order: excluded ones left out, relabelled ones relabelled. */
export function versionImages(
  db: Db,
  datasetId: number,
  version: number,
  split?: DatasetImage['split'],
): DatasetImage[] {
  const changes = versionChanges(db, datasetId, version);
  if (changes.size === 0) return datasetImages(db, datasetId, split);
  return datasetImages(db, datasetId, split).flatMap((image) => {
    const change = changes.get(image.idx);
    if (!change) return [image];
    return change.label === null ? [] : [{ ...image, label: change.label }];
  });
}

/** A version's label of each image (excluded images absent), by image index. */
function labelsOf(db: Db, datasetId: number, version: number): Map<number, number> {
  return new Map(versionImages(db, datasetId, version).map((i) => [i.idx, i.label]));
}

/** Every version of a dataset, version 1 first, with its counts and its changes against its parent. */
export function datasetVersions(db: Db, datasetId: number): DatasetVersion[] {
  const rows = db
    .prepare(
      `SELECT version, parent, note, source_run_id AS sourceRunId, created_at AS createdAt
       FROM dataset_versions WHERE dataset_id = ? ORDER BY version`,
    )
    .all(datasetId) as Omit<
    DatasetVersion,
    'trainCount' | 'valCount' | 'relabelled' | 'excluded'
  >[];
  const created = db.prepare('SELECT created_at AS c FROM datasets WHERE id = ?').get(datasetId) as
    { c: string } | undefined;
  if (!created) throw new NotFoundError(`no dataset ${datasetId}`);
  const first = {
    version: 1,
    parent: null,
    note: 'as imported',
    sourceRunId: null,
    createdAt: created.c,
  };
  return [first, ...rows].map((row) => {
    const images = versionImages(db, datasetId, row.version);
    const diff = row.parent === null ? [] : versionDiff(db, datasetId, row.version);
    return {
      ...row,
      trainCount: images.filter((i) => i.split === 'train').length,
      valCount: images.filter((i) => i.split === 'val').length,
      relabelled: diff.filter((d) => d.after !== null).length,
      excluded: diff.filter((d) => d.after === null).length,
    };
  });
}

/** The images a version changes against its parent (version 1 changes nothing). */
export function versionDiff(db: Db, datasetId: number, version: number): VersionDiff[] {
  if (version === 1) return [];
  const row = db
    .prepare('SELECT parent FROM dataset_versions WHERE dataset_id = ? AND version = ?')
    .get(datasetId, version) as { parent: number } | undefined;
  if (!row) throw new NotFoundError(`dataset ${datasetId} has no version ${version}`);
  const before = labelsOf(db, datasetId, row.parent);
  const after = labelsOf(db, datasetId, version);
  return datasetImages(db, datasetId).flatMap((image) => {
    const b = before.get(image.idx) ?? null;
    const a = after.get(image.idx) ?? null;
    return a === b
      ? []
      : [{ imageIdx: image.idx, split: image.split, path: image.path, before: b, after: a }];
  });
}

/**
 * Makes a new version from `parent` with images relabelled or excluded, numbered after the
 * newest; the parent and every run on it stay as they were. Refuses changes that change nothing,
 * images the dataset lacks or the parent excludes, and labels outside the classes.
 */
export function createVersion(
  db: Db,
  datasetId: number,
  request: {
    parent: number;
    changes: { imageIdx: number; action: 'relabel' | 'exclude'; label?: number }[];
    note?: string;
    sourceRunId?: number | null;
  },
): number {
  return transaction(db, () => {
    const classes = datasetClasses(db, datasetId).length;
    if (classes === 0) throw new NotFoundError(`no dataset ${datasetId}`);
    const original = new Map(datasetImages(db, datasetId).map((i) => [i.idx, i.label]));
    const effective = versionChanges(db, datasetId, request.parent);
    const parentLabels = labelsOf(db, datasetId, request.parent);
    let changed = 0;
    for (const change of request.changes) {
      const { imageIdx } = change;
      if (!original.has(imageIdx))
        throw new NotFoundError(`dataset ${datasetId} has no image ${imageIdx}`);
      const current = parentLabels.get(imageIdx);
      if (current === undefined)
        throw new UserError(`image ${imageIdx} is already excluded in version ${request.parent}`);
      if (change.action === 'exclude') {
        effective.set(imageIdx, { imageIdx, action: 'exclude', label: null });
        changed++;
        continue;
      }
      const label = change.label;
      if (label === undefined || !Number.isInteger(label) || label < 0 || label >= classes)
        throw new UserError(
          `a relabel of image ${imageIdx} needs a class from 0 to ${classes - 1}`,
        );
      if (label === current) continue;
      changed++;
      // Back to the imported label is no change against version 1.
      if (label === original.get(imageIdx)) effective.delete(imageIdx);
      else effective.set(imageIdx, { imageIdx, action: 'relabel', label });
    }
    if (changed === 0) throw new UserError('the new version would change nothing');
    const version = latestVersion(db, datasetId) + 1;
    db.prepare(
      `INSERT INTO dataset_versions (dataset_id, version, parent, note, source_run_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      datasetId,
      version,
      request.parent,
      request.note ?? '',
      request.sourceRunId ?? null,
      new Date().toISOString(),
    );
    const add = db.prepare(
      'INSERT INTO dataset_version_changes (dataset_id, version, image_idx, action, label) VALUES (?, ?, ?, ?, ?)',
    );
    for (const c of effective.values()) add.run(datasetId, version, c.imageIdx, c.action, c.label);
    return version;
  });
}
