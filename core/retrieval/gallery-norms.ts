import { closeSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { npyHeader, readNpyInfo } from '../util/npy.js';

/**
 * The squared row norms ‖x‖² of a feature gallery, stored beside it when it is built
 * (`best-train.npy` → `best-train.norms.npy`, float64 [N]), so that opening a gallery for a
 * search reads N × 8 bytes instead of the whole matrix.
 */
export const normsPath = (galleryNpy: string) => galleryNpy.replace(/(\.npy)?$/, '.norms.npy');

/** Writes a gallery's norms beside it, under a temporary name first. */
export function writeNorms(galleryNpy: string, norms: Float64Array): void {
  const target = normsPath(galleryNpy);
  const partial = `${target}.partial`;
  try {
    writeFileSync(
      partial,
      Buffer.concat([
        npyHeader([norms.length], '<f8'),
        Buffer.from(norms.buffer, norms.byteOffset, norms.byteLength),
      ]),
    );
    renameSync(partial, target);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * The stored norms of a gallery of `count` rows, or null when there are none (a gallery built
 * before they were stored) or they do not fit it. Whether they belong to these very rows is
 * the caller's to check (FeatureIndex compares a few with the rows).
 */
export function readNorms(galleryNpy: string, count: number): Float64Array | null {
  const file = normsPath(galleryNpy);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const info = readNpyInfo(file);
    if (info.dtype !== '<f8' || info.shape.length !== 1 || info.shape[0] !== count) return null;
    const norms = new Float64Array(count);
    const bytes = new Uint8Array(norms.buffer);
    if (readSync(fd, bytes, 0, bytes.length, info.dataOffset) !== bytes.length) return null;
    return norms;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
