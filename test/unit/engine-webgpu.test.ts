import { afterEach, describe, expect, it } from 'vitest';
import {
  createNodeLoaders,
  probeBackends,
  selectBackend,
  type NativeDeps,
  type ProbeDeps,
} from '../../core/engine/backends.js';
import {
  checkEngine,
  clearEngineFault,
  engineFault,
  explainEngineError,
} from '../../core/engine/faults.js';
import {
  adapterInfo,
  listAdapters,
  listAdaptersApart,
  type ChildOutcome,
} from '../../core/engine/webgpu-dawn.js';
import { exposeGpu, judgeAdapters, watchDevice } from '../../core/engine/webgpu.js';
import { UserError } from '../../core/util/errors.js';
import { rejection } from '../helpers/rejection.js';
import { fakeGpu, LAVAPIPE, RTX, type FakeAdapter } from '../helpers/fake-gpu.js';
import { fakeLibraries } from '../helpers/fake-libraries.js';
import { detection } from '../helpers/gpus.js';

/** Probe deps where every other rung is missing (no GPU, no packages) and Dawn offers `adapters`. */
function probeDeps(adapters: FakeAdapter[] | Error): ProbeDeps {
  return {
    packageDir: (pkg) => (pkg === '@tensorflow/tfjs-backend-cpu' ? '/nm/cpu' : null),
    listDir: () => [],
    detectGpus: async () => detection(null),
    adapters: async () => {
      if (adapters instanceof Error) throw adapters;
      return listAdapters(fakeGpu(adapters));
    },
    libraries: fakeLibraries(),
  };
}

function nativeDeps(adapters: FakeAdapter[]): NativeDeps {
  return {
    requireModule: (id) => {
      throw Object.assign(new Error(`no ${id}`), { code: 'MODULE_NOT_FOUND' });
    },
    detectGpus: async () => detection(null),
    webgpu: async () => fakeGpu(adapters),
    adapters: async () => listAdapters(fakeGpu(adapters)),
    libraries: fakeLibraries(),
  };
}

afterEach(() => clearEngineFault());

