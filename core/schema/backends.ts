import { z } from 'zod';

/**
 * The engine ladder's rungs, fastest first: `auto` takes the first that loads. Each name has its
 * module in core/engine/ (listed in core/engine/backends.ts). The names live here, at the bottom
 * layer, because job messages carry them across process boundaries.
 */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export const backendChoiceSchema = z.enum(['auto', ...BACKENDS]);
