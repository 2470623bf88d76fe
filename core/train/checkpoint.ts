import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  loadModelDir,
  modelWeightsSha256,
  saveModelDir,
  type LoadedModel,
  type ModelBundle,
} from '../model/io.js';
import { UserError } from '../util/errors.js';
import type { ScheduleState } from './schedule.js';

export type CheckpointKind = 'last' | 'best';

/** Training state saved beside the model, enough to resume exactly where the run stopped. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  schedule: ScheduleState;
  valTop1Error: number | null;
  bestValTop1Error: number | null;
}

const stateSchema = z.object({
  epoch: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  schedule: z.object({
    lr: z.number(),
    drops: z.number().int(),
    best: z.number().nullable(),
    badEpochs: z.number().int(),
  }),
  valTop1Error: z.number().nullable(),
  bestValTop1Error: z.number().nullable(),
});

const optimizerManifestSchema = z.object({
  steps: z.number().int().nonnegative(),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()) })),
});

const FILES = { state: 'state.json', optimizer: 'optimizer.json', optimizerData: 'optimizer.bin' };

export const checkpointDir = (runDir: string, kind: CheckpointKind) =>
  path.join(runDir, 'checkpoints', kind);

/**
 * Writes a checkpoint: the exportable model folder plus optimizer slots and training state.
 * Everything goes to a temporary folder that then replaces the old checkpoint by renames, so a
 * crash at any moment leaves either the old or the new checkpoint whole, never a mixture.
 */
export async function saveCheckpoint(
  runDir: string,
  kind: CheckpointKind,
  bundle: Omit<ModelBundle, 'mean'> & { meanImage?: Float32Array },
  optimizer: { steps: number; tensors: { name: string; tensor: tf.Tensor }[] },
  state: TrainingState,
): Promise<string> {
  const target = checkpointDir(runDir, kind);
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await writeCheckpointFiles(tmp, bundle, optimizer, state);
  } catch (err) {
    // A half-written folder (a full disk, say) would only hold on to the space it took.
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  swapIn(tmp, target);
  return target;
}

async function writeCheckpointFiles(
  tmp: string,
  bundle: Omit<ModelBundle, 'mean'> & { meanImage?: Float32Array },
  optimizer: { steps: number; tensors: { name: string; tensor: tf.Tensor }[] },
  state: TrainingState,
): Promise<void> {
  await saveModelDir(tmp, bundle);
  const data = await Promise.all(
    optimizer.tensors.map((t) => t.tensor.data() as Promise<Float32Array>),
  );
  writeFileSync(
    path.join(tmp, FILES.optimizerData),
    Buffer.concat(data.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))),
  );
  writeFileSync(
    path.join(tmp, FILES.optimizer),
    JSON.stringify({
      steps: optimizer.steps,
      tensors: optimizer.tensors.map((t) => ({ name: t.name, shape: t.tensor.shape })),
    }),
  );
  writeFileSync(path.join(tmp, FILES.state), JSON.stringify(state, null, 1));
}

/** Copies the last checkpoint to best (atomically, like saveCheckpoint). */
export function promoteToBest(runDir: string): string {
  const best = checkpointDir(runDir, 'best');
  const tmp = `${best}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(resolveCheckpoint(runDir, 'last'), tmp, { recursive: true });
  swapIn(tmp, best);
  return best;
}

function swapIn(tmp: string, target: string): void {
  const old = `${target}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}

/**
 * The folder of a complete checkpoint. If a crash came between the two renames of swapIn, the
 * previous checkpoint is still whole under `.old` and is used.
 */
export function resolveCheckpoint(runDir: string, kind: CheckpointKind): string {
  const dir = checkpointDir(runDir, kind);
  if (existsSync(path.join(dir, FILES.state))) return dir;
  if (existsSync(path.join(`${dir}.old`, FILES.state))) return `${dir}.old`;
  throw new UserError(`run has no ${kind} checkpoint (it may not have finished an epoch)`);
}

export interface LoadedCheckpoint {
  bundle: LoadedModel;
  state: TrainingState;
  optimizer: { steps: number; tensors: Map<string, tf.Tensor> };
}

/** The number of epochs a checkpoint folder holds (read from its state, without loading it). */
export function checkpointEpoch(dir: string): number {
  return stateSchema.parse(JSON.parse(readFileSync(path.join(dir, FILES.state), 'utf8'))).epoch;
}

/** Which network a checkpoint holds: its epoch and the SHA-256 of its weights. */
export interface CheckpointIdentity {
  epoch: number;
  weightsSha256: string;
}

/** A checkpoint folder's identity, read from its state and model.json without loading weights. */
export function checkpointIdentity(dir: string): CheckpointIdentity {
  return { epoch: checkpointEpoch(dir), weightsSha256: modelWeightsSha256(dir) };
}

/** Loads a checkpoint folder; the optimizer tensors are the caller's to dispose. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const bundle = await loadModelDir(dir);
  const state = stateSchema.parse(JSON.parse(readFileSync(path.join(dir, FILES.state), 'utf8')));
  const manifest = optimizerManifestSchema.parse(
    JSON.parse(readFileSync(path.join(dir, FILES.optimizer), 'utf8')),
  );
  const raw = readFileSync(path.join(dir, FILES.optimizerData));
  const floats = new Float32Array(
    raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
  );
  const tensors = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const { name, shape } of manifest.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (offset + size > floats.length) throw new Error(`${dir}: optimizer state is truncated`);
    tensors.set(name, tf.tensor(floats.subarray(offset, offset + size), shape));
    offset += size;
  }
  if (offset !== floats.length)
    throw new Error(`${dir}: optimizer state has ${floats.length - offset} extra values`);
  return { bundle, state, optimizer: { steps: manifest.steps, tensors } };
}
