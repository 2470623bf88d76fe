import { Stats, accessSync, constants, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import { CIFAR_META_FILE, isCifarBatchFile } from './cifar-binary.js';
import {
  SKIP_REASONS,
  summarizeSkips,
  type SkipReason,
  type Skipped,
} from '../schema/skip-reasons.js';

export type Layout = 'imagefolder' | 'split-folders' | 'cifar10-binary';
export type FolderLayout = Exclude<Layout, 'cifar10-binary'>;
export type Split = 'train' | 'val';

export interface ScannedFile {
  /** `path.resolve(dir)` joined with the path inside it (symlinks are not resolved). */
  path: string;
  /** The class folder's name, NFC-normalised (macOS may store names decomposed). */
  className: string;
  /** Only for split-folders: 'val' for files under val/ (or test/ when there is no val/). */
  split?: Split;
  /** Bytes, as the scan saw them (for the import's fingerprint). */
  size: number;
}

/** Where an image's class comes from: its class folder, or its file name (`cat_012.jpg` → cat). */
export type LabelSource = 'folders' | 'filename';

/**
 * The class a file name stands for: the name without its extension and without a trailing
 * number and the `_`, `-` or space before it (`Abyssinian_100.jpg` → Abyssinian,
 * `n01440764_tench.JPEG` → n01440764_tench, `042.png` → 042).
 */
export function classFromFileName(name: string): string {
  const stem = path.parse(name).name.normalize('NFC');
  const trimmed = stem.replace(/[_\- ]*\d+$/, '');
  return trimmed === '' ? stem : trimmed;
}

export interface ScanResult {
  /** Classes with at least one candidate file, in code-point order. */
  classes: string[];
  /** Candidates for probeImage, sorted by class then path (code-point order). */
  files: ScannedFile[];
  /** Sorted by path. */
  skipped: Skipped[];
}

/**
 * Guesses how a dataset directory is organised: 'cifar10-binary' when it holds CIFAR-10 batch
 * files and `batches.meta.txt`; 'split-folders' when `train/` and `val/` (or `test/`) each
 * contain class folders; otherwise 'imagefolder' (one subfolder per class). A folder of loose
 * images is 'imagefolder' too — scanFolders then reports that it has no class folders.
 */
export function detectLayout(dir: string): Layout {
  const root = path.resolve(dir);
  const names = readRoot(root);
  if (names.includes(CIFAR_META_FILE) && names.some(isCifarBatchFile)) return 'cifar10-binary';
  const holdsClasses = (name: string): boolean => {
    try {
      return readdirSync(path.join(root, name)).some((child) => {
        const stat = child.startsWith('.') ? undefined : statEntry(path.join(root, name, child));
        return stat instanceof Stats && stat.isDirectory();
      });
    } catch {
      return false;
    }
  };
  if (holdsClasses('train') && (holdsClasses('val') || holdsClasses('test'))) {
    return 'split-folders';
  }
  return 'imagefolder';
}

/**
 * Lists the candidate image files of an ImageFolder (`dir/<class>/**`) or split folders
 * (`dir/train/<class>/**` and `dir/val/<class>/**`, or `test/` when there is no `val/`) without
 * opening any file. Every file that is left out is reported once in `skipped`:
 * - hidden entries (name starting with '.'): one entry for the file or folder, not its contents;
 * - files beside the class folders, and in split-folders other folders of the root (including
 *   `test/` when `val/` is used): reason 'not in a class folder';
 * - zero-byte files, unreadable entries, dangling symlinks, sockets/FIFOs;
 * - symlinked folders leading back to a folder on the current path: 'symlink loop';
 * - class folders without a candidate file: 'empty class folder' (the class is dropped).
 * Every other file is a candidate whatever its extension: probeImage decides from its content.
 * Throws a UserError when the directory is missing, has no class folders (e.g. a flat folder of
 * images) or no class folder holds a candidate file.
 */
export function scanFolders(
  dir: string,
  layout: FolderLayout,
  labels: LabelSource = 'folders',
): ScanResult {
  const root = path.resolve(dir);
  const names = new Set(readRoot(root));
  const scan = new Scan(root);
  if (labels === 'filename') {
    scan.scanByFileName(root);
  } else if (layout === 'imagefolder') {
    scan.scanClassParent(root, undefined);
  } else {
    const valName = names.has('val') ? 'val' : names.has('test') ? 'test' : undefined;
    if (!names.has('train') || !valName) {
      throw new UserError(
        `${root} is not split into folders: it needs train/ and val/ (or test/)`,
        'for one folder per class without splits, import it as an ImageFolder',
      );
    }
    scan.scanClassParent(root, undefined, (name, full) => {
      if (name === 'train') return scan.scanClassParent(full, 'train');
      if (name === valName) return scan.scanClassParent(full, 'val');
      const why = name === 'test' ? 'val/ is the validation split' : 'not train/ or val/';
      scan.skip(full, SKIP_REASONS.notInClass, `folder ignored: ${why}`);
    });
  }
  return scan.finish();
}

/** Why an entry could not be stat'ed. */
type Failure = { reason: SkipReason; detail: string };

class Scan {
  readonly files: ScannedFile[] = [];
  readonly skipped: Skipped[] = [];
  /** dev:ino of the folders on the path being walked, to detect symlink loops. */
  private readonly ancestors = new Set<string>();
  private classFolders = 0;
  private looseFiles = 0;

  constructor(private readonly root: string) {
    const stat = statSync(root);
    this.ancestors.add(`${stat.dev}:${stat.ino}`);
  }

  skip(file: string, reason: SkipReason, detail?: string): void {
    this.skipped.push({ path: file, reason, ...(detail === undefined ? {} : { detail }) });
  }

  /**
   * Walks a folder whose subfolders are classes (the root, or a split folder). `onFolder`
   * replaces the default handling of subfolders (used for the root of split-folders).
   */
  scanClassParent(
    dir: string,
    split: Split | undefined,
    onFolder?: (name: string, full: string) => void,
  ): void {
    this.walk(dir, (name, full, stat) => {
      if (stat.isDirectory()) {
        if (onFolder) return onFolder(name, full);
        this.classFolders++;
        const before = this.files.length;
        this.walkClass(full, name.normalize('NFC'), split);
        if (this.files.length === before) this.skip(full, SKIP_REASONS.emptyClass);
      } else {
        this.looseFiles++;
        this.skip(full, SKIP_REASONS.notInClass);
      }
    });
  }

  /** Every file under `dir`, labelled by its file name instead of its folder. */
  scanByFileName(dir: string): void {
    this.classFolders++;
    this.walkClass(dir, (name) => classFromFileName(name), undefined);
  }

  private walkClass(
    dir: string,
    className: string | ((fileName: string) => string),
    split: Split | undefined,
  ): void {
    this.walk(dir, (name, full, stat) => {
      if (stat.isDirectory()) return this.walkClass(full, className, split);
      if (!stat.isFile()) return this.skip(full, SKIP_REASONS.notImage, 'not a regular file');
      if (stat.size === 0) return this.skip(full, SKIP_REASONS.emptyFile);
      try {
        accessSync(full, constants.R_OK);
      } catch (err) {
        return this.skip(full, SKIP_REASONS.unreadable, describeFsError(err));
      }
      const label = typeof className === 'string' ? className : className(name);
      const file = { path: full, className: label, size: stat.size };
      this.files.push(split ? { ...file, split } : file);
    });
  }

  /**
   * Lists `dir`, reporting hidden, unreadable and looping entries, and hands every other entry
   * (folders entered on the ancestor path for the duration of the call) to `visit`.
   */
  private walk(dir: string, visit: (name: string, full: string, stat: Stats) => void): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      return this.skip(dir, SKIP_REASONS.unreadable, describeFsError(err));
    }
    for (const name of names) {
      const full = path.join(dir, name);
      if (name.startsWith('.')) {
        this.skip(full, SKIP_REASONS.hidden);
        continue;
      }
      const stat = statEntry(full);
      if (!(stat instanceof Stats)) {
        this.skip(full, stat.reason, stat.detail);
      } else if (stat.isDirectory()) {
        const key = `${stat.dev}:${stat.ino}`;
        if (this.ancestors.has(key)) {
          this.skip(full, SKIP_REASONS.symlinkLoop, 'leads back to a folder above it');
          continue;
        }
        this.ancestors.add(key);
        visit(name, full, stat);
        this.ancestors.delete(key);
      } else {
        visit(name, full, stat);
      }
    }
  }

  finish(): ScanResult {
    if (this.classFolders === 0) {
      throw new UserError(
        `no class folders in ${this.root}` +
          (this.looseFiles > 0 ? ` (found ${this.looseFiles} loose files)` : ''),
        `put each class's images in its own subfolder (e.g. ${path.join(this.root, 'cat', '1.jpg')}), or use --labels filename to take each image's class from its file name`,
      );
    }
    const classes = [...new Set(this.files.map((file) => file.className))].sort(compareCodePoints);
    if (classes.length === 0) {
      throw new UserError(
        `no usable files in the ${this.classFolders} class folders of ${this.root}`,
        summarise(this.skipped),
      );
    }
    this.files.sort(
      (a, b) => compareCodePoints(a.className, b.className) || compareCodePoints(a.path, b.path),
    );
    this.skipped.sort((a, b) => compareCodePoints(a.path, b.path));
    return { classes, files: this.files, skipped: this.skipped };
  }
}

