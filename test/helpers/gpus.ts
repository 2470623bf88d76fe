import type { GpuDetection, GpuInfo } from '../../core/engine/system.js';

/** What a fake nvidia-smi says: null when it is not installed, else the GPUs it lists. */
export const detection = (gpus: unknown[] | null): GpuDetection =>
  gpus === null
    ? { gpus: null, problem: 'nvidia-smi is not installed (no NVIDIA driver)' }
    : { gpus: gpus as GpuInfo[], problem: null };
