import { Option, type Command } from 'commander';
import { DEFAULT_VAL_SPLIT, importDataset } from '../../data/import.js';
import type { LabelSource } from '../../data/scan.js';
import { summarizeSkips } from '../../schema/skip-reasons.js';
import { datasetClasses, datasetSkipped, findDataset, listDatasets } from '../../store/datasets.js';
import { removeDataset } from '../../store/manage.js';
import { openWorkbench, withWorkbench } from '../../store/workbench.js';
import { UserError } from '../../util/errors.js';
import { note, printJson, progressBar, type CommonOptions } from '../output.js';
import { parseFraction, parseIntOption, parsePositiveInt } from '../parse.js';

interface ImportFlags extends CommonOptions {
  name: string;
  size?: number;
  valSplit?: number;
  seed: number;
  maxPerClass?: number;
  labels: LabelSource;
}

function requireDataset(db: Parameters<typeof findDataset>[0], idOrName: string) {
  const row = findDataset(db, idOrName);
  if (!row) throw new UserError(`no dataset '${idOrName}'`, 'svw dataset list shows the datasets');
  return row;
}

/** Skipped files `svw dataset show` lists without --all. */
const SHOWN_SKIPS = 50;

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('import and manage image datasets');

  dataset
    .command('import')
    .description(
      'import an image folder (ImageFolder, train/val folders, or CIFAR-10 binary batches)',
    )
    .argument('<dir>', 'folder to import')
    .requiredOption('--name <name>', 'dataset name')
    .option(
      '--size <px>',
      'side of the cached square images (default 256, or the images’ own size when smaller)',
      parsePositiveInt,
    )
    .option(
      '--val-split <fraction>',
      `fraction of each class held out for validation (default ${DEFAULT_VAL_SPLIT})`,
      parseFraction,
    )
    .option('--seed <n>', 'seed for the split and for --max-per-class sampling', parseIntOption, 0)
    .option('--max-per-class <m>', 'keep at most M images per class (and split)', parsePositiveInt)
    .addOption(
      new Option(
        '--labels <source>',
        'class of each image: its class folder, or its file name (cat_012.jpg → cat)',
      )
        .choices(['folders', 'filename'])
        .default('folders'),
    )
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: ImportFlags) => {
      const wb = openWorkbench();
      const bar = progressBar('decoding', 0);
      try {
        const started = performance.now();
        const result = await importDataset(wb.db, dir, {
          name: opts.name,
          size: opts.size,
          valSplit: opts.valSplit,
          seed: opts.seed,
          maxPerClass: opts.maxPerClass,
          labels: opts.labels,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.stop();
        const seconds = (performance.now() - started) / 1000;
        if (opts.json) {
          return printJson({
            id: result.id,
            name: result.name,
            classes: result.classes,
            counts: result.counts,
            skipped: result.skipped,
          });
        }
        const total = result.counts.train + result.counts.val;
        note(
          `imported '${result.name}' (id ${result.id}): ${result.classes.length} classes, ${result.counts.train} train + ${result.counts.val} val images at ${result.imageSize}×${result.imageSize}, ${result.layout} layout, in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} images/s)`,
        );
        if (result.skipped.length)
          note(
            `skipped ${result.skipped.length}: ${summarizeSkips(result.skipped)} (every one with --json or svw dataset show --all)`,
          );
      } finally {
        bar.stop();
        wb.close();
      }
    });

  dataset
    .command('list')
    .description('list imported datasets')
    .option('--json', 'machine-readable output')
    .action((opts: CommonOptions) =>
      withWorkbench((wb) => {
        const rows = listDatasets(wb.db);
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return note('no datasets yet: svw dataset import DIR --name NAME');
        for (const r of rows) {
          process.stdout.write(
            `${String(r.id).padStart(4)}  ${r.name.padEnd(24)} ${String(r.classCount).padStart(5)} classes ${String(r.trainCount).padStart(8)} train ${String(r.valCount).padStart(7)} val  ${r.imageSize}px  ${r.layout}\n`,
          );
        }
      }),
    );

  dataset
    .command('show')
    .description('show a dataset: classes, counts, statistics and skipped files')
    .argument('<dataset>', 'dataset id or name')
    .option('--all', `list every skipped file (the first ${SHOWN_SKIPS} otherwise)`)
    .option('--json', 'machine-readable output (every skipped file)')
    .action((idOrName: string, opts: CommonOptions & { all?: boolean }) =>
      withWorkbench((wb) => {
        const row = requireDataset(wb.db, idOrName);
        const classes = datasetClasses(wb.db, row.id);
        const skipped = datasetSkipped(wb.db, row.id);
        if (opts.json) return printJson({ ...row, classes, skipped });
        const lines = [
          `${row.name} (id ${row.id}), imported ${row.createdAt} from ${row.sourcePath}`,
          `  ${row.layout} layout, ${row.imageSize}×${row.imageSize} images, ${row.trainCount} train + ${row.valCount} val, seed ${row.seed}`,
          `  fingerprint ${row.fingerprint.slice(0, 16)}…`,
          '  classes:',
          ...classes.map(
            (c) =>
              `    ${String(c.idx).padStart(4)} ${c.name.padEnd(24)} ${String(c.trainCount).padStart(7)} train ${String(c.valCount).padStart(6)} val`,
          ),
          skipped.length
            ? `  skipped ${skipped.length}: ${summarizeSkips(skipped)}`
            : '  nothing skipped',
          ...skipped
            .slice(0, opts.all ? undefined : SHOWN_SKIPS)
            .map((s) => `    ${s.reason}: ${s.path}${s.detail ? ` (${s.detail})` : ''}`),
        ];
        if (!opts.all && skipped.length > SHOWN_SKIPS)
          lines.push(`    … and ${skipped.length - SHOWN_SKIPS} more (--all lists them all)`);
        process.stdout.write(lines.join('\n') + '\n');
      }),
    );

  dataset
    .command('remove')
    .description('remove a dataset and its cached images (the source folder is not touched)')
    .argument('<dataset>', 'dataset id or name')
    .option('--json', 'machine-readable output')
    .action((idOrName: string, opts: CommonOptions) =>
      withWorkbench((wb) => {
        const row = requireDataset(wb.db, idOrName);
        removeDataset(wb, row);
        if (opts.json) return printJson({ removed: row.id, name: row.name });
        note(`removed dataset '${row.name}' (id ${row.id})`);
      }),
    );
}
