import { z } from 'zod';

/**
 * What an analysis job (core/analysis) computes from a run's fc7 feature index, and the result
 * files it writes for the host to read: every file crosses a process boundary, so each has a
 * schema here.
 */
export const ANALYSIS_TASKS = ['map-pca', 'map-umap', 'label-errors', 'duplicates'] as const;
export type AnalysisTask = (typeof ANALYSIS_TASKS)[number];

/** Settings of the tasks, with their defaults. */
export const analysisOptionsSchema = z.object({
  /** Neighbours per image in the graph (label errors, duplicates; the map's UMAP uses 15). */
  k: z.number().int().min(1).max(100).default(20),
  /** Label errors: the images to score (always against the train images). */
  split: z.enum(['train', 'val', 'all']).default('train'),
  /** Near duplicates: the least fc7 cosine similarity of a candidate pair. */
  threshold: z.number().min(0).max(1).default(0.9),
  /** Near duplicates: the least similarity of their pixels (grayscale, as is or mirrored). */
  pixelThreshold: z.number().min(0).max(1).default(0.9),
});
export type AnalysisOptions = z.infer<typeof analysisOptionsSchema>;

/** The 2-D map of every indexed image, with the network's prediction for each. */
export const mapResultSchema = z.object({
  task: z.enum(['map-pca', 'map-umap']),
  /** Dataset image ids, one per point. */
  ids: z.array(z.number().int().nonnegative()),
  /** Flat [x0, y0, x1, y1, …]. */
  coords: z.array(z.number()),
  predicted: z.array(z.number().int().nonnegative()),
  /** Softmax probability of the predicted class. */
  confidence: z.array(z.number()),
  /** PCA: share of the variance each axis explains. */
  explained: z.array(z.number()).nullable(),
  seconds: z.number(),
});
export type MapResult = z.infer<typeof mapResultSchema>;

const labelErrorSchema = z.object({
  imageId: z.number().int().nonnegative(),
  label: z.number().int().nonnegative(),
  suggested: z.number().int().nonnegative(),
  score: z.number(),
  /** Share of its k nearest train neighbours with another label. */
  disagreement: z.number(),
  /** 1 − the network's softmax probability of its label. */
  otherConfidence: z.number(),
  /** Image ids of its neighbours, nearest first. */
  neighbours: z.array(z.number().int().nonnegative()),
});
export type LabelError = z.infer<typeof labelErrorSchema>;

/** The most suspicious images, most suspicious first (the rest scored lower than the last). */
export const labelErrorsResultSchema = z.object({
  task: z.literal('label-errors'),
  k: z.number().int(),
  /** Images scored. */
  scored: z.number().int().nonnegative(),
  items: z.array(labelErrorSchema),
  seconds: z.number(),
});
export type LabelErrorsResult = z.infer<typeof labelErrorsResultSchema>;

/** Pairs of copies among all images of the dataset version, by image id. */
export const duplicatesResultSchema = z.object({
  task: z.literal('duplicates'),
  threshold: z.number(),
  pixelThreshold: z.number(),
  /** Identical pixels (the same content hash). */
  exact: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** fc7 cosine and pixel similarity above their thresholds, not identical. */
  near: z.array(
    z.object({
      a: z.number().int(),
      b: z.number().int(),
      similarity: z.number(),
      pixel: z.number(),
    }),
  ),
  /** Candidate pairs fc7 proposed (above the threshold), before the pixel check. */
  candidates: z.number().int().nonnegative(),
  seconds: z.number(),
});
export type DuplicatesResult = z.infer<typeof duplicatesResultSchema>;

export type AnalysisResult = MapResult | LabelErrorsResult | DuplicatesResult;
