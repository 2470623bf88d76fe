import cliProgress from 'cli-progress';
import {
  describeSelection,
  selectBackend,
  type BackendChoice,
  type EngineSelection,
  type SelectionReport,
} from '../engine/backends.js';
import * as tf from '@tensorflow/tfjs-core';

/** Options every command accepts. */
export interface CommonOptions {
  json?: boolean;
  backend?: BackendChoice;
  verbose?: boolean;
}

/** Machine-readable output goes to stdout as one JSON document. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Status lines go to stderr so stdout stays clean for results. */
export function note(line: string): void {
  process.stderr.write(line + '\n');
}

/** Selects the engine and reports the choice (and why faster backends were skipped) on stderr. */
export async function startEngine(choice: BackendChoice = 'auto'): Promise<EngineSelection> {
  tf.enableProdMode();
  const selection = await selectBackend(choice);
  noteEngine(selection);
  return selection;
}

/**
 * The engine a job chose and why each faster one was skipped, as status lines on stderr (with
 * `--json` too): from this process's selection or a worker's `started` report.
 */
export function noteEngine(selection: SelectionReport, prefix = ''): void {
  for (const line of describeSelection(selection)) note(prefix + line);
}

/** A progress bar on stderr when it is a terminal; silent otherwise (logs, pipes, tests). */
export function progressBar(
  label: string,
  total: number,
): { update(done: number, total?: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, newTotal) => {
      if (!started) bar.start(newTotal ?? total, 0);
      else if (newTotal !== undefined && newTotal !== bar.getTotal()) bar.setTotal(newTotal);
      started = true;
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
