import { Command, CommanderError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, errorMessage } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import { registerDataset } from './commands/dataset.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEval } from './commands/eval.js';
import { registerModel } from './commands/model.js';
import { registerPredict } from './commands/predict.js';
import { registerRetrieval } from './commands/retrieval.js';
import { registerExport, registerRuns } from './commands/runs.js';
import { registerServe } from './commands/serve.js';
import { registerTrain } from './commands/train.js';

const VERSION = '0.1.0';

function buildProgram(): Command {
  const program = new Command('svw')
    .description('SuperVision Workbench: train, track and compare AlexNet-style image classifiers')
    .version(VERSION)
    .option('--verbose', 'print stack traces for errors')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      // One line: commander's "(Did you mean --set?)" joins the error instead of following it.
      outputError: (text, write) => write(`svw: ${text.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  registerDoctor(program);
  registerEval(program);
  registerDataset(program);
  registerModel(program);
  registerPredict(program);
  registerRetrieval(program);
  registerTrain(program);
  registerRuns(program);
  registerExport(program);
  registerServe(program);
  // Every subcommand reports usage errors the same way as the root.
  for (const cmd of allCommands(program)) cmd.exitOverride().showSuggestionAfterError();
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // Production mode: no debug checks, and no "install tfjs-node" banner on stdout.
  tf.enableProdMode();
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that finished but did not succeed (e.g. a failed run) sets process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help/version text).
      return err.exitCode === 0 ? 0 : 2;
    }
    const known = err instanceof UserError ? err : storageError(err);
    if (known) {
      process.stderr.write(`svw: error: ${known.message}\n`);
      if (known.hint) process.stderr.write(`svw: hint: ${known.hint}\n`);
      if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
      return 1;
    }
    process.stderr.write(`svw: error: ${errorMessage(err).split('\n')[0]}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    else process.stderr.write('svw: (run with --verbose for details)\n');
    return 1;
  }
}
