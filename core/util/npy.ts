import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** float32, float16 (feature galleries) and float64 (their row norms). */
export type NpyDtype = '<f4' | '<f2' | '<f8';

/** The NumPy format 1.0 header for a C-order array, padded so the data starts 64-byte aligned. */
export function npyHeader(shape: readonly number[], dtype: NpyDtype = '<f4'): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const header = Buffer.alloc(MAGIC.length + 4 + dict.length);
  MAGIC.copy(header, 0);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(dict.length, 8);
  header.write(dict, 10, 'latin1');
  return header;
}

export interface NpyInfo {
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
}

/** Reads and validates the header of an .npy file (format 1.x or 2.x, little-endian float). */
export function readNpyInfo(path: string): NpyInfo {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(12);
    readSync(fd, head, 0, 12, 0);
    if (!head.subarray(0, 6).equals(MAGIC)) throw new Error(`${path} is not a .npy file`);
    const major = head[6];
    const headerLen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const dictBuf = Buffer.alloc(headerLen);
    readSync(fd, dictBuf, 0, headerLen, start);
    const dict = dictBuf.toString('latin1');
    const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
    const shape = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
    if (/'fortran_order':\s*True/.test(dict))
      throw new Error(`${path}: Fortran-order arrays are not supported`);
    if (descr !== '<f4' && descr !== '<f2' && descr !== '<f8')
      throw new Error(`${path}: unsupported dtype ${descr}`);
    if (shape === undefined) throw new Error(`${path}: header has no shape`);
    const dims = shape
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    return { dtype: descr, shape: dims, dataOffset: start + headerLen };
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams rows of a float32 matrix [rows, cols] into an .npy file. Rows go to `path.partial`,
 * which is renamed to `path` only by close(), so a half-written file is never mistaken for a whole one.
 */
export class NpyWriter {
  private readonly fd: number;
  private readonly partial: string;
  private written = 0;

  constructor(
    private readonly path: string,
    private readonly rows: number,
    private readonly cols: number,
  ) {
    this.partial = `${path}.partial`;
    this.fd = openSync(this.partial, 'w');
    writeSync(this.fd, npyHeader([rows, cols]));
  }

  /** Appends rows; `data.length` must be a multiple of cols. */
  append(data: Float32Array): void {
    if (data.length % this.cols !== 0)
      throw new Error(`row data of length ${data.length} is not a multiple of ${this.cols}`);
    writeSync(this.fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.written += data.length / this.cols;
  }

  close(): void {
    closeSync(this.fd);
    if (this.written !== this.rows) {
      rmSync(this.partial, { force: true });
      throw new Error(`wrote ${this.written} rows, expected ${this.rows}`);
    }
    renameSync(this.partial, this.path);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.partial, { force: true });
  }
}
