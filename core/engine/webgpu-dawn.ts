import { execFile } from 'node:child_process';
import type { GpuAdapterInfo } from '../schema/backends.js';
import { errorMessage } from '../util/errors.js';
import { compiledModulePath, unpackedPath } from '../util/module-path.js';

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

/** How a child process ended: its exit code or signal, and what it printed. */
export interface ChildOutcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `script` with this process's Node (Electron's, as Node) and collects what it printed. */
function runScript(script: string, timeoutMs: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script],
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: string; killed?: boolean }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
          timedOut: e?.killed === true && e.signal === 'SIGTERM',
        });
      },
    );
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Reads the adapter list from the lister's output, or throws why there is none. */
export function parseAdapterList(out: ChildOutcome, timeoutMs: number): GpuAdapterInfo[] {
  if (out.timedOut)
    throw new Error(`listing the WebGPU adapters took over ${timeoutMs / 1000} s; gave up`);
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  const parsed = parseJson(line) as { adapters?: GpuAdapterInfo[]; error?: string } | null;
  if (parsed?.error) throw new Error(parsed.error);
  if (Array.isArray(parsed?.adapters)) return parsed.adapters;
  const how = out.signal ? `was killed by ${out.signal}` : `exited with code ${out.code}`;
  const said = out.stderr.trim().split('\n').at(-1);
  throw new Error(`listing the WebGPU adapters ${how}${said ? `: ${said}` : ''}`);
}

/**
 * The adapters Dawn offers, listed in a child process (engine/webgpu-list.ts says why), so that
 * probing the engines prints nothing and survives a driver that crashes.
 */
export async function listAdaptersApart(
  run: (script: string, timeoutMs: number) => Promise<ChildOutcome> = runScript,
  timeoutMs = 30_000,
): Promise<GpuAdapterInfo[]> {
  const script = unpackedPath(compiledModulePath(import.meta.url, './webgpu-list.js'));
  return parseAdapterList(await run(script, timeoutMs), timeoutMs);
}
