import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyWriter, npyHeader, readNpyInfo } from '../../core/util/npy.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('npy', () => {
  it('writes a NumPy 1.0 header that aligns the data to 64 bytes', () => {
    const header = npyHeader([3, 4096]);
    expect(header.length % 64).toBe(0);
    expect(header.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    expect(header.toString('latin1')).toContain(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4096), }",
    );
    expect(header.at(-1)).toBe(0x0a);
  });

  it('streams rows and renames into place only when complete', () => {
    const file = path.join(tmp.dir, 'a.npy');
    const writer = new NpyWriter(file, 3, 2);
    writer.append(new Float32Array([1, 2, 3, 4]));
    expect(() => readFileSync(file)).toThrow();
    writer.append(new Float32Array([5, 6]));
    writer.close();
    const info = readNpyInfo(file);
    expect(info).toMatchObject({ dtype: '<f4', shape: [3, 2] });
    const buf = readFileSync(file);
    expect(
      Array.from(
        new Float32Array(
          buf.buffer.slice(buf.byteOffset + info.dataOffset, buf.byteOffset + buf.byteLength),
        ),
      ),
    ).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses to finish a file with missing rows, leaving nothing behind', () => {
    const file = path.join(tmp.dir, 'short.npy');
    const writer = new NpyWriter(file, 3, 2);
    writer.append(new Float32Array([1, 2]));
    expect(() => writer.close()).toThrow(/expected 3/);
    expect(() => readFileSync(file)).toThrow();
    expect(() => readFileSync(`${file}.partial`)).toThrow();
  });
});
