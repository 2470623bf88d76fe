import { z } from 'zod';

/**
 * The engine ladder's rungs, fastest first: `auto` takes the first that loads. Each name has its
 * module in core/engine/ (listed in core/engine/backends.ts). The names live here, at the bottom
 * layer, because job messages carry them across process boundaries.
 */
export const BACKENDS = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export const backendChoiceSchema = z.enum(['auto', ...BACKENDS]);

/** A WebGPU adapter, as every run on the webgpu rung records it and `svw doctor` lists it. */
export const gpuAdapterSchema = z.object({
  vendor: z.string(),
  architecture: z.string(),
  description: z.string(),
  /** A software (fallback) adapter such as Mesa's lavapipe: `auto` passes it over. */
  software: z.boolean(),
});
export type GpuAdapterInfo = z.infer<typeof gpuAdapterSchema>;
