import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSquare } from '../../core/image/decode.js';
import { probeAll, probeImage } from '../../core/data/probe.js';
import {
  compareCodePoints,
  detectLayout,
  scanFolders,
  type ScanResult,
} from '../../core/data/scan.js';
import { SKIP_REASONS } from '../../core/schema/skip-reasons.js';
import { UserError } from '../../core/util/errors.js';
import { makeBadImageFolder, type BadImageFolder } from '../helpers/bad-images.js';
import { CIFAR_SMALL, IMAGENET_SAMPLES, tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-scan-');
afterAll(() => tmp.cleanup());

/** Creates `dir/<rel>` for each entry: a string is file content, null an empty folder. */
function tree(dir: string, entries: Record<string, string | null>): string {
  for (const [rel, content] of Object.entries(entries)) {
    const full = path.join(dir, rel);
    mkdirSync(content === null ? full : path.dirname(full), { recursive: true });
    if (content !== null) writeFileSync(full, content);
  }
  return dir;
}

const byPath = <T extends { path: string }>(items: T[]): T[] =>
  [...items].sort((a, b) => compareCodePoints(a.path, b.path));

describe('detectLayout', () => {
  it('recognises the three layouts', () => {
    const image = tree(path.join(tmp.dir, 'layout-if'), { 'cat/1.jpg': 'x', 'dog/2.jpg': 'x' });
    expect(detectLayout(image)).toBe('imagefolder');
    const split = tree(path.join(tmp.dir, 'layout-split'), {
      'train/cat/1.jpg': 'x',
      'test/cat/2.jpg': 'x',
    });
    expect(detectLayout(split)).toBe('split-folders');
    const cifar = tree(path.join(tmp.dir, 'layout-cifar'), {
      'batches.meta.txt': 'cat\ndog\n',
      'test_batch.bin': 'x',
    });
    expect(detectLayout(cifar)).toBe('cifar10-binary');
    expect(detectLayout(CIFAR_SMALL)).toBe('split-folders');
  });

  it('needs class folders under train/ and val/ for split-folders', () => {
    const dir = tree(path.join(tmp.dir, 'layout-flat-train'), {
      'train/1.jpg': 'x',
      'val/cat/2.jpg': 'x',
    });
    expect(detectLayout(dir)).toBe('imagefolder');
  });

  it('throws a UserError for a missing directory or a file', () => {
    expect(() => detectLayout(path.join(tmp.dir, 'nope'))).toThrow(UserError);
    const file = tree(path.join(tmp.dir, 'layout-file'), { 'a.txt': 'x' });
    expect(() => detectLayout(path.join(file, 'a.txt'))).toThrow(/not a directory/);
  });

  it('treats a flat folder of images as an ImageFolder that scanFolders refuses', () => {
    expect(detectLayout(IMAGENET_SAMPLES)).toBe('imagefolder');
    expect(() => scanFolders(IMAGENET_SAMPLES, 'imagefolder')).toThrow(UserError);
    expect(() => scanFolders(IMAGENET_SAMPLES, 'imagefolder')).toThrow(
      /no class folders in .*imagenet-samples \(found 100 loose files\)/,
    );
  });
});

describe('scanFolders and probe on bad inputs', () => {
  const root = path.join(tmp.dir, 'bad');
  let made: BadImageFolder;
  let scan: ScanResult;
  beforeAll(async () => {
    made = await makeBadImageFolder(root);
    scan = scanFolders(root, 'imagefolder');
  });

  it('finds the classes and the candidate files, with unicode names kept', () => {
    expect(scan.classes).toEqual(['bird', 'café', '猫']);
    const candidates = [
      ...made.expectedGood,
      ...made.expectedSkips
        .filter((s) => s.stage !== 'scan')
        .map((s) => ({ path: s.path, className: path.relative(root, s.path).split(path.sep)[0] })),
    ].map(({ path: file, className }) => ({
      path: file,
      className: className ?? '',
      size: statSync(file).size,
    }));
    expect(scan.files).toEqual(
      [...candidates].sort(
        (a, b) => compareCodePoints(a.className, b.className) || compareCodePoints(a.path, b.path),
      ),
    );
    expect(scan.files.map((f) => path.relative(root, f.path))).toContain(
      path.join('猫', '🐱 emoji.webp'),
    );
    expect(scan.files.some((f) => f.path.endsWith(path.join('café', 'ü.png')))).toBe(true);
  });

  it('reports exactly the expected skips, once each', () => {
    const expected = made.expectedSkips.filter((s) => s.stage === 'scan');
    expect(scan.skipped.map(({ path: p, reason }) => ({ path: p, reason }))).toEqual(
      byPath(expected).map(({ path: p, reason }) => ({ path: p, reason })),
    );
    const loop = scan.skipped.find((s) => s.reason === SKIP_REASONS.symlinkLoop);
    expect(loop?.path).toBe(path.join(root, '猫', 'loop'));
    const dangling = scan.skipped.find((s) => s.path.endsWith('gone.jpg'));
    expect(dangling?.detail).toBe('dangling symlink to missing.jpg');
  });

  it('probes each kind of file', async () => {
    const results = await probeAll(scan.files.map((f) => f.path));
    const byFile = new Map(scan.files.map((f, i) => [f.path, results[i]]));
    for (const good of made.expectedGood) {
      expect(byFile.get(good.path), good.path).toEqual({
        ok: true,
        width: good.width,
        height: good.height,
        format: good.format,
      });
    }
    for (const bad of made.expectedSkips.filter((s) => s.stage === 'probe')) {
      const result = byFile.get(bad.path);
      expect(result?.ok === false && result.skipped.reason, bad.path).toBe(bad.reason);
    }
    const huge = await probeImage(path.join(root, 'bird', 'huge.png'));
    expect(huge).toEqual({
      ok: false,
      skipped: expect.objectContaining({ detail: '10000×10000 pixels' }),
    });
    const bmp = await probeImage(path.join(root, '猫', 'old.bmp'));
    expect(bmp.ok === false && bmp.skipped.detail).toMatch(/^BMP /);
    const truncated = made.expectedSkips.find((s) => s.atDecode);
    expect(truncated?.reason).toBe(SKIP_REASONS.corrupt);
    expect(byFile.get(truncated?.path ?? '')?.ok).toBe(true);
  });

  it('decodes the good files and fails the truncated one at decode', async () => {
    for (const good of made.expectedGood) {
      await expect(decodeSquare(good.path, 16)).resolves.toMatchObject({ width: 16 });
    }
    const truncated = made.expectedSkips.find((s) => s.atDecode)?.path ?? '';
    await expect(decodeSquare(truncated, 16)).rejects.toThrow(/corrupt or truncated/);
  });

  it('reports missing, empty and unreadable files from probeImage directly', async () => {
    const missing = await probeImage(path.join(root, 'bird', 'nope.png'));
    expect(missing.ok === false && missing.skipped.reason).toBe(SKIP_REASONS.unreadable);
    const empty = await probeImage(path.join(root, 'bird', 'empty.jpg'));
    expect(empty.ok === false && empty.skipped.reason).toBe(SKIP_REASONS.emptyFile);
  });

  it('keeps input order and reports progress', async () => {
    const paths = [...scan.files.map((f) => f.path)].reverse();
    const progress: number[] = [];
    const results = await probeAll(paths, 3, (done, total) => {
      expect(total).toBe(paths.length);
      progress.push(done);
    });
    // libvips' error buffer is shared by its threads: a corrupt file's message may or may not end
    // in its domain prefix ("…corrupt header: VipsForeignLoad:") from one read to the next.
    const worded = (r: unknown) =>
      JSON.parse(JSON.stringify(r).replace(/(:\s*Vips\w*)*:?\)"/g, ')"')) as unknown;
    expect(results.map(worded)).toEqual(
      (await Promise.all(paths.map((p) => probeImage(p)))).map(worded),
    );
    expect(progress).toEqual(paths.map((_, i) => i + 1));
  });
});

describe('scanFolders', () => {
  it('reads train/ + test/ as train and val, with the union of the classes', () => {
    const dir = tree(path.join(tmp.dir, 'split-test'), {
      'train/cat/1.jpg': 'x',
      'train/dog/2.jpg': 'x',
      'train/fox': null,
      'test/cat/3.jpg': 'x',
      'test/emu/4.jpg': 'x',
      'notes.txt': 'x',
      'extras/5.jpg': 'x',
    });
    const result = scanFolders(dir, 'split-folders');
    expect(result.classes).toEqual(['cat', 'dog', 'emu']);
    expect(result.files.map((f) => [path.relative(dir, f.path), f.className, f.split])).toEqual([
      [path.join('test', 'cat', '3.jpg'), 'cat', 'val'],
      [path.join('train', 'cat', '1.jpg'), 'cat', 'train'],
      [path.join('train', 'dog', '2.jpg'), 'dog', 'train'],
      [path.join('test', 'emu', '4.jpg'), 'emu', 'val'],
    ]);
    expect(result.skipped.map((s) => [path.relative(dir, s.path), s.reason])).toEqual([
      ['extras', SKIP_REASONS.notInClass],
      ['notes.txt', SKIP_REASONS.notInClass],
      [path.join('train', 'fox'), SKIP_REASONS.emptyClass],
    ]);
  });

  it('prefers val/ over test/ and reports test/ as unused', () => {
    const dir = tree(path.join(tmp.dir, 'split-both'), {
      'train/cat/1.jpg': 'x',
      'val/cat/2.jpg': 'x',
      'test/cat/3.jpg': 'x',
    });
    const result = scanFolders(dir, 'split-folders');
    expect(result.files.map((f) => f.split)).toEqual(['train', 'val']);
    expect(result.skipped).toEqual([
      { path: path.join(dir, 'test'), reason: SKIP_REASONS.notInClass, detail: expect.any(String) },
    ]);
  });

  it('scans the cifar10-small sample into 5000 train and 1000 val files', () => {
    const result = scanFolders(CIFAR_SMALL, 'split-folders');
    expect(result.classes).toHaveLength(10);
    expect(result.classes[0]).toBe('airplane');
    expect(result.files.filter((f) => f.split === 'train')).toHaveLength(5000);
    expect(result.files.filter((f) => f.split === 'val')).toHaveLength(1000);
    expect(result.skipped).toEqual([]);
  });

  it('normalises class names to NFC but keeps the path as stored', () => {
    const nfd = 'cafe\u0301';
    const dir = tree(path.join(tmp.dir, 'nfd'), { [`${nfd}/1.jpg`]: 'x' });
    const result = scanFolders(dir, 'imagefolder');
    expect(result.classes).toEqual(['caf\u00e9']);
    expect(result.files[0]?.path).toBe(path.join(dir, nfd, '1.jpg'));
  });

  it('throws when no class folder has a usable file', () => {
    const dir = tree(path.join(tmp.dir, 'all-empty'), { 'a/empty.jpg': '', 'b/.hidden': 'x' });
    expect(() => scanFolders(dir, 'imagefolder')).toThrow(/no usable files in the 2 class folders/);
    expect(() => scanFolders(path.join(tmp.dir, 'split-none'), 'split-folders')).toThrow(UserError);
  });

  // root reads files whatever their mode, so permission errors cannot happen there (CI runs as
  // root); this runs for every developer working as a normal user.
  it.skipIf(process.getuid?.() === 0)('reports unreadable files and folders', () => {
    const dir = tree(path.join(tmp.dir, 'locked'), {
      'a/ok.jpg': 'x',
      'a/secret.jpg': 'x',
      'b/inner/1.jpg': 'x',
    });
    chmodSync(path.join(dir, 'a', 'secret.jpg'), 0o000);
    chmodSync(path.join(dir, 'b', 'inner'), 0o000);
    try {
      const result = scanFolders(dir, 'imagefolder');
      expect(result.skipped.map((s) => [path.relative(dir, s.path), s.reason])).toEqual([
        [path.join('a', 'secret.jpg'), SKIP_REASONS.unreadable],
        ['b', SKIP_REASONS.emptyClass],
        [path.join('b', 'inner'), SKIP_REASONS.unreadable],
      ]);
    } finally {
      chmodSync(path.join(dir, 'b', 'inner'), 0o755);
    }
  });

  it('orders by code point, not UTF-16 unit', () => {
    const names = ['\uff01', '😀', 'z', 'é'];
    expect(names.sort(compareCodePoints)).toEqual(['z', 'é', '\uff01', '😀']);
  });
});
