import path from 'node:path';
import type { Command } from 'commander';
import { requireReadableImages } from '../../data/probe.js';
import { extractFeatures, predictFiles } from '../../model/infer.js';
import { loadModelDir } from '../../model/io.js';
import { NpyWriter } from '../../util/npy.js';
import { UserError } from '../../util/errors.js';
import { expandImageArgs } from '../files.js';
import { note, printJson, progressBar, startEngine, type CommonOptions } from '../output.js';
import { addBackendOption, parsePositiveInt } from '../parse.js';
import { writeFileSync, renameSync } from 'node:fs';

interface PredictOptions extends CommonOptions {
  model: string;
  top: number;
  tenCrop?: boolean;
  logits?: boolean;
  batch: number;
}

interface FeaturesOptions extends CommonOptions {
  model: string;
  out: string;
  batch: number;
}

export function registerPredict(program: Command): void {
  addBackendOption(program.command('predict'))
    .description('classify images with an exported model')
    .argument('<images...>', 'image files or directories of images')
    .requiredOption(
      '--model <dir>',
      'model directory (model.json, labels.json, preprocessing.json)',
    )
    .option('--top <k>', 'how many classes to report per image', parsePositiveInt, 5)
    .option('--ten-crop', 'average softmax over 10 crops (4 corners + centre, and their flips)')
    .option('--logits', 'include the fc8 outputs')
    .option('--batch <n>', 'images per forward pass', parsePositiveInt, 32)
    .option('--json', 'machine-readable output')
    .action(async (images: string[], opts: PredictOptions) => {
      const files = expandImageArgs(images);
      await requireReadableImages(files);
      await startEngine(opts.backend);
      const bundle = await loadModelDir(opts.model);
      const bar = progressBar('predict', files.length);
      const results = await predictFiles(bundle, files, {
        top: opts.top,
        tenCrop: opts.tenCrop ?? false,
        logits: opts.logits ?? false,
        batchSize: opts.batch,
        onProgress: (done) => bar.update(done),
      });
      bar.stop();
      if (opts.json) return printJson(results);
      for (const r of results) {
        const top = r.top.map((t) => `${t.label} ${(100 * t.prob).toFixed(1)}%`).join(', ');
        process.stdout.write(`${r.image}: ${top}\n`);
        if (r.logits)
          process.stdout.write(`  logits: ${r.logits.map((v) => v.toFixed(4)).join(' ')}\n`);
      }
    });

  addBackendOption(program.command('features'))
    .description('write fc7 activations (post-ReLU) of images as a float32 .npy matrix')
    .argument('<images...>', 'image files or directories of images')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption(
      '--out <file.npy>',
      'output .npy file; the image paths go to the .json beside it',
    )
    .option('--batch <n>', 'images per forward pass', parsePositiveInt, 32)
    .option('--json', 'machine-readable output')
    .action(async (images: string[], opts: FeaturesOptions) => {
      if (path.extname(opts.out) !== '.npy')
        throw new UserError(`--out must end in .npy, got ${opts.out}`);
      const files = expandImageArgs(images);
      await requireReadableImages(files);
      await startEngine(opts.backend);
      const bundle = await loadModelDir(opts.model);
      const dims = bundle.config.fc[1];
      const listFile = opts.out.slice(0, -'.npy'.length) + '.json';
      const writer = new NpyWriter(opts.out, files.length, dims);
      const bar = progressBar('features', files.length);
      try {
        await extractFeatures(
          bundle,
          files,
          (rows, done) => {
            writer.append(rows);
            bar.update(done);
          },
          opts.batch,
        );
      } catch (err) {
        writer.abort();
        throw err;
      } finally {
        bar.stop();
      }
      writeFileSync(`${listFile}.tmp`, JSON.stringify(files, null, 2) + '\n');
      renameSync(`${listFile}.tmp`, listFile);
      writer.close();
      const summary = {
        out: opts.out,
        images: listFile,
        shape: [files.length, dims],
        dtype: 'float32',
        layer: 'fc7',
      };
      if (opts.json) return printJson(summary);
      note(
        `wrote ${files.length}×${dims} fc7 features to ${opts.out} (image paths in ${listFile})`,
      );
    });
}
