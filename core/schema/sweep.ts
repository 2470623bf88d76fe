import { z } from 'zod';

/**
 * What a sweep is asked to do, as the API takes it and the database keeps it: the settings every
 * trial shares, the space its trials are drawn from, and ASHA's early stopping.
 */

/** One swept setting: a list of values (a grid axis, or a choice), or a numeric range. */
export const dimensionSchema = z.union([
  z.strictObject({ values: z.array(z.string().min(1).max(100)).min(1).max(50) }),
  z.strictObject({
    min: z.number(),
    max: z.number(),
    /** log: log-uniform (learning rates, weight decay); linear: uniform. */
    scale: z.enum(['linear', 'log']),
    /** Whole numbers only (batch size, epochs, a seed). */
    integer: z.boolean().default(false),
  }),
]);

export const ashaSchema = z.strictObject({
  /** The metric that ranks runs at each rung, and which end of it is better. */
  metric: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .max(100)
    .default('val_top1_error'),
  mode: z.enum(['min', 'max']).default('min'),
  /** Epochs every run gets before it can be stopped (the first rung). */
  grace: z.number().int().min(1).max(10_000),
  /** Reduction factor η: each rung keeps the best 1/η, and rungs are η× further apart. */
  eta: z.number().int().min(2).max(100),
  /** Epochs of a run that is never stopped; every trial trains up to this many. */
  maxEpochs: z.number().int().min(1).max(10_000),
});

/** At most this many runs in one sweep, so that a typo cannot queue a million. */
export const MAX_SWEEP_TRIALS = 200;

export const sweepSpecSchema = z.strictObject({
  /** grid: every combination of the value lists; random: `trials` draws from the space. */
  method: z.enum(['grid', 'random']),
  /** `key=value` settings every trial shares, as `svw train --set` takes them. */
  settings: z.array(z.string().min(1).max(500)).max(200),
  space: z.record(z.string().min(1).max(200), dimensionSchema),
  trials: z.number().int().min(1).max(MAX_SWEEP_TRIALS).optional(),
  /** Seeds the random draws, so the same request makes the same trials. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  asha: ashaSchema.nullable().default(null),
});

export type Dimension = z.infer<typeof dimensionSchema>;
export type AshaConfig = z.infer<typeof ashaSchema>;
export type SweepSpec = z.infer<typeof sweepSpecSchema>;
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

/** A sweep's kind, as lists and its page show it. */
export type SweepKind = 'grid' | 'random' | 'asha' | 'ablation';
