import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { RgbImage } from '../image/decode.js';
import { DATASET_FILES } from './cache.js';
import { meanImageFromBytes, statsFromJson, type StoredStats } from './stats.js';

/**
 * Read access to an imported dataset's cache: images are read one at a time with positioned
 * reads, so a dataset larger than memory is fine.
 */
export class DatasetCache {
  private fd: number | null;
  readonly imageBytes: number;

  constructor(
    readonly dir: string,
    readonly size: number,
  ) {
    this.fd = openSync(path.join(dir, DATASET_FILES.images), 'r');
    this.imageBytes = size * size * 3;
  }

  /** Image `idx`, uint8 [size, size, 3] RGB. `into` is reused when given. */
  read(idx: number, into?: Uint8Array): RgbImage {
    if (this.fd === null) throw new Error('dataset cache is closed');
    const data = into ?? new Uint8Array(this.imageBytes);
    const got = readSync(this.fd, data, 0, this.imageBytes, idx * this.imageBytes);
    if (got !== this.imageBytes) throw new Error(`image ${idx} is beyond the end of ${this.dir}`);
    return { data, width: this.size, height: this.size };
  }

  stats(): StoredStats {
    return statsFromJson(
      JSON.parse(readFileSync(path.join(this.dir, DATASET_FILES.stats), 'utf8')),
    );
  }

  /** The mean training image, float32 [size, size, 3]. */
  meanImage(): Float32Array {
    return meanImageFromBytes(readFileSync(path.join(this.dir, DATASET_FILES.mean)), this.size);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