describe('the webgpu rung chooses adapters', () => {
  it('tells a software adapter from a hardware one, by flag or by name', () => {
    const info = (a: FakeAdapter) => adapterInfo(fakeGpuAdapter(a));
    expect(info(LAVAPIPE)).toEqual({
      vendor: 'mesa',
      architecture: 'software',
      description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
      software: true,
    });
    expect(info(RTX).software).toBe(false);
    // An older Dawn that does not flag fallback adapters: known software rasterisers by name.
    const swiftshader = { vendor: 'google', architecture: '', description: 'SwiftShader Device' };
    expect(info(swiftshader)).toMatchObject({ architecture: 'unknown', software: true });
  });

  it('lists each adapter once, asking for the fast, the low-power and the fallback one', async () => {
    const gpu = fakeGpu([RTX, LAVAPIPE]);
    const adapters = await listAdapters(gpu);
    expect(adapters.map((a) => a.description)).toEqual([RTX.description, LAVAPIPE.description]);
    expect(gpu.requests).toHaveLength(3);
    expect(await listAdapters(fakeGpu([]))).toEqual([]);
  });

  it('auto wants a hardware adapter; by name any adapter will do', () => {
    const lavapipe = adapterInfo(fakeGpuAdapter(LAVAPIPE));
    const rtx = adapterInfo(fakeGpuAdapter(RTX));
    expect(judgeAdapters([lavapipe], true)).toMatch(
      /^only a software adapter \(llvmpipe.*\), far slower than the CPU engines; --backend webgpu uses it anyway$/,
    );
    expect(judgeAdapters([lavapipe], false)).toBeNull();
    expect(judgeAdapters([rtx, lavapipe], true)).toBeNull();
    expect(judgeAdapters([], false)).toMatch(/^Dawn found no WebGPU adapter: /);
  });

  it('the probe puts webgpu second on the ladder, for a hardware adapter only', async () => {
    expect(await probeBackends('auto', probeDeps([RTX, LAVAPIPE]))).toEqual({
      backend: 'webgpu',
      detail: 'WebGPU through Dawn',
      skipped: [
        { backend: 'tensorflow-gpu', reason: 'nvidia-smi is not installed (no NVIDIA driver)' },
      ],
    });
    const soft = await probeBackends('auto', probeDeps([LAVAPIPE]));
    expect(soft.backend).toBe('cpu');
    expect(soft.skipped[1]).toEqual({
      backend: 'webgpu',
      reason: expect.stringMatching(/^only a software adapter/),
    });
    expect(await probeBackends('webgpu', probeDeps([LAVAPIPE]))).toEqual({
      backend: 'webgpu',
      detail: 'WebGPU through Dawn',
      skipped: [],
    });
  });

  it('says why when Dawn itself cannot load', async () => {
    const probe = await probeBackends(
      'webgpu',
      probeDeps(new Error('the webgpu package has no dawn.node for freebsd-x64')),
    );
    expect(probe.detail).toBe('cannot load: the webgpu package has no dawn.node for freebsd-x64');
  });

  it('--backend webgpu without an adapter is one line that says what to install', async () => {
    const err = await rejection(selectBackend('webgpu', createNodeLoaders(nativeDeps([]))));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(
      /^backend 'webgpu' cannot load: Dawn found no WebGPU adapter: install your GPU's Vulkan driver/,
    );
    expect(err.message).not.toContain('\n');
  });

  it('auto skips a software adapter without loading Dawn in this process', async () => {
    const deps = {
      ...nativeDeps([LAVAPIPE]),
      webgpu: () => Promise.reject(new Error('Dawn must not load here')),
    };
    const err = await rejection(createNodeLoaders(deps).load('webgpu', { auto: true }));
    expect(err.message).toMatch(/^only a software adapter/);
  });

  it('a device the adapter will not open is the reason', async () => {
    const adapter = { ...RTX, opens: new Error('device limits exceeded') };
    const err = await rejection(
      createNodeLoaders(nativeDeps([adapter])).load('webgpu', { auto: true }),
    );
    expect(err.message).toBe('the adapter would not open a device: device limits exceeded');
  });
});

/** A device with a controllable loss and uncaptured-error events. */
function fakeDevice() {
  let lose: (info: { reason: string; message: string }) => void = () => {};
  const listeners: ((e: { error: Error }) => void)[] = [];
  return {
    device: {
      lost: new Promise<{ reason: string; message: string }>((resolve) => (lose = resolve)),
      addEventListener: (_: 'uncapturederror', l: (e: { error: Error }) => void) =>
        listeners.push(l),
    },
    lose: (reason: string, message: string) => lose({ reason, message }),
    error: (error: Error) => listeners.forEach((l) => l({ error })),
  };
}

class GPUOutOfMemoryError extends Error {}
class GPUValidationError extends Error {}

describe('device faults', () => {
  it('a lost device fails the job with the reason, whatever error it caused', async () => {
    const d = fakeDevice();
    watchDevice(d.device);
    expect(() => checkEngine()).not.toThrow();
    d.lose('unknown', 'the GPU driver was reset');
    await d.device.lost;
    expect(() => checkEngine()).toThrow(
      /^the GPU device was lost \(unknown: the GPU driver was reset\): .*resume the run/,
    );
    // tfjs then fails with an empty message (mapAsync of a lost device): the loss is the reason.
    const explained = explainEngineError(new Error(''), 128) as Error;
    expect(explained.message).toBe(engineFault()!.message);
  });

  it('running out of GPU memory suggests half the batch and resuming on another engine', () => {
    const d = fakeDevice();
    watchDevice(d.device);
    d.error(new GPUOutOfMemoryError('Out of memory allocating a 512 MiB buffer'));
    // Later validation errors are its consequences: the first fault wins.
    d.error(new GPUValidationError('Buffer is invalid'));
    expect(engineFault()!.kind).toBe('out-of-memory');
    const explained = explainEngineError(new Error('mapAsync failed'), 128) as Error;
    expect(explained.message).toBe(
      'the GPU ran out of memory (Out of memory allocating a 512 MiB buffer): train with a ' +
        'smaller batch (--set batch=64), or resume the run on another engine (svw train --resume RUN --backend wasm)',
    );
    expect(explained.cause).toBeInstanceOf(Error);
  });

  it('an uncaptured validation error stops the job: its results cannot be trusted', () => {
    const d = fakeDevice();
    watchDevice(d.device);
    d.error(new GPUValidationError('Binding size exceeds maxStorageBufferBindingSize\n - While…'));
    expect(() => checkEngine()).toThrow(
      /^the GPU rejected the work \(Binding size exceeds maxStorageBufferBindingSize\)/,
    );
  });

  it('without a fault, an error is its own reason', () => {
    const err = new Error('disk full');
    expect(explainEngineError(err, 128)).toBe(err);
  });
});

