import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { SKIP_REASONS, type SkipReason } from '../../core/schema/skip-reasons.js';

export interface ExpectedSkip {
  path: string;
  reason: SkipReason;
  /** Which step reports it: scanFolders, probeImage, or the importer's decode. */
  stage: 'scan' | 'probe' | 'decode';
  /** Passes the header probe; only decoding finds the problem. */
  atDecode?: true;
}

export interface BadImageFolder {
  expectedSkips: ExpectedSkip[];
  /** Files that import successfully (scan, probe and decode), with their true size and format. */
  expectedGood: {
    className: string;
    path: string;
    width: number;
    height: number;
    format: string;
  }[];
}

/**
 * Writes an ImageFolder into `root` (its subfolders are the classes) with good images of many
 * kinds in 3 classes (`bird`, `café`, `猫`) and one file or folder of each bad kind.
 * Good: RGB/CMYK/EXIF-rotated JPEG; grayscale, RGBA, 16-bit and palette PNG; WebP; a nested
 * subfolder; unicode and emoji names. Bad: a loose file in the root, a zero-byte file, a text
 * file named .jpg, random bytes, a BMP, a 10000×10000 PNG, a PNG cut inside its header, a JPEG
 * cut in half (passes the probe), an empty class folder, a class folder holding only a hidden
 * file, a hidden file, a hidden folder, a symlink loop and a dangling symlink.
 * Paths are `path.join(root, …)`. Takes about a second (the large PNG).
 */
export async function makeBadImageFolder(root: string): Promise<BadImageFolder> {
  const good: BadImageFolder['expectedGood'] = [];
  const skips: ExpectedSkip[] = [];
  const file = (...parts: string[]): string => {
    const full = path.join(root, ...parts);
    mkdirSync(path.dirname(full), { recursive: true });
    return full;
  };
  const addGood = async (
    className: string,
    name: string,
    image: Sharp,
    size: [number, number] = [48, 32],
  ): Promise<void> => {
    const full = file(className, name);
    const info = await image.toFile(full);
    good.push({ className, path: full, width: size[0], height: size[1], format: info.format });
  };
  const skip = (reason: SkipReason, stage: ExpectedSkip['stage'], ...parts: string[]): string => {
    const full = path.join(root, ...parts);
    skips.push({ path: full, reason, stage, ...(stage === 'decode' ? { atDecode: true } : {}) });
    return full;
  };

  // Good images.
  await addGood('bird', 'rgb.jpg', solid(48, 32, '#3070c0').jpeg());
  await addGood('bird', 'gray.png', solid(48, 32, '#808080').toColourspace('b-w').png());
  await addGood('bird', 'nested/deeper/rgba.png', solid(48, 32, '#ff000080', 4).png());
  await addGood('café', 'cmyk.jpg', solid(48, 32, '#20a040').toColourspace('cmyk').jpeg());
  await addGood('café', 'ü.png', solid(48, 32, '#c0c020').toColourspace('rgb16').png());
  await addGood('café', 'palette.png', solid(48, 32, '#a02080').png({ palette: true }));
  const rotated = solid(48, 32, '#f08000').jpeg().withMetadata({ orientation: 6 });
  await addGood('猫', '图片 1.jpg', rotated, [32, 48]);
  await addGood('猫', '🐱 emoji.webp', solid(48, 32, '#00c0c0').webp());

  // Bad files found by the scan.
  writeFileSync(file('README.txt'), 'class folders are below\n');
  skip(SKIP_REASONS.notInClass, 'scan', 'README.txt');
  writeFileSync(file('bird', 'empty.jpg'), '');
  skip(SKIP_REASONS.emptyFile, 'scan', 'bird', 'empty.jpg');
  writeFileSync(file('bird', '.DS_Store'), 'finder junk');
  skip(SKIP_REASONS.hidden, 'scan', 'bird', '.DS_Store');
  symlinkSync('missing.jpg', file('bird', 'gone.jpg'));
  skip(SKIP_REASONS.unreadable, 'scan', 'bird', 'gone.jpg');
  await solid(8, 8, '#000')
    .jpeg()
    .toFile(file('café', '.thumbnails', 'cmyk.jpg'));
  skip(SKIP_REASONS.hidden, 'scan', 'café', '.thumbnails');
  symlinkSync('.', file('猫', 'loop'));
  skip(SKIP_REASONS.symlinkLoop, 'scan', '猫', 'loop');
  mkdirSync(file('empty', 'sub'), { recursive: true }); // reported once, as the class folder
  skip(SKIP_REASONS.emptyClass, 'scan', 'empty');
  writeFileSync(file('only-hidden', '.keep'), '');
  skip(SKIP_REASONS.hidden, 'scan', 'only-hidden', '.keep');
  skip(SKIP_REASONS.emptyClass, 'scan', 'only-hidden');

  // Bad files found by the probe.
  writeFileSync(file('bird', 'notes.jpg'), 'These are my notes, not a picture.\n');
  skip(SKIP_REASONS.notImage, 'probe', 'bird', 'notes.jpg');
  writeFileSync(file('café', 'noise.png'), pseudoRandomBytes(4096, 7));
  skip(SKIP_REASONS.notImage, 'probe', 'café', 'noise.png');
  writeFileSync(file('猫', 'old.bmp'), tinyBmp());
  skip(SKIP_REASONS.unsupportedFormat, 'probe', '猫', 'old.bmp');
  const huge = sharp({ create: { width: 10000, height: 10000, channels: 3, background: '#777' } });
  await huge.extractChannel(0).png({ adaptiveFiltering: false }).toFile(file('bird', 'huge.png'));
  skip(SKIP_REASONS.tooLarge, 'probe', 'bird', 'huge.png');
  const png = await solid(48, 32, '#123456').png().toBuffer();
  writeFileSync(file('café', 'cut-header.png'), png.subarray(0, 20));
  skip(SKIP_REASONS.corrupt, 'probe', 'café', 'cut-header.png');

  // Found only when decoding: half of a JPEG whose header is intact.
  const jpeg = await sharp(pseudoRandomBytes(128 * 128 * 3, 3), {
    raw: { width: 128, height: 128, channels: 3 },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  writeFileSync(file('猫', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  skip(SKIP_REASONS.corrupt, 'decode', '猫', 'truncated.jpg');

  return { expectedSkips: skips, expectedGood: good };
}

function solid(width: number, height: number, background: string, channels: 3 | 4 = 3) {
  return sharp({ create: { width, height, channels, background } });
}

/** Deterministic noise that does not start with any image signature. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  out[0] = 0x5a; // 'Z'
  return out;
}

/** A 2×2 24-bit Windows bitmap (the prebuilt sharp has no BMP loader). */
function tinyBmp(): Buffer {
  const bmp = Buffer.alloc(54 + 16, 0x40);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(0, 6);
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(2, 18);
  bmp.writeInt32LE(2, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  bmp.writeUInt32LE(0, 30);
  bmp.writeUInt32LE(16, 34);
  bmp.fill(0, 38, 54);
  return bmp;
}
