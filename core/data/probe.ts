import { open } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import pMap from 'p-map';
import { UserError, errorMessage } from '../util/errors.js';
import { MAX_INPUT_PIXELS, describeSharpError } from '../image/decode.js';
import { SKIP_REASONS, type SkipReason, type Skipped } from '../schema/skip-reasons.js';

export type ProbeResult =
  | {
      ok: true;
      /** Size as displayed, i.e. after EXIF orientation. */
      width: number;
      height: number;
      /** sharp's decoder name: jpeg, png, webp, gif, tiff, heif, svg… */
      format: string;
    }
  | { ok: false; skipped: Skipped };

/**
 * Reads one file's header with sharp (no pixel decoding) and says whether the importer should
 * decode it. Failures: 'not an image' (text, random bytes), 'unsupported image format' (a real
 * format the bundled libvips cannot read, named in `detail`), 'image too large' (more than
 * MAX_INPUT_PIXELS; detail '10000×10000 pixels'), 'truncated or corrupt image' (a broken
 * header). Files cut short after their header pass: decoding reports them. Never rejects.
 */
export async function probeImage(file: string): Promise<ProbeResult> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    return { ok: false, skipped: await explainFailure(file, err) };
  }
  const fail = (reason: SkipReason, detail: string): ProbeResult => ({
    ok: false,
    skipped: { path: file, reason, detail },
  });
  const { width, height } = meta;
  if (!width || !height) return fail(SKIP_REASONS.corrupt, 'no image dimensions');
  if (meta.format === 'heif' && meta.compression === 'hevc') {
    return fail(SKIP_REASONS.unsupportedFormat, `HEIC ${CONVERT}`);
  }
  if (width * height > MAX_INPUT_PIXELS) {
    return fail(SKIP_REASONS.tooLarge, `${width}×${height} pixels`);
  }
  const shown = meta.autoOrient ?? { width, height };
  return { ok: true, width: shown.width, height: shown.height, format: meta.format };
}

/**
 * probeImage over many files, at most `concurrency` at a time (sharp runs them on libuv's
 * thread pool). Results are in input order; `onProgress` is called after each file.
 */
export async function probeAll(
  paths: readonly string[],
  concurrency = 8,
  onProgress?: (done: number, total: number) => void,
): Promise<ProbeResult[]> {
  let done = 0;
  return pMap(
    paths,
    async (file) => {
      const result = await probeImage(file);
      onProgress?.(++done, paths.length);
      return result;
    },
    { concurrency },
  );
}

/**
 * Checks the headers of images named on a command line before a long job starts; a UserError
 * names the first file that cannot be used, and why.
 */
export async function requireReadableImages(paths: readonly string[]): Promise<void> {
  const results = await probeAll(paths);
  const bad = results.find((r) => !r.ok);
  if (bad && !bad.ok) {
    const { path, reason, detail } = bad.skipped;
    throw new UserError(`cannot read image ${path}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

const CONVERT = '(sharp cannot read this format; convert it to PNG or JPEG)';

/** Image formats the prebuilt sharp cannot read, recognised by their first bytes. */
const UNSUPPORTED: [name: string, matches: (head: Buffer) => boolean][] = [
  // 'BM' then a known DIB header size, so a text file starting "BM" is not taken for a bitmap.
  [
    'BMP',
    (h) => ascii(h, 0, 2) === 'BM' && [12, 40, 52, 56, 64, 108, 124].includes(h.readUInt32LE(14)),
  ],
  ['PSD', (h) => ascii(h, 0, 4) === '8BPS'],
  ['ICO', (h) => h.readUInt32BE(0) === 0x00000100 && h.readUInt16LE(4) > 0],
  ['JPEG 2000', (h) => ascii(h, 4, 8) === 'jP  ' || h.readUInt32BE(0) === 0xff4fff51],
  ['JPEG XL', (h) => ascii(h, 4, 8) === 'JXL ' || h.readUInt16BE(0) === 0xff0a],
  ['OpenEXR', (h) => h.readUInt32BE(0) === 0x762f3101],
  ['PNM', (h) => /^P[1-7]\s/.test(ascii(h, 0, 3))],
  ['HEIC', (h) => ascii(h, 4, 8) === 'ftyp' && /^he(ic|ix|vc|vx|im|is)$/.test(ascii(h, 8, 12))],
];

function ascii(head: Buffer, start: number, end: number): string {
  return head.toString('latin1', start, end);
}

/** Turns a sharp metadata failure into a skip reason, looking at the file's first bytes. */
async function explainFailure(file: string, err: unknown): Promise<Skipped> {
  const head = Buffer.alloc(32); // zero-padded, so short files are safe to match
  let bytesRead: number;
  try {
    const handle = await open(file, 'r');
    try {
      ({ bytesRead } = await handle.read(head, 0, head.length, 0));
    } finally {
      await handle.close();
    }
  } catch (fsErr) {
    const code = (fsErr as NodeJS.ErrnoException).code;
    const detail =
      code === 'EACCES' || code === 'EPERM' ? 'permission denied' : errorMessage(fsErr);
    return { path: file, reason: SKIP_REASONS.unreadable, detail };
  }
  if (bytesRead === 0) return { path: file, reason: SKIP_REASONS.emptyFile };
  const format = UNSUPPORTED.find(([, matches]) => matches(head))?.[0];
  if (format) {
    return { path: file, reason: SKIP_REASONS.unsupportedFormat, detail: `${format} ${CONVERT}` };
  }
  if (/unsupported image format/i.test(errorMessage(err))) {
    return { path: file, reason: SKIP_REASONS.notImage };
  }
  return { path: file, reason: SKIP_REASONS.corrupt, detail: describeSharpError(err) };
}
