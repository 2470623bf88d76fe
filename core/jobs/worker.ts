import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { rung, selectBackend } from '../engine/backends.js';
import { checkEngine, explainEngineError } from '../engine/faults.js';
import { errorMessage, serializeError } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import { runEvaluation } from '../train/eval-job.js';
import { validateRunConfig } from '../schema/run-config.js';
import { threadsNote } from '../train/threads.js';
import { runTraining } from '../train/trainer.js';
import { runEmbedding, runFeatureExtraction } from '../retrieval/feature-job.js';
import { runAnalysis } from '../analysis/analysis-job.js';
import { reportFatalErrors } from './fatal.js';
import { hostMessageSchema, type HostMessage, type WorkerMessage } from '../schema/messages.js';
import { eventFileWriter } from './event-file.js';

/**
 * The one entry point of job workers, started by `child_process.fork` (CLI, server),
 * Electron's `utilityProcess.fork` (app), or a Slurm batch script on a cluster node
 * (`--job PAYLOAD --events FILE`). It does one job and exits; it reports through messages and
 * never touches the database, which the host alone writes.
 */

interface Channel {
  send(message: WorkerMessage): Promise<void>;
  onMessage(handler: (message: unknown) => void): void;
}

/**
 * A batch job on a cluster node reads its start message from the payload file and appends its
 * messages to the event file; a cancel arrives as SIGTERM (scancel, which Slurm follows with
 * SIGKILL after its KillWait).
 */
function fileChannel(job: string, events: string): Channel {
  const writer = eventFileWriter(events);
  return {
    send: async (m) => writer.append(m),
    onMessage: (h) => {
      process.on('SIGTERM', () => h({ type: 'cancel' }));
      setImmediate(() => {
        let start: unknown;
        try {
          start = hostMessageSchema.parse(JSON.parse(readFileSync(job, 'utf8')));
        } catch (err) {
          writer.append({
            type: 'error',
            error: { message: `unreadable job payload ${job}: ${errorMessage(err)}` },
          });
          process.exit(1);
        }
        h(start);
      });
    },
  };
}

/** Electron utility processes talk over process.parentPort; forked Node processes over process.send. */
function channel(): Channel {
  const { values } = parseArgs({
    options: { job: { type: 'string' }, events: { type: 'string' } },
    strict: false,
  });
  if (typeof values.job === 'string' && typeof values.events === 'string')
    return fileChannel(values.job, values.events);
  const parentPort = (
    process as {
      parentPort?: {
        postMessage(m: unknown): void;
        on(e: 'message', h: (e: { data: unknown }) => void): void;
      };
    }
  ).parentPort;
  if (parentPort) {
    return {
      send: async (m) => parentPort.postMessage(m),
      onMessage: (h) => parentPort.on('message', (e) => h(e.data)),
    };
  }
  if (!process.send) throw new Error('the job worker must be started by a job host');
  return {
    send: (m) => new Promise<void>((resolve) => process.send!(m, undefined, {}, () => resolve())),
    onMessage: (h) => process.on('message', h),
  };
}

const io = channel();

/** Sends the job's error to the host: a full disk or a read-only folder is said plainly. */
async function reportError(err: unknown): Promise<void> {
  const storage = storageError(err);
  const error = serializeError(err);
  await io.send({ type: 'error', error: storage ? { ...error, message: storage.message } : error });
}

// Whatever kills this process, the host hears why (not only stderr, which nobody reads).
reportFatalErrors((err) => reportError(explainEngineError(err)));
// A worker whose host has gone has nobody to report to: stop rather than train unobserved.
process.on('disconnect', () => process.exit(1));
let cancelled = false;
let started = false;

async function run(start: Extract<HostMessage, { type: 'start' }>): Promise<void> {
  tf.enableProdMode();
  const selection = await selectBackend(start.backend);
  const job = start.job;
  const threads =
    job.kind === 'train' && rung(selection.engine.backend).dataParallel ? job.threads : undefined;
  await io.send({
    type: 'started',
    pid: process.pid,
    // 'XNNPACK SIMD, 2 threads': the run's engine line says how many threads it trains on.
    engine: { ...selection.engine, detail: selection.engine.detail + threadsNote(threads) },
    skipped: selection.skipped,
    ...(threads ? { threads } : {}),
  });
  const config = validateRunConfig(job.config);
  if (job.kind === 'train') {
    const status = await runTraining({
      config,
      dataset: job.dataset,
      runDir: job.runDir,
      resumeFrom: job.resumeFrom,
      threads: threads ?? 1,
      emit: (m) => void io.send(m),
      cancelled: () => cancelled,
    });
    checkEngine();
    await io.send({ type: 'done', status });
  } else {
    const emit = (m: WorkerMessage) => void io.send(m);
    switch (job.kind) {
      case 'eval':
        await runEvaluation({ ...job, config, emit });
        break;
      case 'features':
        await runFeatureExtraction({ ...job, config }, emit);
        break;
      case 'embed':
        await runEmbedding({ ...job, config }, emit);
        break;
      case 'analysis':
        await runAnalysis({ ...job, config }, emit);
        break;
    }
    // A device that failed during the job leaves results that cannot be trusted.
    checkEngine();
    await io.send({ type: 'done', status: 'completed' });
  }
}

/** The job's batch size, for advice after running out of GPU memory. */
function batchOf(message: Extract<HostMessage, { type: 'start' }>): number | undefined {
  const batch = (message.job.config as { batchSize?: unknown }).batchSize;
  return typeof batch === 'number' ? batch : undefined;
}

io.onMessage((raw) => {
  const parsed = hostMessageSchema.safeParse(raw);
  if (!parsed.success) return; // only the host talks to us; ignore anything else
  const message = parsed.data;
  if (message.type === 'cancel') {
    cancelled = true;
    return;
  }
  if (started) return;
  started = true;
  run(message)
    .then(() => process.exit(0))
    .catch(async (err: unknown) => {
      // A GPU that was lost or ran out of memory is the reason, not the error it led to.
      await reportError(explainEngineError(err, batchOf(message)));
      process.exit(1);
    });
});
