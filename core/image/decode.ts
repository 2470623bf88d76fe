import sharp from 'sharp';
import { UserError, errorMessage } from '../util/errors.js';

/** Decoded images above this many pixels are refused (a 10000×10000 image is 100 MP). */
export const MAX_INPUT_PIXELS = 64_000_000;

/** An RGB image, uint8, row-major [height, width, 3]. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes any image sharp reads (JPEG, PNG, WebP, GIF, TIFF, AVIF…) into 8-bit RGB, applying
 * EXIF orientation, dropping alpha, converting grayscale/CMYK/palette and 16-bit data, then
 * resizes the shorter side to `size` and centre-crops `size`×`size`.
 * Throws a UserError naming the file when it is not a readable image.
 */
export async function decodeSquare(
  input: string | Buffer | RgbImage,
  size: number,
  label = typeof input === 'string' ? input : 'image',
): Promise<RgbImage> {
  try {
    // sharp's default failOn ('warning') also rejects truncated JPEGs that would decode half grey.
    const image =
      typeof input === 'string' || Buffer.isBuffer(input)
        ? sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
        : sharp(input.data, { raw: { width: input.width, height: input.height, channels: 3 } });
    const { data, info } = await image
      .rotate()
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new UserError(`cannot read image ${label}: ${describeSharpError(err)}`);
  }
}

/** sharp's messages, shortened to the part a user can act on. */
export function describeSharpError(err: unknown): string {
  const message = errorMessage(err);
  if (/unsupported image format/i.test(message))
    return 'not an image, or a format sharp cannot read';
  if (/pixel limit/i.test(message))
    return `image is too large (over ${MAX_INPUT_PIXELS / 1e6} megapixels)`;
  if (/ENOENT/.test(message)) return 'no such file';
  if (/premature end|truncated|corrupt|VipsJpeg|pngload|Invalid/i.test(message)) {
    return `corrupt or truncated (${message.split('\n')[0]})`;
  }
  return message.split('\n')[0] ?? message;
}

/** File extensions treated as images when a directory is given. */
export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.bmp',
  '.jfif',
  '.heic',
  '.heif',
]);
