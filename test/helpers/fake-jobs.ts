import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JobHost, JobProcess } from '../../core/jobs/host.js';
import type { HostMessage, WorkerMessage } from '../../core/schema/messages.js';
import { insertDataset } from '../../core/store/datasets.js';
import type { Workbench } from '../../core/store/workbench.js';

/** A job worker that does nothing by itself: the test sends its messages and ends it. */
export class FakeWorker implements JobProcess {
  received: HostMessage[] = [];
  exited = false;
  private messageHandler: (m: unknown) => void = () => {};
  private exitHandler: (code: number | null, reason: string) => void = () => {};
  constructor(readonly pid: number) {}
  send(message: HostMessage): void {
    this.received.push(message);
    if (message.type === 'cancel') setImmediate(() => this.finish('cancelled'));
  }
  kill(): void {
    this.exit(null, 'killed by SIGKILL');
  }
  onMessage(handler: (m: unknown) => void): void {
    this.messageHandler = handler;
  }
  onExit(handler: (code: number | null, reason: string) => void): void {
    this.exitHandler = handler;
  }
  /** Delivers a message as if the worker had sent it (unvalidated, like a real one). */
  emit(message: WorkerMessage | Record<string, unknown>): void {
    this.messageHandler(message);
  }
  finish(status: 'completed' | 'cancelled'): void {
    this.emit({ type: 'done', status });
    this.exit(0, 'exited with code 0');
  }
  private exit(code: number | null, reason: string): void {
    if (this.exited) return;
    this.exited = true;
    this.exitHandler(code, reason);
  }
}

/** A job host whose workers are FakeWorkers. */
export class FakeHost implements JobHost {
  readonly workers: FakeWorker[] = [];
  start(): JobProcess {
    const worker = new FakeWorker(1000 + this.workers.length);
    this.workers.push(worker);
    return worker;
  }
  get last(): FakeWorker {
    const worker = this.workers.at(-1);
    if (!worker) throw new Error('no worker was started');
    return worker;
  }
}

/**
 * A two-class dataset of `images` 32×32 images (alternating train/val, labels 0/1) with a real
 * cache: pixel value = (image index × 7 + channel) mod 256, and a mean image of 100s.
 */
export function seedDataset(wb: Workbench, name: string, images = 8): number {
  const size = 32;
  const rows = Array.from({ length: images }, (_, idx) => ({
    idx,
    split: (idx % 4 === 3 ? 'val' : 'train') as 'train' | 'val',
    label: idx % 2,
    path: `/data/${name}/${idx % 2 ? 'b' : 'a'}/${idx}.png`,
  }));
  const count = (label: number, split: string) =>
    rows.filter((r) => r.label === label && r.split === split).length;
  const id = insertDataset(
    wb.db,
    {
      name,
      sourcePath: `/data/${name}`,
      layout: 'imagefolder',
      imageSize: size,
      classCount: 2,
      trainCount: rows.filter((r) => r.split === 'train').length,
      valCount: rows.filter((r) => r.split === 'val').length,
      skippedCount: 1,
      valSplit: 0.25,
      seed: 0,
      maxPerClass: null,
      fingerprint: 'f',
    },
    [
      { idx: 0, name: 'a', trainCount: count(0, 'train'), valCount: count(0, 'val') },
      { idx: 1, name: 'b', trainCount: count(1, 'train'), valCount: count(1, 'val') },
    ],
    rows,
    [{ path: `/data/${name}/notes.txt`, reason: 'not an image' }],
  );
  const dir = wb.paths.dataset(id);
  mkdirSync(dir, { recursive: true });
  const pixels = new Uint8Array(images * size * size * 3);
  pixels.forEach((_, i) => (pixels[i] = (Math.floor(i / (size * size * 3)) * 7 + (i % 3)) % 256));
  writeFileSync(path.join(dir, 'images.u8'), pixels);
  writeFileSync(
    path.join(dir, 'mean.f32'),
    new Uint8Array(new Float32Array(size * size * 3).fill(100).buffer),
  );
  writeFileSync(
    path.join(dir, 'stats.json'),
    JSON.stringify({
      version: 1,
      count: 6,
      perClass: [3, 3],
      meanPixel: [100, 101, 102],
      covariance: [
        [0.06, 0, 0],
        [0, 0.05, 0],
        [0, 0, 0.04],
      ],
      eigenvalues: [0.06, 0.05, 0.04],
      eigenvectors: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    }),
  );
  return id;
}
