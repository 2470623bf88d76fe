import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A range of a file's bytes, chosen from its size when it is opened (`range` returns where to
 * start and how many to read; they are clipped to the file), with that size. Null when the file
 * does not exist. Opened afresh on every call, which is what makes a network file system show
 * what another machine has appended since.
 */
export function readRange(
  file: string,
  range: (size: number) => { start: number; length: number },
): { bytes: Buffer; size: number } | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const wanted = range(size);
    const start = Math.max(0, Math.min(wanted.start, size));
    const bytes = Buffer.alloc(Math.max(0, Math.min(wanted.length, size - start)));
    const n = bytes.length ? readSync(fd, bytes, 0, bytes.length, start) : 0;
    return { bytes: bytes.subarray(0, n), size };
  } finally {
    closeSync(fd);
  }
}
