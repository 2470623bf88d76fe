import type * as tfl from '@tensorflow/tfjs-layers';
import { BatchLoader, epochPlan } from '../data/batches.js';
import { DatasetCache } from '../data/dataset.js';
import type { TransformSpec } from '../data/transform.js';
import type { DatasetPayload, MetricPoint, WorkerMessage } from '../schema/messages.js';
import { checkEngine } from '../engine/faults.js';
import { buildAlexNet } from '../model/alexnet.js';
import { preprocessingFor, type Preprocessing } from '../model/preprocessing.js';
import { loadCheckpoint, promoteToBest, saveCheckpoint, type TrainingState } from './checkpoint.js';
import type { RunConfig } from '../schema/run-config.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { Optimizer } from './optimizer.js';
import { LrSchedule } from './schedule.js';
import { ShardedStepper } from './shards.js';
import { LocalStepper, trainee, type Stepper } from './step.js';

export interface TrainContext {
  config: RunConfig;
  dataset: DatasetPayload;
  runDir: string;
  /** A checkpoint folder to continue from, or null for a fresh start. */
  resumeFrom: string | null;
  /** Threads each step runs on: 1, or data-parallel shards (./shards.ts) on wasm and cpu. */
  threads: number;
  emit(message: WorkerMessage): void;
  cancelled(): boolean;
}

/** Raised when the loss stops being a finite number: the run fails with this reason. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

/**
 * The preprocessing an exported model of this run needs: the dataset's mean, the model's crop and
 * the run's input scale, so the model sees exactly what it saw in training.
 */
export function runPreprocessing(
  config: RunConfig,
  cache: DatasetCache,
): { preprocessing: Preprocessing; meanImage?: Float32Array } {
  const model = { ...config.model, sourceSize: cache.size };
  const scaled = (p: Preprocessing): Preprocessing => ({ ...p, scale: config.data.scale });
  if (config.data.mean === 'image') {
    const preprocessing = preprocessingFor(model, {
      type: 'image',
      file: 'mean.f32',
      shape: [cache.size, cache.size, 3],
      dtype: 'float32',
    });
    return { preprocessing: scaled(preprocessing), meanImage: cache.meanImage() };
  }
  const values =
    config.data.mean === 'pixel'
      ? cache.stats().meanPixel
      : ([0, 0, 0] as [number, number, number]);
  return {
    preprocessing: scaled(
      preprocessingFor(model, { type: 'pixel', values: [...values] as [number, number, number] }),
    ),
  };
}

export function trainSpec(config: RunConfig): TransformSpec {
  return { kind: 'train', crop: config.model.inputSize, ...config.data };
}

export function evalSpec(
  config: RunConfig,
  tenCrop: boolean,
): Extract<TransformSpec, { kind: 'eval' }> {
  return {
    kind: 'eval',
    crop: config.model.inputSize,
    tenCrop,
    mean: config.data.mean,
    scale: config.data.scale,
  };
}

/**
 * Trains a run in this process (a job worker): epochs of SGD over shuffled, augmented batches
 * prepared on a worker thread, evaluation on the validation split, a checkpoint every epoch.
 * Everything it learns is reported through `emit`; it never writes the database.
 */
