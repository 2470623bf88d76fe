import type { Gpu, GpuAdapter } from '../../core/engine/webgpu-dawn.js';

export interface FakeAdapter {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter?: boolean;
  /** What requestDevice() resolves to (rejects with this Error instead). */
  opens?: unknown;
}

export const LAVAPIPE: FakeAdapter = {
  vendor: 'mesa',
  architecture: 'software',
  description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
  isFallbackAdapter: true,
};

export const RTX: FakeAdapter = {
  vendor: 'nvidia',
  architecture: 'ada-lovelace',
  description: 'NVIDIA GeForce RTX 4090',
};

/**
 * navigator.gpu over a fixed list of adapters: the first hardware one for 'high-performance',
 * the last for 'low-power', the software one for forceFallbackAdapter (as Dawn orders them).
 * Records every request.
 */
export function fakeGpu(adapters: FakeAdapter[]): Gpu & { requests: unknown[] } {
  const requests: unknown[] = [];
  const wrap = (a: FakeAdapter | undefined): GpuAdapter | null =>
    a
      ? {
          info: {
            vendor: a.vendor,
            architecture: a.architecture,
            description: a.description,
            isFallbackAdapter: a.isFallbackAdapter,
          },
          features: new Set<string>(),
          limits: { maxBufferSize: 1 << 30 },
          requestDevice: async () => {
            if (a.opens instanceof Error) throw a.opens;
            return a.opens ?? {};
          },
        }
      : null;
  return {
    requests,
    async requestAdapter(options) {
      requests.push(options);
      if (options?.forceFallbackAdapter) return wrap(adapters.find((a) => a.isFallbackAdapter));
      if (options?.powerPreference === 'low-power') return wrap(adapters.at(-1));
      return wrap(adapters[0]);
    },
  };
}
