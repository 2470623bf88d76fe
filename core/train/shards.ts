import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { readFloats, tensorFromFloats } from '../engine/tensor-io.js';
import type { ModelConfig } from '../schema/model-config.js';
import { workerThreadPath } from '../util/module-path.js';
import type { Optimizer } from './optimizer.js';
import {
  layout,
  shareSizes,
  type ShardInit,
  type ShardReply,
  type ShardRequest,
} from './shard-protocol.js';
import { shareGradients, type StepResult, type Stepper, type Trainee } from './step.js';

/**
 * Data-parallel training on several threads of one process: the main thread and `threads − 1`
 * shard threads (./shard-worker.ts) each hold the network in an engine of their own and compute
 * the gradients of their rows of every batch; the main thread adds them up through shared memory
 * and applies the one update, so a step on N threads is the step on one thread (up to the order
 * of float additions). Our JavaScript kernels (LRN, pooling gradients, slices) run in every
 * thread on its own rows, so they are spread over the threads as much as XNNPACK's are.
 *
 * Each step the main thread publishes the weights it updated to shared memory and every shard
 * reloads them: one pass over the weights per thread, small beside the step itself.
 */
export class ShardedStepper implements Stepper {
  private weightsStale = true;
  private closed = false;
  private readonly pending = new Map<
    Worker,
    { resolve: (r: StepResult) => void; reject: (e: Error) => void }
  >();
  private failure: Error | null = null;

  private constructor(
    private readonly t: Trainee,
    private readonly optimizer: Optimizer,
    private readonly workers: Worker[],
    private readonly weights: Float32Array,
    private readonly grads: Float32Array[],
    private readonly offsets: number[],
  ) {
    for (const [i, worker] of workers.entries()) {
      worker.on('message', (m: ShardReply) => {
        const waiter = this.pending.get(worker);
        this.pending.delete(worker);
        if (m.type === 'done') waiter?.resolve({ loss: m.loss, wrong: m.wrong });
        else if (m.type === 'error')
          this.fail(new Error(`training thread ${i + 2} failed: ${m.message}`));
      });
      worker.on('error', (err) =>
        this.fail(new Error(`training thread ${i + 2} failed: ${err.message}`)),
      );
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`training thread ${i + 2} exited (code ${code})`));
      });
    }
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Starts `threads − 1` shard threads on the main thread's backend, each building `model` and
   * checking that its weights have the main thread's shapes.
   */
  static async start(
    t: Trainee,
    optimizer: Optimizer,
    options: { threads: number; model: ModelConfig; seed: number },
  ): Promise<ShardedStepper> {
    const shapes = t.params.map((p) => p.variable.shape);
    const { offsets, total } = layout(shapes);
    const shards = options.threads - 1;
    const weights = new SharedArrayBuffer(total * 4);
    const grads = new SharedArrayBuffer(total * 4 * shards);
    const workers = Array.from({ length: shards }, (_, i) => {
      const init: ShardInit = {
        backend: tf.getBackend(),
        model: options.model,
        seed: options.seed,
        weights,
        grads,
        gradsOffset: i * total,
      };
      return new Worker(workerThreadPath(import.meta.url, './shard-worker.js'), {
        workerData: init,
      });
    });
    try {
      await Promise.all(workers.map((w, i) => ready(w, i + 2, shapes)));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new ShardedStepper(
      t,
      optimizer,
      workers,
      new Float32Array(weights),
      workers.map((_, i) => new Float32Array(grads, i * total * 4, total)),
      offsets,
    );
  }

  async step(
    batch: { x: Float32Array; labels: number[]; step: number },
    lr: number,
  ): Promise<StepResult> {
    if (this.failure) throw this.failure;
    const total = batch.labels.length;
    const sizes = shareSizes(total, this.threads);
    const pixels = batch.x.length / total;
    if (this.weightsStale) this.publishWeights();
    const replies: Promise<StepResult>[] = [];
    let offset = sizes[0]!;
    for (let s = 1; s < sizes.length; s++) {
      const x = batch.x.slice(offset * pixels, (offset + sizes[s]!) * pixels);
      const request: ShardRequest = {
        type: 'step',
        reload: this.weightsStale,
        x,
        labels: batch.labels.slice(offset, offset + sizes[s]!),
        offset,
        total,
        step: batch.step,
      };
      replies.push(this.send(this.workers[s - 1]!, request, [x.buffer as ArrayBuffer]));
      offset += sizes[s]!;
    }
    // Shards that had no rows this time (a batch smaller than the threads) reload next time.
    this.weightsStale = sizes.length < this.threads;
    const own = await shareGradients(this.t, {
      x: batch.x.subarray(0, sizes[0]! * pixels),
      labels: batch.labels.slice(0, sizes[0]!),
      offset: 0,
      total,
      step: batch.step,
    });
    try {
      const others = await Promise.all(replies);
      const loss = others.reduce((s, r) => s + r.loss, own.loss);
      const wrong = others.reduce((s, r) => s + r.wrong, own.wrong);
      if (Number.isFinite(loss)) {
        this.addShardGradients(own.grads, sizes.length - 1);
        this.optimizer.apply(own.grads, lr);
        this.weightsStale = true;
      }
      return { loss, wrong };
    } finally {
      tf.dispose(Object.values(own.grads));
    }
  }

  /**
   * Adds the first `shards` shard threads' gradients to the main thread's own. Each is copied in
   * (a memcpy) and added by the engine: a JavaScript loop over `alexnet-paper`'s 61 M weights
   * runs at memory speed for scalar code, 4× as long.
   */
  private addShardGradients(grads: tf.NamedTensorMap, shards: number): void {
    if (shards === 0) return;
    this.t.params.forEach((p, i) => {
      const name = p.variable.name;
      const own = grads[name]!;
      const start = this.offsets[i]!;
      grads[name] = tf.tidy(() => {
        let sum = own;
        for (let s = 0; s < shards; s++) {
          const other = this.grads[s]!.subarray(start, start + p.variable.size);
          sum = tf.add(sum, tensorFromFloats(other, p.variable.shape));
        }
        return sum;
      });
      own.dispose();
    });
  }

  private publishWeights(): void {
    this.t.params.forEach((p, i) => this.weights.set(readFloats(p.variable), this.offsets[i]));
  }

  private send(worker: Worker, request: ShardRequest, transfer: ArrayBuffer[]) {
    return new Promise<StepResult>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(worker, { resolve, reject });
      worker.postMessage(request, transfer);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Waits for a shard thread's ready message and checks its weights match the main thread's. */
function ready(worker: Worker, thread: number, shapes: number[][]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number) =>
      reject(new Error(`training thread ${thread} exited while starting (code ${code})`));
    worker.once('error', (err) =>
      reject(new Error(`training thread ${thread} could not start: ${err.message}`)),
    );
    worker.once('exit', onExit);
    worker.once('message', (m: ShardReply) => {
      worker.off('exit', onExit);
      if (m.type === 'error')
        reject(new Error(`training thread ${thread} could not start: ${m.message}`));
      else if (m.type === 'ready' && JSON.stringify(m.shapes) !== JSON.stringify(shapes))
        reject(new Error(`training thread ${thread} built a network of other weight shapes`));
      else resolve();
    });
  });
}
