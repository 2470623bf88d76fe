import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileFeatures, requireRun, startIndexBuild } from '../jobs/launch.js';
import { inferenceMemoryBytes } from '../jobs/memory.js';
import { FEATURE_BATCH } from '../retrieval/feature-job.js';
import type { RunConfig } from '../schema/run-config.js';
import { resolveCheckpoint } from '../train/checkpoint.js';
import { nearestImages, requireCurrentGallery, storedImageFeatures } from '../retrieval/query.js';
import { datasetClasses, findImage } from '../store/datasets.js';
import { findIndex, getIndex, runIndexes, type FeatureIndexRow } from '../store/indexes.js';
import type { RunRow } from '../store/runs.js';
import { datasetImagePng } from './resources.js';
import { errorMessage, NotFoundError, RefusedError, UserError } from '../util/errors.js';
import type { ServiceContext } from './context.js';
import type { SearchResult } from './contract.js';
import type { Handlers } from './dispatch.js';

const MAX_QUERY_BYTES = 20 * 1024 * 1024;

/** A dropped file's bytes, checked for size. */
function decodeQuery(name: string, base64: string): Buffer {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new UserError(`${name} is empty (or not base64)`);
  if (bytes.length > MAX_QUERY_BYTES) throw new UserError(`${name} is larger than 20 MB`);
  return bytes;
}

/** Retrieval methods: a run's feature indexes, building one in a worker, and searching one. */
export function retrievalApi(ctx: ServiceContext) {
  const { db } = ctx.wb;
  const building = new Set<string>();

  /**
   * Features of image bytes, computed in a worker from the gallery's checkpoint: written to a
   * temporary folder of their own, named `name` in any error, and removed afterwards.
   */
  async function embedBytes(
    run: RunRow,
    gallery: FeatureIndexRow,
    bytes: Uint8Array,
    name: string,
  ) {
    // Refused now rather than after waiting for a slot.
    requireCurrentGallery(ctx.wb, run, gallery);
    // Only a plain extension survives from the given name, so it cannot steer the path.
    const ext = /\.[a-z0-9]{1,5}$/i.exec(name)?.[0] ?? '';
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svw-query-'));
    const file = path.join(dir, `query${ext}`);
    try {
      writeFileSync(file, bytes);
      // An embedding is a job like any other: it waits for a slot of the scheduler.
      const config = JSON.parse(run.config) as RunConfig;
      const slot = await ctx.track(ctx.scheduler.acquire(inferenceMemoryBytes(config, 1)));
      try {
        return await ctx.track(
          fileFeatures(ctx.wb, ctx.options.jobHost, run, gallery, file, {
            backend: ctx.backend,
            gpu: slot.gpu,
          }),
        );
      } finally {
        slot.release();
      }
    } catch (err) {
      if (err instanceof UserError) throw new UserError(err.message.replaceAll(file, name));
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * A dataset image's features: stored in one of the run's indexes, or else computed from its
   * cached pixels (a val image queried against a train gallery, as in the paper's Figure 4).
   */
  async function imageFeatures(run: RunRow, gallery: FeatureIndexRow, idx: number) {
    const stored = storedImageFeatures(ctx.wb, run, gallery, idx);
    if (stored) return stored;
    const image = await datasetImagePng(ctx.wb, run.datasetId!, idx);
    if (!image) throw new NotFoundError(`image ${idx} is not in the index's dataset`);
    return embedBytes(run, gallery, image.body, `dataset image ${idx}.png`);
  }

  const handlers: Pick<Handlers, 'listIndexes' | 'buildIndex' | 'search'> = {
    listIndexes: ({ runId }) => {
      requireRun(ctx.wb, runId);
      return runIndexes(db, runId);
    },

    buildIndex: ({ runId, checkpoint, split }) => {
      const run = requireRun(ctx.wb, runId);
      const key = `${runId}/${checkpoint}/${split}`;
      // Two builds of one index would write the same files.
      if (building.has(key))
        throw new RefusedError(`the ${split} index of run ${runId} is already being built`);
      // What would stop the build is said now, before it waits for a slot.
      resolveCheckpoint(ctx.wb.paths.run(run.id), checkpoint);
      if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
      let failure: string | null = null;
      building.add(key);
      let kill = () => {};
      const untrack = ctx.onClose(() => kill());
      // Waits for a slot of the scheduler, like training runs; refused at once if it cannot start.
      const started = ctx.scheduler.run(
        inferenceMemoryBytes(JSON.parse(run.config) as RunConfig, FEATURE_BATCH),
        (slot) =>
          startIndexBuild(
            ctx.wb,
            ctx.options.jobHost,
            run,
            { checkpoint, split },
            {
              backend: ctx.backend,
              gpu: slot.gpu,
              onMessage: (m) => {
                if (m.type === 'error') failure = m.error.message;
              },
            },
          ),
      );
      void ctx.track(
        started
          .then((job) => {
            kill = () => job.kill();
            return job.done;
          })
          .catch((err: unknown) => {
            failure = errorMessage(err);
            return 'failed' as const;
          })
          .then((status) => {
            untrack();
            building.delete(key);
            const row =
              status === 'completed' ? findIndex(db, runId, split, checkpoint) : undefined;
            ctx.emit({
              type: 'index-done',
              runId,
              indexId: row?.id ?? null,
              error: row ? null : (failure ?? `building the ${split} index ${status}`),
            });
          }),
      );
      return { ok: true };
    },

    search: async ({ indexId, query, k, metric = 'euclidean' }): Promise<SearchResult> => {
      const gallery = getIndex(db, indexId);
      if (!gallery) throw new NotFoundError(`no feature index ${indexId}`);
      const run = requireRun(ctx.wb, gallery.runId);
      if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
      let features: Float32Array;
      let label: number | null = null;
      let imageIdx: number | null = null;
      if (query.kind === 'image') {
        const image = findImage(db, run.datasetId, query.imageIdx);
        if (!image)
          throw new NotFoundError(`image ${query.imageIdx} is not in the index's dataset`);
        features = await imageFeatures(run, gallery, image.idx);
        ({ label, idx: imageIdx } = image);
      } else {
        features = await embedBytes(
          run,
          gallery,
          decodeQuery(query.name, query.base64),
          query.name,
        );
      }
      const hits = await nearestImages(ctx.wb, run, gallery, features, k, metric, imageIdx);
      const classes = datasetClasses(db, run.datasetId).map((c) => c.name);
      const same = hits.filter((h) => h.image.label === label).length;
      return {
        query: { imageIdx, label, className: label === null ? null : (classes[label] ?? null) },
        neighbours: hits.map((h) => ({
          datasetId: run.datasetId!,
          idx: h.image.idx,
          split: h.image.split,
          label: h.image.label,
          className: h.className,
          distance: h.distance,
          sameClass: label === null ? null : h.image.label === label,
        })),
        precisionAtK: label === null || hits.length === 0 ? null : same / hits.length,
        metric,
      };
    },
  };
  return handlers;
}
