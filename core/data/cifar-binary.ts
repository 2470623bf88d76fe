import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import { SKIP_REASONS, type Skipped } from '../schema/skip-reasons.js';

/**
 * The CIFAR-10 "binary version" (cifar-10-batches-bin): `batches.meta.txt` lists the class
 * names one per line; `data_batch_1.bin` … `data_batch_5.bin` (train) and `test_batch.bin`
 * hold records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32×32).
 */
export const CIFAR_META_FILE = 'batches.meta.txt';
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_SIDE = 32;
export const CIFAR_IMAGE_BYTES = CIFAR_SIDE * CIFAR_SIDE * 3;
export const CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;

const TRAIN_BATCH = /^data_batch_(\d+)\.bin$/;

/** True for the names of CIFAR-10 batch files (`data_batch_N.bin`, `test_batch.bin`). */
export function isCifarBatchFile(name: string): boolean {
  return name === CIFAR_TEST_FILE || TRAIN_BATCH.test(name);
}

export interface CifarRecord {
  split: 'train' | 'val';
  /** Index into `classes`. */
  label: number;
  /** Batch file name and 0-based record index, e.g. `data_batch_1.bin#17`. */
  source: string;
  /** 32×32×3 RGB, row-major HWC (the layout `RgbImage` uses). */
  image: Uint8Array;
}

export interface CifarData {
  classes: string[];
  /** Train batches in batch-number order, then the test batch (as split 'val'). */
  records: CifarRecord[];
  /** Paths are `<dir>/<batch>` (trailing bytes) or `<dir>/<batch>#<index>` (a bad record). */
  skipped: Skipped[];
}

/**
 * Reads a whole CIFAR-10 binary directory into memory. Returning an array (rather than a
 * generator) keeps the importer simple: the full dataset is 60 000 × 3 KB ≈ 184 MB, and each
 * record's `image` is a view into one buffer per batch file, so there is no per-image allocation.
 *
 * A batch whose size is not a multiple of 3073 contributes its whole records; the trailing bytes
 * are reported (reason corrupt). A record whose label is not a class index is skipped (corrupt).
 * Throws a UserError when the directory, `batches.meta.txt` or every batch file is missing.
 */
export function readCifarBinary(dir: string): CifarData {
  const root = path.resolve(dir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (err) {
    throw new UserError(`cannot read CIFAR-10 directory ${root}: ${errorMessage(err)}`);
  }
  const classes = readClassNames(root);
  const train = names
    .map((name) => ({ name, match: TRAIN_BATCH.exec(name) }))
    .filter((b) => b.match)
    .sort((a, b) => Number(a.match?.[1]) - Number(b.match?.[1]) || (a.name < b.name ? -1 : 1))
    .map((b) => b.name);
  const batches = [
    ...train.map((name) => ({ name, split: 'train' as const })),
    ...(names.includes(CIFAR_TEST_FILE) ? [{ name: CIFAR_TEST_FILE, split: 'val' as const }] : []),
  ];
  if (batches.length === 0) {
    throw new UserError(
      `no CIFAR-10 batch files in ${root}`,
      'expected data_batch_1.bin … data_batch_5.bin and/or test_batch.bin',
    );
  }
  const data: CifarData = { classes, records: [], skipped: [] };
  for (const batch of batches) readBatch(root, batch.name, batch.split, data);
  return data;
}

function readClassNames(root: string): string[] {
  const file = path.join(root, CIFAR_META_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read the CIFAR-10 class names ${file}: ${errorMessage(err)}`);
  }
  const classes = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (classes.length === 0) throw new UserError(`no class names in ${file}`);
  return classes;
}

function readBatch(root: string, name: string, split: 'train' | 'val', data: CifarData): void {
  const file = path.join(root, name);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    data.skipped.push({ path: file, reason: SKIP_REASONS.unreadable, detail: errorMessage(err) });
    return;
  }
  if (buf.length === 0) {
    data.skipped.push({ path: file, reason: SKIP_REASONS.emptyFile });
    return;
  }
  const count = Math.floor(buf.length / CIFAR_RECORD_BYTES);
  const rest = buf.length % CIFAR_RECORD_BYTES;
  if (rest !== 0) {
    data.skipped.push({
      path: file,
      reason: SKIP_REASONS.corrupt,
      detail:
        `${rest} trailing bytes after ${count} whole records ` +
        `(size ${buf.length} is not a multiple of ${CIFAR_RECORD_BYTES})`,
    });
  }
  const pixels = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  for (let r = 0; r < count; r++) {
    const offset = r * CIFAR_RECORD_BYTES;
    const label = buf[offset] ?? 0;
    if (label >= data.classes.length) {
      data.skipped.push({
        path: `${file}#${r}`,
        reason: SKIP_REASONS.corrupt,
        detail: `label ${label} is out of range (${data.classes.length} classes)`,
      });
      continue;
    }
    const image = pixels.subarray(r * CIFAR_IMAGE_BYTES, (r + 1) * CIFAR_IMAGE_BYTES);
    planarToInterleaved(buf, offset + 1, image);
    data.records.push({ split, label, source: `${name}#${r}`, image });
  }
}

/** Converts one 3×32×32 planar (CHW) image at `src[offset…]` into HWC `dst`. */
export function planarToInterleaved(src: Uint8Array, offset: number, dst: Uint8Array): void {
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let p = 0; p < plane; p++) {
    dst[p * 3] = src[offset + p] ?? 0;
    dst[p * 3 + 1] = src[offset + plane + p] ?? 0;
    dst[p * 3 + 2] = src[offset + 2 * plane + p] ?? 0;
  }
}
