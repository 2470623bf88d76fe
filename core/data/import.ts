import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pMap from 'p-map';
import { transaction, type Db } from '../store/db.js';
import {
  findDataset,
  insertDataset,
  type DatasetImage,
  type DatasetLayout,
  type Split,
} from '../store/datasets.js';
import { homePaths, type HomePaths } from '../store/paths.js';
import { RefusedError, UserError, errorMessage } from '../util/errors.js';
import { CIFAR_SIDE, readCifarBinary } from './cifar-binary.js';
import { DATASET_FILES } from './cache.js';
import { decodeSquare } from '../image/decode.js';
import { probeAll, probeImage } from './probe.js';
import { compareCodePoints, detectLayout, scanFolders, type LabelSource } from './scan.js';
import { SKIP_REASONS, type Skipped } from '../schema/skip-reasons.js';
import { capPerGroup, seededShuffle, stratifiedSplit } from './split.js';
import { StatsAccumulator, meanImageBytes, statsToJson } from './stats.js';

export interface ImportOptions {
  name: string;
  /** Cached image side; defaults to 256, or the images' median shorter side when smaller. */
  size?: number;
  /** Fraction of each class held out for validation (ImageFolder layout only). */
  valSplit?: number;
  seed?: number;
  maxPerClass?: number;
  /** Class from the class folder (default) or from the file name. */
  labels?: LabelSource;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  id: number;
  name: string;
  layout: DatasetLayout;
  imageSize: number;
  classes: string[];
  counts: { train: number; val: number };
  skipped: Skipped[];
}

export const DEFAULT_IMAGE_SIZE = 256;
export const DEFAULT_VAL_SPLIT = 0.1;

/** An image accepted for import: where it comes from, its class and split. */
interface Candidate {
  source: string;
  className: string;
  split: Split;
  /** Pixels, for sources that are not files (CIFAR binary batches). */
  pixels?: Uint8Array;
}

/**
 * Imports an image folder (ImageFolder, train/val(test) folders, or CIFAR-10 binary batches) into
 * the workbench: decodes every image to RGB S×S uint8 in a cache file, computes the training
 * statistics (mean image, mean pixel, RGB covariance eigen-decomposition) and records it all in
 * SQLite. Bad files are skipped and reported, never fatal; the import fails only when fewer than
 * two classes have usable images. Nothing is visible until the import has fully succeeded.
 */
