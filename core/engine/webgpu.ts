import * as tf from '@tensorflow/tfjs-core';
import type { GpuAdapterInfo } from '../schema/backends.js';
import { errorMessage } from '../util/errors.js';
import { recordFault } from './faults.js';
import { activate, packageVersion, type Rung } from './rung.js';
import { registerWebgpuTrainingKernels } from './webgpu-kernels.js';
import { adapterInfo, describeAdapter, noAdapterReason, type GpuAdapter } from './webgpu-dawn.js';

const PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/**
 * Why the adapters found will not do: none at all, or (for `auto`) only software ones, which
 * train far slower than the CPU engines. Null when they will.
 */
export function judgeAdapters(adapters: GpuAdapterInfo[], auto: boolean): string | null {
  if (adapters.length === 0) return noAdapterReason();
  if (auto && adapters.every((a) => a.software))
    return (
      `only a software adapter (${adapters[0]!.description}), far slower than the CPU ` +
      'engines; --backend webgpu uses it anyway'
    );
  return null;
}

/** The device limits tfjs-backend-webgpu asks for: the adapter's largest, for big weight buffers. */
const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
];

interface WatchedDevice {
  lost: Promise<{ reason: string; message: string }>;
  addEventListener(
    type: 'uncapturederror',
    listener: (event: { error: { message: string; constructor: { name: string } } }) => void,
  ): void;
}

/**
 * Records the device's faults (engine/faults.ts): a loss, and uncaptured errors, which tfjs
 * never asks about (it pushes no error scopes). Running out of memory is one; a validation
 * error means the results are wrong, so it stops the job as well.
 */
export function watchDevice(device: WatchedDevice): void {
  void device.lost.then((info) => recordFault('device-lost', `${info.reason}: ${info.message}`));
  device.addEventListener('uncapturederror', ({ error }) => {
    if (error.constructor.name === 'GPUOutOfMemoryError')
      recordFault('out-of-memory', error.message);
    else recordFault('device-error', error.message);
  });
}

/**
 * Makes `gpu` navigator.gpu, which tfjs-backend-webgpu checks for: Node 20 has no navigator,
 * newer Node and Electron have one to extend, or, should it refuse, to replace.
 */
export function exposeGpu(gpu: unknown): void {
  const g = globalThis as { navigator?: object };
  try {
    if (g.navigator === undefined) throw new Error('no navigator');
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } catch {
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...g.navigator, gpu },
      configurable: true,
      writable: true,
    });
  }
}

async function openDevice(adapter: GpuAdapter): Promise<unknown> {
  const requiredLimits: Record<string, number> = {};
  for (const key of LIMITS) {
    const value = adapter.limits[key];
    if (value !== undefined) requiredLimits[key] = value;
  }
  try {
    return await adapter.requestDevice({ requiredLimits });
  } catch (err) {
    throw new Error(`the adapter would not open a device: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * A GPU through WebGPU: tfjs-backend-webgpu on Dawn (Metal, Vulkan or D3D12), so Apple, AMD,
 * Intel and NVIDIA GPUs alike. `auto` takes it only on a hardware adapter.
 */
export const webgpu: Rung<'webgpu'> = {
  name: 'webgpu',
  package: PACKAGE,
  description: 'WebGPU through Dawn',
  // One device: jobs would share it and its memory, so one at a time.
  concurrency: () => 1,
  async probe(deps, how) {
    try {
      return judgeAdapters(await deps.adapters(), how.auto);
    } catch (err) {
      return errorMessage(err).split('\n')[0]!;
    }
  },
  async load(deps, how) {
    // `auto` takes only a hardware adapter: judged from a listing made in a child process,
    // so that Dawn is loaded here (and prints its notices) only when it will be used.
    if (how.auto) {
      const reason = judgeAdapters(await deps.adapters(), true);
      if (reason !== null) throw new Error(reason);
    }
    const gpu = await deps.webgpu();
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    const info = adapter ? adapterInfo(adapter) : null;
    const reason = judgeAdapters(info ? [info] : [], how.auto);
    if (reason !== null || !adapter || !info) throw new Error(reason ?? noAdapterReason());
    const { WebGPUBackend, webgpu_util } = await import('@tensorflow/tfjs-backend-webgpu');
    registerWebgpuTrainingKernels(webgpu_util as never);
    const device = await openDevice(adapter);
    watchDevice(device as WatchedDevice);
    exposeGpu(gpu);
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend(
      'webgpu',
      () => new WebGPUBackend(device as never, adapter.info as never),
      // Below the wasm backend's priority: only an explicit choice makes tfjs use it.
      0,
    );
    await activate('webgpu');
    return {
      tfBackend: 'webgpu',
      package: PACKAGE,
      version: packageVersion(PACKAGE),
      detail: `${describeAdapter(info)}, Dawn ${packageVersion('webgpu')}`,
      adapter: info,
    };
  },
};
