import { BatchLoader } from '../data/batches.js';
import type { DatasetPayload, WorkerMessage } from '../schema/messages.js';
import { tapModel } from '../model/alexnet.js';
import { loadCheckpoint } from './checkpoint.js';
import type { RunConfig } from '../schema/run-config.js';
import { evaluate } from './evaluate.js';
import { evalSpec } from './trainer.js';

export interface EvalJob {
  config: RunConfig;
  dataset: DatasetPayload;
  checkpointDir: string;
  checkpoint: 'best' | 'last';
  split: 'train' | 'val';
  tenCrop: boolean;
  emit(message: WorkerMessage): void;
}

/** `svw eval`: evaluates a checkpoint on a split (centre or ten-crop) and reports it. */
export async function runEvaluation(job: EvalJob): Promise<void> {
  const { bundle, state } = await loadCheckpoint(job.checkpointDir);
  const logits = tapModel(bundle.model, 'fc8');
  const idx = job.split === 'val' ? job.dataset.valIdx : job.dataset.trainIdx;
  const labels = job.split === 'val' ? job.dataset.valLabels : job.dataset.trainLabels;
  const loader = new BatchLoader(
    job.dataset.dir,
    job.dataset.size,
    evalSpec(job.config, job.tenCrop),
    2,
  );
  try {
    const result = await evaluate(logits, {
      loader,
      idx,
      labels,
      classes: job.dataset.classes.length,
      crops: job.tenCrop ? 10 : 1,
      batchSize: Math.max(1, Math.floor(job.config.batchSize / (job.tenCrop ? 10 : 1))),
      onBatch: (done, total) =>
        job.emit({
          type: 'progress',
          epoch: Math.max(0, state.epoch - 1),
          epochs: Math.max(1, state.epoch),
          batch: done,
          batches: total,
          step: state.step,
          loss: 0,
          imagesPerSec: 0,
          phase: 'eval',
        }),
    });
    job.emit({
      type: 'evaluation',
      epoch: state.epoch,
      step: state.step,
      split: job.split,
      tenCrop: job.tenCrop,
      checkpoint: job.checkpoint,
      ...result,
    });
  } finally {
    await loader.close();
    bundle.model.dispose();
  }
}
