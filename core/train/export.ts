import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { MODEL_FILES } from '../model/io.js';
import { preprocessingSchema } from '../model/preprocessing.js';
import type { RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { UserError } from '../util/errors.js';
import { resolveCheckpoint, type CheckpointKind } from './checkpoint.js';

export interface ExportResult {
  runId: number;
  checkpoint: CheckpointKind;
  epoch: number | null;
  source: string;
  out: string;
  files: string[];
  bytes: number;
}

const readJson = (dir: string, name: string): unknown => {
  try {
    return JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
  } catch {
    throw new UserError(`checkpoint ${dir} has no readable ${name}`);
  }
};

/**
 * Copies a checkpoint's model (model.json, weights.bin, labels.json, preprocessing.json and the
 * mean image it names; not the optimizer or training state) to `out`, then checks the copied
 * weights against model.json's checksum, which also catches a checkpoint replaced mid-copy.
 */
function copyModel(dir: string, out: string): { files: string[]; bytes: number } {
  const preprocessing = preprocessingSchema.safeParse(readJson(dir, MODEL_FILES.preprocessing));
  if (!preprocessing.success) throw new UserError(`checkpoint ${dir}: bad preprocessing.json`);
  const { mean } = preprocessing.data;
  const files = [...Object.values(MODEL_FILES), ...(mean.type === 'image' ? [mean.file] : [])];
  const missing = files.find((f) => !existsSync(path.join(dir, f)));
  if (missing) throw new UserError(`checkpoint ${dir} is missing ${missing}`);
  mkdirSync(out, { recursive: true });
  let bytes = 0;
  for (const f of files) {
    copyFileSync(path.join(dir, f), path.join(out, `${f}.tmp`));
    renameSync(path.join(out, `${f}.tmp`), path.join(out, f));
    bytes += statSync(path.join(out, f)).size;
  }
  const model = readJson(out, MODEL_FILES.topology) as {
    userDefinedMetadata?: { svw?: { weightsSha256?: string } };
  };
  const weights = readFileSync(path.join(out, MODEL_FILES.weights));
  if (
    createHash('sha256').update(weights).digest('hex') !==
    model.userDefinedMetadata?.svw?.weightsSha256
  )
    throw new UserError(
      "the exported weights do not match model.json's checksum",
      'if the run is training, it saved a new checkpoint meanwhile: try again',
    );
  return { files, bytes };
}

/** The named checkpoint of a run, or its best (else last) when none is named. */
export function pickCheckpoint(run: RunRow, runDir: string, kind?: CheckpointKind) {
  for (const k of kind ? [kind] : (['best', 'last'] as const)) {
    try {
      return { kind: k, dir: resolveCheckpoint(runDir, k) };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
    }
  }
  throw new UserError(
    `run ${run.id} has no ${kind ?? ''}${kind ? ' ' : ''}checkpoint (it has not finished an epoch)`,
  );
}

/**
 * Exports the model of a run checkpoint to the folder `out` (for `svw predict --model`); a folder
 * that is not empty is refused unless `force`.
 */
export function exportCheckpoint(
  wb: Workbench,
  run: RunRow,
  request: { out: string; checkpoint?: CheckpointKind; force?: boolean },
): ExportResult {
  const { kind, dir } = pickCheckpoint(run, wb.paths.run(run.id), request.checkpoint);
  const out = path.resolve(request.out);
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new UserError(`${request.out} is not a folder`);
  if (existsSync(out) && readdirSync(out).length > 0 && !request.force)
    throw new UserError(`${request.out} is not empty`, 'use --force to write into it');
  const state = readJson(dir, 'state.json') as { epoch?: number };
  const { files, bytes } = copyModel(dir, out);
  return {
    runId: run.id,
    checkpoint: kind,
    epoch: state.epoch ?? null,
    source: dir,
    out,
    files,
    bytes,
  };
}
