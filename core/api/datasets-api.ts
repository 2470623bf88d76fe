import { randomUUID } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DATASET_FILES } from '../data/cache.js';
import { importDataset } from '../data/import.js';
import { statsFromJson } from '../data/stats.js';
import {
  datasetClasses,
  datasetSkipped,
  findDataset,
  listDatasets,
  pageImages,
  type DatasetRow,
} from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { removeDataset } from '../store/manage.js';
import { errorMessage, NotFoundError, RefusedError, UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import type { PushEvent } from './contract.js';
import type { Handlers } from './dispatch.js';
import { Throttled } from './events.js';

/** A dataset by id (never by name, as the CLI's findDataset also allows). */
export function requireDataset(db: Db, id: number): DatasetRow {
  const row = findDataset(db, id);
  if (!row || row.id !== id) throw new NotFoundError(`no dataset ${id}`);
  return row;
}

const nameTaken = (db: Db, name: string) =>
  db.prepare('SELECT 1 FROM datasets WHERE name = ?').get(name) !== undefined;

/** A folder the host can list and read, or a UserError saying why not. */
function requireFolder(given: string): string {
  const folder = path.resolve(given);
  let isDir: boolean;
  try {
    isDir = statSync(folder).isDirectory();
  } catch {
    throw new UserError(`there is no folder ${given}`);
  }
  if (!isDir) throw new UserError(`${given} is not a folder`);
  try {
    accessSync(folder, constants.R_OK | constants.X_OK);
  } catch {
    throw new UserError(`the folder ${given} cannot be read (permission denied)`);
  }
  return folder;
}

/** Dataset methods: listing, details, image pages, host-side imports, removal, the picker. */
export function datasetsApi(ctx: ServiceContext, imports: Set<string>) {
  const { db } = ctx.wb;
  const progress = new Throttled<string, PushEvent>(250, (e) => ctx.emit(e));

  const handlers: Pick<
    Handlers,
    | 'listDatasets'
    | 'getDataset'
    | 'datasetImages'
    | 'importDataset'
    | 'removeDataset'
    | 'pickFolder'
  > = {
    listDatasets: () => listDatasets(db),

    getDataset: ({ id }) => {
      const dataset = requireDataset(db, id);
      let stats: { meanPixel: number[]; eigenvalues: number[] } = {
        meanPixel: [],
        eigenvalues: [],
      };
      try {
        const file = path.join(ctx.wb.paths.dataset(id), DATASET_FILES.stats);
        stats = statsFromJson(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        // A cache folder deleted by hand: the row is still worth showing.
      }
      return {
        dataset,
        classes: datasetClasses(db, id),
        skipped: datasetSkipped(db, id),
        meanPixel: [...stats.meanPixel],
        eigenvalues: [...stats.eigenvalues],
      };
    },

    datasetImages: ({ id, split, label, offset, limit, random }) => {
      requireDataset(db, id);
      const names = datasetClasses(db, id).map((c) => c.name);
      const page = pageImages(db, id, {
        split,
        label,
        offset: offset ?? 0,
        limit: limit ?? 100,
        random: random ?? false,
      });
      return {
        total: page.total,
        items: page.items.map((img) => ({
          datasetId: id,
          idx: img.idx,
          split: img.split,
          label: img.label,
          className: names[img.label] ?? `class ${img.label}`,
        })),
      };
    },

    importDataset: ({ path: given, name, ...options }) => {
      const folder = requireFolder(given);
      if (nameTaken(db, name) || imports.has(name))
        throw new RefusedError(`a dataset named '${name}' already exists or is being imported`);
      const importId = randomUUID();
      imports.add(name);
      // sharp decodes on libuv's threads, so the host keeps answering while this runs. close()
      // does not wait for an import: one cut short by the closed database reports it failed.
      void importDataset(
        db,
        folder,
        {
          name,
          ...options,
          onProgress: (done, total) =>
            progress.push(importId, { type: 'import-progress', importId, done, total }),
        },
        ctx.wb.paths,
      )
        .then(
          (result) => {
            progress.drop(importId, true);
            ctx.emit({
              type: 'import-done',
              importId,
              datasetId: result.id,
              error: null,
              skipped: result.skipped,
            });
            ctx.emit({ type: 'datasets-changed' });
          },
          (err: unknown) => {
            progress.drop(importId);
            if (!(err instanceof UserError)) console.error('svw: import failed:', err);
            const error = errorMessage(err);
            ctx.emit({ type: 'import-done', importId, datasetId: null, error, skipped: [] });
          },
        )
        .finally(() => imports.delete(name));
      return { importId };
    },

    removeDataset: ({ id }) => {
      const row = requireDataset(db, id);
      removeDataset(ctx.wb, row);
      ctx.emit({ type: 'datasets-changed' });
      return { ok: true };
    },

    pickFolder: async ({ title }) => {
      if (!ctx.options.pickFolder)
        throw new RefusedError('only the desktop app has a folder picker');
      return { path: await ctx.options.pickFolder(title) };
    },
  };
  return handlers;
}
