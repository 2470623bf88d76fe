import { describe, expect, it } from 'vitest';
import { createNodeLoaders, probeBackends } from '../../core/engine/backends.js';
import { explainMissingCuda, findCudaLibraries } from '../../core/engine/cuda-libs.js';
import { fakeGpu } from '../helpers/fake-gpu.js';
import { CUDA_11, fakeLibraries } from '../helpers/fake-libraries.js';
import { detection } from '../helpers/gpus.js';

const LDCONFIG = `3 libs found in cache \`/etc/ld.so.cache'
\tlibcudnn.so.8 (libc6,x86-64) => /opt/cudnn/lib/libcudnn.so.8
\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6
`;

const explain = (...args: Parameters<typeof fakeLibraries>) => {
  const lookup = fakeLibraries(...args);
  return explainMissingCuda(findCudaLibraries(lookup), lookup.platform);
};

describe('finding the CUDA libraries libtensorflow needs', () => {
  it('finds CUDA 11.2 and cuDNN 8.1 where NVIDIA installs them', () => {
    const search = findCudaLibraries(fakeLibraries(CUDA_11));
    expect(search!.libraries.map((l) => l.path)).toEqual(CUDA_11);
    expect(explainMissingCuda(search, 'linux')).toBeNull();
  });

  it('names each missing library, the other versions it saw, where it looked and what to install', () => {
    const cuda12 = [
      '/usr/local/cuda/lib64/libcudart.so.12',
      '/usr/local/cuda/lib64/libcublas.so.12',
    ];
    expect(explain(cuda12)).toBe(
      'CUDA libraries not found: libcudart.so.11.0, libcublas.so.11, libcublasLt.so.11, libcudnn.so.8 ' +
        '(found libcudart.so.12 in /usr/local/cuda/lib64, libcublas.so.12 in /usr/local/cuda/lib64: ' +
        'libtensorflow 2.9 needs CUDA 11); looked in LD_LIBRARY_PATH (not set), the ldconfig cache, ' +
        '/usr/local/cuda-11.2/lib64, /usr/local/cuda/lib64, /usr/lib/x86_64-linux-gnu, /usr/lib64, ' +
        "/usr/lib; install CUDA 11.2 and cuDNN 8.1 (NVIDIA's apt repository: cuda-cudart-11-2 " +
        'libcublas-11-2 libcudnn8=8.1.1.33-1+cuda11.2) and put their folder on LD_LIBRARY_PATH',
    );
  });

  it('looks in LD_LIBRARY_PATH first and in the ldconfig cache', () => {
    const lookup = fakeLibraries(
      [
        '/opt/cuda/lib64/libcudart.so.11.0',
        '/opt/cuda/lib64/libcublas.so.11',
        '/opt/cuda/lib64/libcublasLt.so.11',
        // Found first through LD_LIBRARY_PATH, though another copy is in a standard folder.
        '/usr/local/cuda/lib64/libcudart.so.11.0',
      ],
      { env: { LD_LIBRARY_PATH: '/opt/cuda/lib64:/nowhere' }, ldconfig: LDCONFIG },
    );
    const search = findCudaLibraries(lookup)!;
    expect(search.libraries.map((l) => l.path)).toEqual([
      '/opt/cuda/lib64/libcudart.so.11.0',
      '/opt/cuda/lib64/libcublas.so.11',
      '/opt/cuda/lib64/libcublasLt.so.11',
      '/opt/cudnn/lib/libcudnn.so.8',
    ]);
    expect(search.searched.slice(0, 3)).toEqual([
      'LD_LIBRARY_PATH (/opt/cuda/lib64)',
      'LD_LIBRARY_PATH (/nowhere)',
      'the ldconfig cache',
    ]);
    expect(lookup.listed[0]).toBe('/opt/cuda/lib64');
  });

  it('says so when ldconfig cannot run', () => {
    expect(explain(CUDA_11.slice(0, 3), { ldconfig: null })).toMatch(
      /^CUDA libraries not found: libcudnn\.so\.8; looked in LD_LIBRARY_PATH \(not set\), the ldconfig cache \(ldconfig did not run\), /,
    );
  });

  it('on Windows looks in CUDA_PATH and on PATH for the DLLs', () => {
    const bin = 'C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.2\\bin';
    const message = explain(
      [`${bin}\\cudart64_110.dll`, `${bin}\\cublas64_11.dll`, `${bin}\\cublasLt64_11.dll`],
      {
        platform: 'win32',
        env: {
          CUDA_PATH: 'C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.2',
          PATH: 'C:\\Windows\\system32;C:\\Tools',
        },
      },
    );
    expect(message).toBe(
      `CUDA libraries not found: cudnn64_8.dll; looked in CUDA_PATH (${bin}), ` +
        'C:\\Windows\\system32, C:\\Tools; install the CUDA Toolkit 11.2 and cuDNN 8.1 for CUDA 11.2, ' +
        'and put their bin folders on PATH',
    );
  });

  it('has nothing to say on macOS, which has no CUDA', () => {
    expect(findCudaLibraries(fakeLibraries([], { platform: 'darwin' }))).toBeNull();
    expect(explain([], { platform: 'darwin' })).toBeNull();
  });
});

describe('the tensorflow-gpu rung without its CUDA libraries', () => {
  const deps = (libraries: string[]) => {
    const required: string[] = [];
    return {
      required,
      packageDir: (pkg: string) => (pkg === '@tensorflow/tfjs-node-gpu' ? '/nm/' + pkg : null),
      listDir: (dir: string) =>
        dir.endsWith('/lib') ? ['napi-v8'] : dir.endsWith('napi-v8') ? ['tfjs_binding.node'] : [],
      detectGpus: async () => detection([{ name: 'Tesla T4' }]),
      webgpu: async () => fakeGpu([]),
      adapters: async () => [],
      libraries: fakeLibraries(libraries),
      requireModule: (id: string) => {
        required.push(id);
        throw new Error('not in this test');
      },
    };
  };

  it('is skipped with the missing libraries, in the engine line the host and form show', async () => {
    const probe = await probeBackends('auto', deps(CUDA_11.slice(0, 3)));
    expect(probe.skipped[0]).toEqual({
      backend: 'tensorflow-gpu',
      reason: expect.stringMatching(
        /^CUDA libraries not found: libcudnn\.so\.8; looked in .*; install CUDA 11\.2 and cuDNN 8\.1/,
      ),
    });
  });

  it('refuses to load, so that libtensorflow never quietly computes on the CPU', async () => {
    const d = deps([]);
    const err = await createNodeLoaders(d)
      .load('tensorflow-gpu', { auto: true })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(/^CUDA libraries not found: libcudart\.so\.11\.0, /);
    expect(d.required).toEqual([]);
  });
});