function fakeGpuAdapter(a: FakeAdapter) {
  return {
    info: a,
    features: new Set<string>(),
    limits: {},
    requestDevice: async () => ({}),
  };
}

describe('navigator.gpu for tfjs-backend-webgpu', () => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (descriptor) Object.defineProperty(globalThis, 'navigator', descriptor);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });
  const navigator = () =>
    (globalThis as { navigator?: { gpu?: unknown; language?: string } }).navigator;

  it('is added to a navigator (Node 21+, Electron), or made where there is none (Node 20)', () => {
    const gpu = fakeGpu([]);
    Object.defineProperty(globalThis, 'navigator', {
      value: { language: 'en' },
      configurable: true,
    });
    exposeGpu(gpu);
    expect(navigator()).toMatchObject({ gpu, language: 'en' });
    delete (globalThis as { navigator?: unknown }).navigator;
    exposeGpu(gpu);
    expect(navigator()?.gpu).toBe(gpu);
  });

  it('replaces a navigator that cannot be extended, keeping what it had', () => {
    const gpu = fakeGpu([]);
    Object.defineProperty(globalThis, 'navigator', {
      value: Object.freeze({ language: 'en' }),
      configurable: true,
    });
    exposeGpu(gpu);
    expect(navigator()).toMatchObject({ gpu, language: 'en' });
  });
});

describe('listing adapters in a child process', () => {
  const ended = (o: Partial<ChildOutcome>): ChildOutcome => ({
    code: 0,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    ...o,
  });
  const list = (o: Partial<ChildOutcome>) => listAdaptersApart(async () => ended(o), 5000);
  const lavapipe = adapterInfo(fakeGpuAdapter(LAVAPIPE));

  it("reads the child's last line, whatever Dawn printed around it", async () => {
    const stdout = `${JSON.stringify({ adapters: [lavapipe] })}\n`;
    const stderr = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced\n';
    expect(await list({ stdout, stderr })).toEqual([lavapipe]);
    expect(await list({ stdout: '{"adapters":[]}' })).toEqual([]);
  });

  it("passes on Dawn's own reason", async () => {
    const err = await rejection(
      list({ stdout: '{"error":"the webgpu package (Dawn) is not installed"}' }),
    );
    expect(err.message).toBe('the webgpu package (Dawn) is not installed');
  });

  it('a driver that crashes or hangs the child is the reason, not a crash here', async () => {
    const crashed = await rejection(
      list({ code: null, signal: 'SIGSEGV', stderr: 'vk: loading icd\nSegmentation fault\n' }),
    );
    expect(crashed.message).toBe(
      'listing the WebGPU adapters was killed by SIGSEGV: Segmentation fault',
    );
    const exited = await rejection(list({ code: 3 }));
    expect(exited.message).toBe('listing the WebGPU adapters exited with code 3');
    const hung = await rejection(list({ code: null, signal: 'SIGTERM', timedOut: true }));
    expect(hung.message).toBe('listing the WebGPU adapters took over 5 s; gave up');
  });
});