export async function importDataset(
  db: Db,
  sourceDir: string,
  options: ImportOptions,
  paths: HomePaths = homePaths(),
): Promise<ImportResult> {
  const source = path.resolve(sourceDir);
  const seed = options.seed ?? 0;
  if (findDataset(db, options.name))
    throw new RefusedError(`a dataset named '${options.name}' already exists`);
  const detected = detectLayout(source);
  // File-name labels ignore folders, so the split is drawn like an ImageFolder's.
  const layout =
    options.labels === 'filename' && detected !== 'cifar10-binary' ? 'imagefolder' : detected;
  const { candidates, skipped, fingerprint } =
    layout === 'cifar10-binary'
      ? cifarCandidates(source)
      : folderCandidates(source, layout, options.labels);
  const capped = options.maxPerClass
    ? capPerGroup(candidates, (c) => `${c.split}/${c.className}`, options.maxPerClass, seed)
    : candidates;
  if (layout === 'imagefolder') {
    // Cap first, then hold out: --max-per-class bounds the class, the split divides what is kept.
    const fraction = options.valSplit ?? DEFAULT_VAL_SPLIT;
    const splits = stratifiedSplit(capped, (c) => c.className, fraction, seed);
    capped.forEach((c, i) => (c.split = splits[i]!));
  }
  const size = await chooseSize(capped, options.size, layout, seed);

  const partial = path.join(paths.datasets, `.import-${process.pid}-${Date.now()}`);
  mkdirSync(partial, { recursive: true });
  try {
    const candidateClasses = [...new Set(capped.map((c) => c.className))].sort(compareCodePoints);
    const candidateLabel = new Map(candidateClasses.map((c, i) => [c, i]));
    const stats = new StatsAccumulator(size, candidateClasses.length);
    const decoded: Candidate[] = [];
    const fd = openSync(path.join(partial, DATASET_FILES.images), 'w');
    try {
      await decodeInOrder(capped, size, skipped, options.onProgress, (c, pixels) => {
        writeSync(fd, pixels);
        if (c.split === 'train') stats.add(pixels, candidateLabel.get(c.className)!);
        decoded.push(c);
      });
    } finally {
      closeSync(fd);
    }
    const classes = [...new Set(decoded.map((c) => c.className))].sort(compareCodePoints);
    if (classes.length < 2) {
      throw new UserError(
        `nothing to import from ${source}: ${decoded.length} usable image(s) in ${classes.length} class(es); at least 2 classes are needed`,
        skipped.length
          ? `${skipped.length} file(s) were skipped; see --json for the reasons`
          : undefined,
      );
    }
    const labelOf = new Map(classes.map((c, i) => [c, i]));
    const images: DatasetImage[] = decoded.map((c, idx) => ({
      idx,
      split: c.split,
      label: labelOf.get(c.className)!,
      path: c.source,
    }));
    const train = images.filter((img) => img.split === 'train');
    if (train.length === 0) throw new UserError(`no training images in ${source}`);
    const finished = stats.finish();
    // Classes whose every image failed to decode are gone; keep the counts of the rest.
    finished.perClass = candidateClasses.flatMap((c, i) =>
      labelOf.has(c) ? [finished.perClass[i]!] : [],
    );
    writeFileSync(
      path.join(partial, DATASET_FILES.stats),
      JSON.stringify(statsToJson(finished), null, 1),
    );
    writeFileSync(path.join(partial, DATASET_FILES.mean), meanImageBytes(finished));

    const counts = { train: train.length, val: images.length - train.length };
    const classRows = classes.map((name, idx) => ({
      idx,
      name,
      trainCount: images.filter((i) => i.label === idx && i.split === 'train').length,
      valCount: images.filter((i) => i.label === idx && i.split === 'val').length,
    }));
    const id = transaction(db, () => {
      const newId = insertDataset(
        db,
        {
          name: options.name,
          sourcePath: source,
          layout,
          imageSize: size,
          classCount: classes.length,
          trainCount: counts.train,
          valCount: counts.val,
          skippedCount: skipped.length,
          valSplit: layout === 'imagefolder' ? (options.valSplit ?? DEFAULT_VAL_SPLIT) : null,
          seed,
          maxPerClass: options.maxPerClass ?? null,
          fingerprint,
        },
        classRows,
        images,
        skipped,
      );
      const target = paths.dataset(newId);
      rmSync(target, { recursive: true, force: true }); // a leftover of an import that died before committing
      renameSync(partial, target);
      return newId;
    });
    return { id, name: options.name, layout, imageSize: size, classes, counts, skipped };
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

function cifarCandidates(source: string) {
  const { classes, records, skipped } = readCifarBinary(source);
  const candidates: Candidate[] = records.map((r) => ({
    source: path.join(source, r.source),
    className: classes[r.label]!,
    split: r.split,
    pixels: r.image,
  }));
  return {
    candidates,
    skipped,
    fingerprint: fingerprintFiles(
      [...new Set(records.map((r) => r.source.split('#')[0]!))].map((rel) => ({
        rel,
        size: sizeOf(path.join(source, rel)),
      })),
    ),
  };
}

function folderCandidates(
  source: string,
  layout: 'imagefolder' | 'split-folders',
  labels?: LabelSource,
) {
  const scan = scanFolders(source, layout, labels);
  const candidates: Candidate[] = scan.files.map((file) => ({
    source: file.path,
    className: file.className,
    split: file.split ?? 'train',
  }));
  const fingerprint = fingerprintFiles(
    scan.files.map((f) => ({ rel: path.relative(source, f.path), size: f.size })),
  );
  return { candidates, skipped: [...scan.skipped], fingerprint };
}

/** sha256 over the sorted (relative path, size) list: changes when files are added, removed or rewritten. */
function fingerprintFiles(files: { rel: string; size: number }[]): string {
  const hash = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const { rel, size } of sorted) hash.update(`${rel}\t${size}\n`);
  return hash.digest('hex');
}

/** A file's size, or -1 when it vanished since it was listed (it still counts in the list). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

/** How many images' headers are read to choose the cache size. */
const SIZE_SAMPLE = 200;

/**
 * The requested size (default 256), or the median shorter side of the images when that is
 * smaller, so small images (CIFAR's 32×32) are not blown up. The median comes from the headers
 * of a seeded sample of the images.
 */
async function chooseSize(
  candidates: Candidate[],
  requested: number | undefined,
  layout: DatasetLayout,
  seed: number,
): Promise<number> {
  const limit = requested ?? DEFAULT_IMAGE_SIZE;
  if (layout === 'cifar10-binary') return Math.min(limit, CIFAR_SIDE);
  const sample = seededShuffle(candidates, `${seed}:size`).slice(0, SIZE_SAMPLE);
  const probes = await probeAll(
    sample.map((c) => c.source),
    2 * os.availableParallelism(),
  );
  const sides = probes
    .flatMap((p) => (p.ok ? [Math.min(p.width, p.height)] : []))
    .sort((a, b) => a - b);
  if (sides.length === 0) return limit;
  return Math.min(limit, sides[Math.floor(sides.length / 2)]!);
}

/**
 * Decodes candidates with bounded concurrency (sharp works on its own threads, so this keeps
 * every core busy) and hands each image to `onImage` in candidate order, so the cache order is
 * reproducible. Failures join `skipped`. Only one chunk of pixels is held at a time.
 */
async function decodeInOrder(
  candidates: Candidate[],
  size: number,
  skipped: Skipped[],
  onProgress: ImportOptions['onProgress'],
  onImage: (candidate: Candidate, pixels: Uint8Array) => void,
): Promise<void> {
  let done = 0;
  const chunk = 256;
  for (let start = 0; start < candidates.length; start += chunk) {
    const results = await pMap(
      candidates.slice(start, start + chunk),
      async (c) => {
        try {
          if (c.pixels && size === CIFAR_SIDE) return c.pixels; // CIFAR batches are already 32×32 RGB
          const input = c.pixels
            ? { data: c.pixels, width: CIFAR_SIDE, height: CIFAR_SIDE }
            : c.source;
          return (await decodeSquare(input, size, c.source)).data;
        } catch (err) {
          // Decoding is the check; the header probe says why a file failed, when it can.
          const probe = c.pixels ? null : await probeImage(c.source);
          skipped.push(
            probe && !probe.ok
              ? probe.skipped
              : { path: c.source, reason: SKIP_REASONS.corrupt, detail: errorMessage(err) },
          );
          return null;
        } finally {
          onProgress?.(++done, candidates.length);
        }
      },
      { concurrency: 4 * os.availableParallelism() },
    );
    results.forEach((pixels, i) => {
      if (pixels) onImage(candidates[start + i]!, pixels);
    });
  }
}
