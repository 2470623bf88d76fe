import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CIFAR_IMAGE_BYTES,
  CIFAR_RECORD_BYTES,
  readCifarBinary,
} from '../../core/data/cifar-binary.js';
import { detectLayout } from '../../core/data/scan.js';
import { SKIP_REASONS } from '../../core/schema/skip-reasons.js';
import { UserError } from '../../core/util/errors.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-cifar-');
afterAll(() => tmp.cleanup());

/**
 * One CIFAR record whose pixels encode where they are: R = seed, G = row, B = column at each
 * (row, col), except pixel 0 whose channels are 1, 2, 3.
 */
function record(label: number, seed: number): Buffer {
  const rec = Buffer.alloc(CIFAR_RECORD_BYTES);
  rec[0] = label;
  for (let p = 0; p < 1024; p++) {
    rec[1 + p] = seed;
    rec[1 + 1024 + p] = Math.floor(p / 32);
    rec[1 + 2048 + p] = p % 32;
  }
  rec[1] = 1;
  rec[1 + 1024] = 2;
  rec[1 + 2048] = 3;
  return rec;
}

function batch(labels: number[], seed: number): Buffer {
  return Buffer.concat(labels.map((label, i) => record(label, seed + i)));
}

function makeCifar(name: string, files: Record<string, Buffer | string>): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
  return dir;
}

describe('readCifarBinary', () => {
  const dir = makeCifar('good', {
    'batches.meta.txt': 'cat\r\ndog\n\nemu\n\n',
    'data_batch_2.bin': batch([2, 2, 1, 0, 1], 20),
    'data_batch_1.bin': batch([0, 1, 2, 0, 1], 10),
    'test_batch.bin': batch([1, 0, 2], 30),
    'readme.html': '<p>hi</p>',
  });

  it('is detected as cifar10-binary', () => {
    expect(detectLayout(dir)).toBe('cifar10-binary');
  });

  it('reads classes, labels and splits in batch order', () => {
    const data = readCifarBinary(dir);
    expect(data.classes).toEqual(['cat', 'dog', 'emu']);
    expect(data.skipped).toEqual([]);
    expect(data.records.map((r) => [r.source, r.split, r.label])).toEqual([
      ['data_batch_1.bin#0', 'train', 0],
      ['data_batch_1.bin#1', 'train', 1],
      ['data_batch_1.bin#2', 'train', 2],
      ['data_batch_1.bin#3', 'train', 0],
      ['data_batch_1.bin#4', 'train', 1],
      ['data_batch_2.bin#0', 'train', 2],
      ['data_batch_2.bin#1', 'train', 2],
      ['data_batch_2.bin#2', 'train', 1],
      ['data_batch_2.bin#3', 'train', 0],
      ['data_batch_2.bin#4', 'train', 1],
      ['test_batch.bin#0', 'val', 1],
      ['test_batch.bin#1', 'val', 0],
      ['test_batch.bin#2', 'val', 2],
    ]);
  });

  it('converts planar CHW to interleaved HWC', () => {
    const data = readCifarBinary(dir);
    const image = data.records[3]?.image;
    expect(image).toBeInstanceOf(Uint8Array);
    expect(image?.length).toBe(CIFAR_IMAGE_BYTES);
    expect(Array.from(image?.subarray(0, 6) ?? [])).toEqual([1, 2, 3, 13, 0, 1]);
    const at = (row: number, col: number): number[] => {
      const i = (row * 32 + col) * 3;
      return Array.from(image?.subarray(i, i + 3) ?? []);
    };
    expect(at(5, 7)).toEqual([13, 5, 7]);
    expect(at(31, 31)).toEqual([13, 31, 31]);
    expect(at(0, 31)).toEqual([13, 0, 31]);
    expect(data.records[12]?.image[3]).toBe(32);
  });

  it('keeps the whole records of a truncated batch and reports the rest', () => {
    const truncated = Buffer.concat([batch([0, 1], 40), record(1, 50).subarray(0, 100)]);
    const bad = makeCifar('truncated', {
      'batches.meta.txt': 'cat\ndog\n',
      'data_batch_1.bin': truncated,
    });
    const data = readCifarBinary(bad);
    expect(data.records.map((r) => r.source)).toEqual(['data_batch_1.bin#0', 'data_batch_1.bin#1']);
    expect(data.skipped).toEqual([
      {
        path: path.join(bad, 'data_batch_1.bin'),
        reason: SKIP_REASONS.corrupt,
        detail: expect.stringContaining('100 trailing bytes after 2 whole records'),
      },
    ]);
  });

  it('skips records whose label is not a class', () => {
    const bad = makeCifar('bad-label', {
      'batches.meta.txt': 'cat\ndog\n',
      'test_batch.bin': batch([1, 2, 0, 255], 60),
    });
    const data = readCifarBinary(bad);
    expect(data.records.map((r) => [r.source, r.label])).toEqual([
      ['test_batch.bin#0', 1],
      ['test_batch.bin#2', 0],
    ]);
    expect(data.records[1]?.image[3]).toBe(62);
    expect(data.skipped.map((s) => [path.relative(bad, s.path), s.reason, s.detail])).toEqual([
      ['test_batch.bin#1', SKIP_REASONS.corrupt, 'label 2 is out of range (2 classes)'],
      ['test_batch.bin#3', SKIP_REASONS.corrupt, 'label 255 is out of range (2 classes)'],
    ]);
  });

  it('orders batches by number and reports empty batch files', () => {
    const dir2 = makeCifar('many', {
      'batches.meta.txt': 'a\nb\n',
      'data_batch_10.bin': batch([1], 0),
      'data_batch_9.bin': batch([0], 0),
      'data_batch_3.bin': '',
    });
    const data = readCifarBinary(dir2);
    expect(data.records.map((r) => r.source)).toEqual([
      'data_batch_9.bin#0',
      'data_batch_10.bin#0',
    ]);
    expect(data.skipped).toEqual([
      { path: path.join(dir2, 'data_batch_3.bin'), reason: SKIP_REASONS.emptyFile },
    ]);
  });

  it('throws a UserError without class names or batches', () => {
    const noMeta = makeCifar('no-meta', { 'data_batch_1.bin': batch([0], 0) });
    expect(() => readCifarBinary(noMeta)).toThrow(UserError);
    expect(() => readCifarBinary(noMeta)).toThrow(/batches\.meta\.txt/);
    const noBatches = makeCifar('no-batches', { 'batches.meta.txt': 'a\n' });
    expect(() => readCifarBinary(noBatches)).toThrow(/no CIFAR-10 batch files/);
    expect(() => readCifarBinary(path.join(tmp.dir, 'missing'))).toThrow(UserError);
  });
});