/** The names in `root`; a UserError when it is missing, not a directory or unreadable. */
function readRoot(root: string): string[] {
  try {
    return readdirSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`no such directory: ${root}`);
    if (code === 'ENOTDIR') throw new UserError(`not a directory: ${root}`);
    throw new UserError(`cannot read directory ${root}: ${describeFsError(err)}`);
  }
}

/** Follows symlinks; a failure becomes the reason to skip the entry. */
function statEntry(full: string): Stats | Failure {
  try {
    return statSync(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { reason: SKIP_REASONS.symlinkLoop, detail: 'symlink cycle' };
    if (code !== 'ENOENT') return { reason: SKIP_REASONS.unreadable, detail: describeFsError(err) };
    try {
      return {
        reason: SKIP_REASONS.unreadable,
        detail: `dangling symlink to ${readlinkSync(full)}`,
      };
    } catch {
      // not a symlink: removed during the scan, or a name that is not valid UTF-8
      return { reason: SKIP_REASONS.unreadable, detail: 'no longer exists' };
    }
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return errorMessage(err);
}

function summarise(skipped: readonly Skipped[]): string {
  return `skipped: ${summarizeSkips(skipped)}`;
}

/** Code-point (= UTF-8 byte) order; JS `<` compares UTF-16 units, putting emoji before U+FFxx. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUp(x) - fixUp(y);
  }
  return a.length - b.length;
}

/** Moves UTF-16 surrogates (0xD800–0xDFFF) above the rest of the BMP. */
function fixUp(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