export async function runTraining(ctx: TrainContext): Promise<'completed' | 'cancelled'> {
  const { config, dataset, runDir } = ctx;
  const cache = new DatasetCache(dataset.dir, dataset.size);
  const { preprocessing, meanImage } = runPreprocessing(config, cache);
  cache.close();

  let model: tfl.LayersModel;
  let state: TrainingState;
  let optimizerState: Awaited<ReturnType<typeof loadCheckpoint>>['optimizer'] | null = null;
  if (ctx.resumeFrom) {
    const checkpoint = await loadCheckpoint(ctx.resumeFrom);
    model = checkpoint.bundle.model;
    state = checkpoint.state;
    optimizerState = checkpoint.optimizer;
  } else {
    model = buildAlexNet(config.model, { seed: config.seed });
    state = {
      epoch: 0,
      step: 0,
      schedule: { lr: config.optim.lr, drops: 0, best: null, badEpochs: 0 },
      valTop1Error: null,
      bestValTop1Error: null,
    };
  }
  // Dropout masks are keyed by (seed, step, image), so a run, a resumed run and the same run on
  // more threads all drop the same units.
  const t = trainee(
    model,
    { inputSize: config.model.inputSize, classes: dataset.classes.length },
    config.seed,
  );
  const logits = t.logits;
  const optimizer = new Optimizer(config.optim, t.params);
  if (optimizerState) {
    optimizer.restore(optimizerState.steps, optimizerState.tensors);
    for (const s of optimizerState.tensors.values()) s.dispose();
  }
  let stepper: Stepper;
  try {
    stepper =
      ctx.threads > 1
        ? await ShardedStepper.start(t, optimizer, {
            threads: ctx.threads,
            model: config.model,
            seed: config.seed,
          })
        : new LocalStepper(t, optimizer);
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  }
  const schedule = new LrSchedule(config.schedule, config.optim.lr, state.schedule);
  const trainLoader = new BatchLoader(dataset.dir, dataset.size, trainSpec(config), 2);
  const evalLoader = new BatchLoader(dataset.dir, dataset.size, evalSpec(config, false), 2);
  const labelOf = new Map(dataset.trainIdx.map((idx, i) => [idx, dataset.trainLabels[i]!]));
  const classes = dataset.classes.length;
  const metric = (key: string, value: number, epoch: number): MetricPoint => ({
    key,
    value,
    epoch,
    step: state.step,
    wallTime: Date.now() / 1000,
  });

  const runEval = async (
    epoch: number,
    loader: BatchLoader,
    tenCrop: boolean,
  ): Promise<EvalResult> =>
    evaluate(logits, {
      loader,
      idx: dataset.valIdx,
      labels: dataset.valLabels,
      classes,
      crops: tenCrop ? 10 : 1,
      batchSize: Math.max(1, Math.floor(config.batchSize / (tenCrop ? 10 : 1))),
      onBatch: (done, total) =>
        ctx.emit({
          type: 'progress',
          epoch,
          epochs: config.epochs,
          batch: done,
          batches: total,
          step: state.step,
          loss: 0,
          imagesPerSec: 0,
          phase: 'eval',
        }),
    });

  try {
    for (let epoch = state.epoch; epoch < config.epochs; epoch++) {
      const lr = schedule.lrFor(epoch);
      const plan = epochPlan(dataset.trainIdx, config.batchSize, {
        shuffle: true,
        seed: config.seed,
        epoch,
      });
      let lossSum = 0;
      let wrongSum = 0;
      let seen = 0;
      const epochStart = performance.now();
      for await (const batch of trainLoader.batches(plan, `${config.seed}:${epoch}`)) {
        // A prefetched batch resolves without the event loop turning, and training steps are
        // synchronous: yield once per step so that a cancel (or a sweep's stop) is heard now.
        await new Promise((resolve) => setImmediate(resolve));
        if (ctx.cancelled()) return 'cancelled';
        const t0 = performance.now();
        const n = batch.indices.length;
        const labels = batch.indices.map((i) => labelOf.get(i)!);
        const { loss, wrong } = await stepper.step({ x: batch.x, labels, step: state.step }, lr);
        state.step++;
        // A lost GPU or one out of memory yields garbage or nothing: stop at this step.
        checkEngine();
        if (!Number.isFinite(loss)) {
          throw new DivergedError(
            `training diverged: the loss became ${loss} at epoch ${epoch + 1}, step ${state.step} (learning rate ${lr}); try a lower learning rate`,
          );
        }
        lossSum += loss * n;
        wrongSum += wrong;
        seen += n;
        const imagesPerSec = n / ((performance.now() - t0) / 1000);
        ctx.emit({
          type: 'metrics',
          metrics: [
            metric('train_loss', loss, epoch + seen / dataset.trainIdx.length),
            metric('train_top1_error', wrong / n, epoch + seen / dataset.trainIdx.length),
            metric('lr', lr, epoch + seen / dataset.trainIdx.length),
          ],
        });
        ctx.emit({
          type: 'progress',
          epoch,
          epochs: config.epochs,
          batch: batch.index + 1,
          batches: plan.length,
          step: state.step,
          loss,
          imagesPerSec,
          phase: 'train',
        });
      }
      // Stopped during the last step: the epoch is not finished, so nothing of it is recorded.
      if (ctx.cancelled()) return 'cancelled';
      const seconds = (performance.now() - epochStart) / 1000;
      const epochMetrics = [
        metric('epoch_train_loss', lossSum / seen, epoch + 1),
        metric('epoch_train_top1_error', wrongSum / seen, epoch + 1),
        metric('images_per_sec', seen / seconds, epoch + 1),
      ];
      const last = epoch + 1 === config.epochs;
      let valError: number | null = null;
      let evaluation: EvalResult | null = null;
      if (dataset.valIdx.length > 0 && ((epoch + 1) % config.evalEvery === 0 || last)) {
        evaluation = await runEval(epoch, evalLoader, false);
        checkEngine();
        valError = evaluation.top1Error;
        epochMetrics.push(
          metric('val_loss', evaluation.loss, epoch + 1),
          metric('val_top1_error', evaluation.top1Error, epoch + 1),
          metric('val_top5_error', evaluation.top5Error, epoch + 1),
        );
        if (schedule.observe(evaluation.top1Error)) {
          ctx.emit({
            type: 'log',
            level: 'info',
            message: `validation error stopped improving: learning rate ÷${Math.round(1 / config.schedule.gamma)} to ${schedule.lrFor(epoch + 1)}`,
          });
        }
      }
      ctx.emit({ type: 'metrics', metrics: epochMetrics });
      const isBest =
        valError !== null && (state.bestValTop1Error === null || valError < state.bestValTop1Error);
      state = {
        epoch: epoch + 1,
        step: state.step,
        schedule: schedule.snapshot(),
        valTop1Error: valError,
        bestValTop1Error: isBest ? valError : state.bestValTop1Error,
      };
      const lastDir = await saveCheckpoint(
        runDir,
        'last',
        { model, config: config.model, labels: dataset.classes, preprocessing, meanImage },
        optimizer.state(),
        state,
      );
      ctx.emit({
        type: 'checkpoint',
        kind: 'last',
        epoch: epoch + 1,
        step: state.step,
        path: lastDir,
        valTop1Error: valError,
      });
      if (isBest) {
        ctx.emit({
          type: 'checkpoint',
          kind: 'best',
          epoch: epoch + 1,
          step: state.step,
          path: promoteToBest(runDir),
          valTop1Error: valError,
        });
      }
      if (evaluation) {
        ctx.emit({
          type: 'evaluation',
          epoch: epoch + 1,
          step: state.step,
          split: 'val',
          tenCrop: false,
          checkpoint: isBest ? 'best' : 'last',
          ...evaluation,
        });
      }
      ctx.emit({ type: 'epoch', epochsDone: epoch + 1 });
    }
    if (config.tenCropAtEnd && dataset.valIdx.length > 0) {
      const tenLoader = new BatchLoader(dataset.dir, dataset.size, evalSpec(config, true), 1);
      try {
        const evaluation = await runEval(config.epochs - 1, tenLoader, true);
        ctx.emit({
          type: 'metrics',
          metrics: [
            metric('val_top1_error_10crop', evaluation.top1Error, config.epochs),
            metric('val_top5_error_10crop', evaluation.top5Error, config.epochs),
          ],
        });
        ctx.emit({
          type: 'evaluation',
          epoch: config.epochs,
          step: state.step,
          split: 'val',
          tenCrop: true,
          checkpoint: 'last',
          ...evaluation,
        });
      } finally {
        await tenLoader.close();
      }
    }
    return 'completed';
  } finally {
    await Promise.all([trainLoader.close(), evalLoader.close(), stepper.close()]);
    optimizer.dispose();
    model.dispose();
  }
}
