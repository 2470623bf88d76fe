import { existsSync, readdirSync } from 'node:fs';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildAlexNet, summarize } from '../../model/alexnet.js';
import { presetConfig, PRESET_NAMES, type ModelConfig } from '../../schema/model-config.js';
import { saveModelDir } from '../../model/io.js';
import { preprocessingFor } from '../../model/preprocessing.js';
import { applyModelSettings } from '../../schema/apply-settings.js';
import { UserError } from '../../util/errors.js';
import { addSettingsHelp } from '../settings-help.js';
import { note, printJson, startEngine, type CommonOptions } from '../output.js';
import { addBackendOption, collect, parseIntOption } from '../parse.js';

interface ModelOptions extends CommonOptions {
  preset: string;
  classes?: number;
  set: string[];
}

/** The preset with --classes and --set applied, validated. */
export function configFromOptions(opts: ModelOptions): ModelConfig {
  const settings = [...opts.set];
  if (opts.classes !== undefined) settings.push(`classes=${opts.classes}`);
  return applyModelSettings(presetConfig(opts.preset), settings);
}

function addModelOptions(cmd: Command): Command {
  return addSettingsHelp(cmd, 'model')
    .requiredOption('--preset <name>', `model preset (${PRESET_NAMES.join(', ')})`)
    .option('--classes <n>', 'number of classes', parseIntOption)
    .option(
      '--set <key=value>',
      'change a setting, e.g. lrn=off, groups=1, pool=2/2, dropout=0.3 (repeatable; all below)',
      collect,
      [],
    )
    .option('--json', 'machine-readable output');
}

export function registerModel(program: Command): void {
  const model = program.command('model').description('inspect and export AlexNet models');

  addModelOptions(
    model.command('summary').description('layers, output shapes and parameter counts'),
  ).action(async (opts: ModelOptions) => {
    const config = configFromOptions(opts);
    await tf.setBackend('cpu');
    const net = buildAlexNet(config);
    const summary = summarize(net);
    net.dispose();
    if (opts.json) return printJson(summary);
    const rows = summary.layers.map(
      (l) =>
        `  ${l.name.padEnd(8)} ${l.outputShape.join('×').padStart(12)} ${l.params.toLocaleString('en-US').padStart(12)}`,
    );
    process.stdout.write(
      [
        `${config.preset}: ${config.inputSize}×${config.inputSize}×3 input, ${config.classes} classes`,
        `  ${'layer'.padEnd(8)} ${'output'.padStart(12)} ${'params'.padStart(12)}`,
        ...rows,
        `  total ${summary.params.toLocaleString('en-US')} parameters`,
      ].join('\n') + '\n',
    );
  });

  addModelOptions(
    addBackendOption(model.command('init'))
      .description(
        'export a freshly initialised model (TF.js layers format + labels.json + preprocessing.json)',
      )
      .requiredOption('--out <dir>', 'directory to write')
      .option(
        '--seed <n>',
        'initialisation seed (same seed and backend give the same weights)',
        parseIntOption,
        0,
      )
      .option('--force', 'overwrite a model already in --out'),
  ).action(async (opts: ModelOptions & { out: string; seed: number; force?: boolean }) => {
    const config = configFromOptions(opts);
    if (existsSync(opts.out) && readdirSync(opts.out).length > 0 && !opts.force) {
      throw new UserError(`${opts.out} is not empty`, 'use --force to overwrite it');
    }
    const { engine } = await startEngine(opts.backend);
    const net = buildAlexNet(config, { seed: opts.seed });
    const labels = Array.from({ length: config.classes }, (_, i) => `class_${i}`);
    await saveModelDir(opts.out, {
      model: net,
      config,
      labels,
      preprocessing: preprocessingFor(config),
    });
    const params = net.countParams();
    net.dispose();
    if (opts.json)
      return printJson({
        out: opts.out,
        preset: config.preset,
        params,
        seed: opts.seed,
        backend: engine.backend,
      });
    note(
      `wrote ${config.preset} (${params.toLocaleString('en-US')} parameters, seed ${opts.seed}) to ${opts.out}`,
    );
  });
}
