import { rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { BackendChoice } from '../../engine/backends.js';
import { forkJobHost } from '../../jobs/hosts/fork.js';
import { fileFeatures, requireRun, startIndexBuild } from '../../jobs/launch.js';
import {
  currentCheckpoint,
  datasetImageFeatures,
  isCurrent,
  nearestImages,
  requireIndex,
  sameNetwork,
  staleReason,
} from '../../retrieval/query.js';
import { precisionAtK, readIndexIds } from '../../retrieval/retrieval-eval.js';
import { normsPath } from '../../retrieval/gallery-norms.js';
import { FeatureIndex, writeFloat16Copy, type Metric } from '../../retrieval/search.js';
import { datasetClasses, datasetImages } from '../../store/datasets.js';
import { findIndex, upsertIndex, type FeatureIndexRow } from '../../store/indexes.js';
import { insertMetrics, runCheckpoints, type RunRow } from '../../store/runs.js';
import { openWorkbench, type Workbench } from '../../store/workbench.js';
import type { CheckpointKind } from '../../train/checkpoint.js';
import { UserError } from '../../util/errors.js';
import { note, noteEngine, printJson, progressBar, type CommonOptions } from '../output.js';
import { addBackendOption, parsePositiveInt } from '../parse.js';

type Split = 'train' | 'val' | 'all';

function checkpointOption() {
  return new Option('--checkpoint <which>', 'checkpoint').choices(['best', 'last']).default('best');
}

/** Builds an index in a worker, with a progress bar; returns its row. */
async function buildIndex(
  wb: Workbench,
  run: RunRow,
  split: Split,
  checkpoint: CheckpointKind,
  backend: BackendChoice,
): Promise<FeatureIndexRow> {
  const bar = progressBar(`fc7 features (${split})`, 0);
  const job = startIndexBuild(
    wb,
    forkJobHost,
    run,
    { checkpoint, split },
    {
      backend,
      onMessage: (m) => {
        if (m.type === 'started') noteEngine(m);
        if (m.type === 'progress') bar.update(m.batch, m.batches);
      },
    },
  );
  const status = await job.done;
  bar.stop();
  const row = findIndex(wb.db, run.id, split, checkpoint);
  if (status !== 'completed' || !row)
    throw new UserError(
      `building the ${split} index of run ${run.id} failed; see svw runs show ${run.id}`,
    );
  return row;
}

export function registerRetrieval(program: Command): void {
  const index = program
    .command('index')
    .description('fc7 feature indexes for nearest-neighbour retrieval');
  addBackendOption(index.command('build'))
    .description(
      "extract 4096-d fc7 features (post-ReLU) of a dataset split with a run's checkpoint",
    )
    .argument('<run>', 'run id')
    .addOption(
      new Option('--split <split>', 'dataset split')
        .choices(['train', 'val', 'all'])
        .default('train'),
    )
    .addOption(checkpointOption())
    .option(
      '--float16',
      'store features as float16: half the disk and memory, near-identical neighbours',
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        runArg: string,
        opts: CommonOptions & {
          split: Split;
          checkpoint: CheckpointKind;
          backend: BackendChoice;
          float16?: boolean;
        },
      ) => {
        const wb = openWorkbench();
        try {
          let row = await buildIndex(
            wb,
            requireRun(wb, runArg),
            opts.split,
            opts.checkpoint,
            opts.backend,
          );
          if (opts.float16) row = toFloat16(wb, row);
          if (opts.json) return printJson(row);
          note(
            `indexed ${row.count} ${row.split} images × ${row.dims} fc7 features (${row.dtype}, epoch ${row.checkpointEpoch} ${row.checkpoint} checkpoint) → ${row.path}`,
          );
        } finally {
          wb.close();
        }
      },
    );

  addBackendOption(program.command('search'))
    .description("find a query image's nearest neighbours by fc7 features (the paper's Figure 4)")
    .argument('<run>', 'run id')
    .option('--image <file>', 'query image file (preprocessed like the dataset)')
    .option('--dataset-image <id>', 'query by dataset image id', parsePositiveIntOrZero)
    .option('-k <n>', 'neighbours to return', parsePositiveInt, 8)
    .addOption(
      new Option('--metric <metric>', 'distance')
        .choices(['euclidean', 'cosine'])
        .default('euclidean'),
    )
    .addOption(
      new Option('--split <split>', 'gallery split')
        .choices(['train', 'val', 'all'])
        .default('train'),
    )
    .addOption(
      new Option('--checkpoint <which>', 'checkpoint of the index').choices(['best', 'last']),
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        runArg: string,
        opts: CommonOptions & {
          image?: string;
          datasetImage?: number;
          k: number;
          metric: Metric;
          split: Split;
          checkpoint?: CheckpointKind;
          backend: BackendChoice;
        },
      ) => {
        if ((opts.image === undefined) === (opts.datasetImage === undefined))
          throw new UserError('give one query: --image FILE or --dataset-image ID');
        const wb = openWorkbench();
        try {
          const run = requireRun(wb, runArg);
          const gallery = requireIndex(wb, run, opts.split, opts.checkpoint);
          const exclude = opts.datasetImage ?? null;
          const query =
            opts.image !== undefined
              ? await fileFeatures(wb, forkJobHost, run, gallery, opts.image, {
                  backend: opts.backend,
                  onMessage: (m) => {
                    if (m.type === 'started') noteEngine(m);
                  },
                })
              : datasetImageFeatures(wb, run, gallery, opts.datasetImage!);
          const hits = await nearestImages(wb, run, gallery, query, opts.k, opts.metric, exclude);
          const neighbors = hits.map((h) => ({
            imageId: h.image.idx,
            path: h.image.path,
            label: h.className,
            distance: h.distance,
          }));
          const images = new Map(datasetImages(wb.db, run.datasetId!).map((i) => [i.idx, i]));
          const classes = datasetClasses(wb.db, run.datasetId!).map((c) => c.name);
          const queryInfo =
            opts.image !== undefined
              ? { image: opts.image }
              : {
                  imageId: exclude,
                  path: images.get(exclude!)?.path,
                  label: classes[images.get(exclude!)?.label ?? -1],
                };
          if (opts.json) return printJson({ query: queryInfo, neighbors });
          process.stdout.write(
            [
              `query: ${opts.image ?? `dataset image ${exclude} (${queryInfo.label})`}`,
              ...neighbors.map(
                (n, i) =>
                  `  ${String(i + 1).padStart(2)}. ${n.distance.toFixed(3).padStart(10)}  ${n.label.padEnd(16)} ${n.path}`,
              ),
            ].join('\n') + '\n',
          );
        } finally {
          wb.close();
        }
      },
    );

  addBackendOption(program.command('retrieval-eval'))
    .description(
      'precision@k of fc7 retrieval: val images against the train gallery, stored as run metrics',
    )
    .argument('<run>', 'run id')
    .option('--k <list>', 'comma-separated k values', parseKs, [1, 5, 10])
    .addOption(checkpointOption())
    .option('--json', 'machine-readable output')
    .action(
      async (
        runArg: string,
        opts: CommonOptions & { k: number[]; checkpoint: CheckpointKind; backend: BackendChoice },
      ) => {
        const wb = openWorkbench();
        try {
          const run = requireRun(wb, runArg);
          // Both indexes must hold the features of the checkpoint as it is now: one built from an
          // earlier checkpoint of the same kind is built again.
          const now = currentCheckpoint(wb, run, opts.checkpoint);
          const get = async (split: 'train' | 'val') => {
            const found = findIndex(wb.db, run.id, split, opts.checkpoint);
            if (found && isCurrent(found, now)) return found;
            note(
              found
                ? `${staleReason(run, found, now)}: building it again…`
                : `building the ${split} index first…`,
            );
            return buildIndex(wb, run, split, opts.checkpoint, opts.backend);
          };
          const train = await get('train');
          const val = await get('val');
          if (!sameNetwork(train, val))
            throw new UserError(
              `run ${run.id}'s ${opts.checkpoint} checkpoint changed while its indexes were being built`,
              'run svw retrieval-eval again',
            );
          if (val.count === 0) throw new UserError("the run's dataset has no validation images");
          const labelOf = new Map(
            datasetImages(wb.db, run.datasetId!).map((i) => [i.idx, i.label]),
          );
          const labels = (ids: number[]) => ids.map((id) => labelOf.get(id)!);
          const precision = precisionAtK(
            { path: train.path, labels: labels(readIndexIds(train.idsPath)) },
            { path: val.path, labels: labels(readIndexIds(val.idsPath)) },
            opts.k,
          );
          const step =
            runCheckpoints(wb.db, run.id).find((c) => c.kind === opts.checkpoint)?.step ?? 0;
          insertMetrics(
            wb.db,
            run.id,
            opts.k.map((k) => ({
              key: `retrieval_p_at_${k}`,
              step,
              epoch: train.checkpointEpoch,
              value: precision[k]!,
              wallTime: Date.now() / 1000,
            })),
          );
          const result = {
            runId: run.id,
            checkpoint: opts.checkpoint,
            queries: val.count,
            gallery: train.count,
            precision: Object.fromEntries(opts.k.map((k) => [`p@${k}`, precision[k]])),
          };
          if (opts.json) return printJson(result);
          note(
            `retrieval of ${val.count} val images among ${train.count} train images (fc7, Euclidean): ${opts.k.map((k) => `P@${k} ${(100 * precision[k]!).toFixed(1)}%`).join(', ')}`,
          );
        } finally {
          wb.close();
        }
      },
    );
}

/** Replaces a float32 index with its float16 copy (written under a temporary name first). */
function toFloat16(wb: Workbench, row: FeatureIndexRow): FeatureIndexRow {
  const half = row.path.replace(/\.npy$/, '.f16.npy');
  writeFloat16Copy(row.path, half);
  FeatureIndex.storeNorms(half);
  const { id: _id, createdAt: _createdAt, ...rest } = row;
  upsertIndex(wb.db, { ...rest, dtype: 'float16', path: half });
  rmSync(row.path, { force: true });
  rmSync(normsPath(row.path), { force: true });
  return findIndex(wb.db, row.runId, row.split, row.checkpoint)!;
}

function parsePositiveIntOrZero(value: string): number {
  if (!/^\d+$/.test(value)) throw new UserError(`expected an image id, got '${value}'`);
  return Number(value);
}

function parseKs(value: string): number[] {
  const ks = value.split(',').map((s) => Number(s.trim()));
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new UserError(`--k expects positive integers like 1,5,10`);
  return ks;
}
