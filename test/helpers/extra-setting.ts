import { z } from 'zod';
import { settingMeta } from '../../core/schema/setting-meta.js';

/**
 * A setting core does not have, added the way core/schema/run-config.ts says to add one: a
 * field in the run config schema with its meta, and a default for each preset. Tests use it to
 * show that a new setting reaches the API, the CLI and the New run form with no other change.
 */
export const extraField = {
  warmupEpochs: z
    .number()
    .int()
    .min(0)
    .max(50)
    .register(settingMeta, {
      group: 'schedule',
      help: 'epochs of linear learning-rate warm-up',
      unit: 'epochs',
      aliases: ['warmup'],
    }),
};

/** The extra setting's default in a preset: the paper's network warms up longer. */
export const extraDefault = (preset: string): number => (preset === 'alexnet-paper' ? 5 : 2);

/** A run config schema with the extra setting. */
export const withExtraSetting = <S extends z.ZodObject>(schema: S) => schema.extend(extraField);
