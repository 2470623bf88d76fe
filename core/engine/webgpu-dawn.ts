import type { GpuAdapterInfo } from '../schema/backends.js';
import { errorMessage } from '../util/errors.js';

/**
 * Dawn, Google's WebGPU implementation, through its Node binding (the npm `webgpu` package, a
 * prebuilt dawn.node per platform): Metal on macOS, Vulkan on Linux, D3D12 on Windows.
 */

/** The part of a WebGPU adapter the workbench reads (a structural subset of GPUAdapter). */
export interface GpuAdapter {
  readonly info: {
    vendor: string;
    architecture: string;
    description: string;
    device?: string;
    isFallbackAdapter?: boolean;
  };
  readonly features: { has(feature: string): boolean };
  readonly limits: Record<string, number | undefined>;
  requestDevice(descriptor?: {
    requiredFeatures?: string[];
    requiredLimits?: Record<string, number>;
  }): Promise<unknown>;
}

/** navigator.gpu, as Dawn's create() returns it. */
export interface Gpu {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
    forceFallbackAdapter?: boolean;
  }): Promise<GpuAdapter | null>;
}

interface DawnModule {
  create(flags: string[]): Gpu;
  globals: object;
}

let dawn: Promise<Gpu> | null = null;

/**
 * This process's Dawn instance, created once. Loading the binding also installs the WebGPU
 * constants (GPUBufferUsage, GPUMapMode…) as globals, which tfjs-backend-webgpu reads.
 */
export function dawnGpu(): Promise<Gpu> {
  dawn ??= (async () => {
    let mod: DawnModule;
    try {
      mod = (await import('webgpu')) as unknown as DawnModule;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new Error(
          /dawn\.node/.test(errorMessage(err))
            ? `the webgpu package has no dawn.node for ${process.platform}-${process.arch}`
            : 'the webgpu package (Dawn) is not installed',
          { cause: err },
        );
      }
      throw new Error(`Dawn (webgpu) failed to load: ${errorMessage(err).split('\n')[0]}`, {
        cause: err,
      });
    }
    Object.assign(globalThis, mod.globals);
    return mod.create([]);
  })();
  dawn.catch(() => (dawn = null));
  return dawn;
}

/** Software rasterisers that Dawn offers as adapters: correct, and far slower than a CPU engine. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|microsoft basic render/i;

/** An adapter as runs record it, with whether it is a software (fallback) one. */
export function adapterInfo(adapter: GpuAdapter): GpuAdapterInfo {
  const { vendor, architecture, description, device, isFallbackAdapter } = adapter.info;
  return {
    vendor: vendor || 'unknown',
    architecture: architecture || 'unknown',
    description: description || device || 'unknown',
    software:
      isFallbackAdapter === true ||
      architecture === 'software' ||
      SOFTWARE.test(`${description} ${device ?? ''}`),
  };
}

/** One line for an adapter: 'llvmpipe: Mesa 25.0.7 (mesa, software)'. */
export function describeAdapter(a: GpuAdapterInfo): string {
  const about = [a.vendor, a.architecture];
  if (a.software && a.architecture !== 'software') about.push('software');
  return `${a.description} (${about.join(', ')})`;
}

/**
 * Every adapter Dawn offers, found by asking for the fast one, the low-power one and the
 * fallback one (WebGPU has no call that lists them), without repeats.
 */
export async function listAdapters(gpu: Gpu): Promise<GpuAdapterInfo[]> {
  const found = new Map<string, GpuAdapterInfo>();
  for (const options of [
    { powerPreference: 'high-performance' as const },
    { powerPreference: 'low-power' as const },
    { forceFallbackAdapter: true },
  ]) {
    const adapter = await gpu.requestAdapter(options);
    if (!adapter) continue;
    const info = adapterInfo(adapter);
    found.set(`${info.vendor}|${info.architecture}|${info.description}`, info);
  }
  return [...found.values()];
}

/** Why Dawn found no adapter, with what to install. */
export function noAdapterReason(platform: string = process.platform): string {
  const hint =
    platform === 'linux'
      ? "install your GPU's Vulkan driver (mesa-vulkan-drivers or the vendor's), with libvulkan1"
      : platform === 'win32'
        ? 'update the GPU driver (Dawn uses Direct3D 12)'
        : 'Dawn uses Metal, which needs macOS 10.15 or newer';
  return `Dawn found no WebGPU adapter: ${hint}`;
}
