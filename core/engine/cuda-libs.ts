import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The CUDA libraries libtensorflow 2.9 (tfjs-node-gpu 4.22) opens at run time. Where one is
 * missing, libtensorflow quietly computes on the CPU, so the tensorflow-gpu rung looks for them
 * first and says which are missing, where it looked and what to install.
 */
const LIBRARIES = {
  linux: [
    { name: 'CUDA runtime', file: 'libcudart.so.11.0', family: /^libcudart\.so\.\d/ },
    { name: 'cuBLAS', file: 'libcublas.so.11', family: /^libcublas\.so\.\d/ },
    { name: 'cuBLASLt', file: 'libcublasLt.so.11', family: /^libcublasLt\.so\.\d/ },
    { name: 'cuDNN', file: 'libcudnn.so.8', family: /^libcudnn\.so\.\d/ },
  ],
  win32: [
    { name: 'CUDA runtime', file: 'cudart64_110.dll', family: /^cudart64_\d+\.dll$/i },
    { name: 'cuBLAS', file: 'cublas64_11.dll', family: /^cublas64_\d+\.dll$/i },
    { name: 'cuBLASLt', file: 'cublasLt64_11.dll', family: /^cublasLt64_\d+\.dll$/i },
    { name: 'cuDNN', file: 'cudnn64_8.dll', family: /^cudnn64_\d+\.dll$/i },
  ],
};

/** Where libraries are looked for on Linux after LD_LIBRARY_PATH and the ldconfig cache. */
const LINUX_DIRS = [
  '/usr/local/cuda-11.2/lib64',
  '/usr/local/cuda/lib64',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
];

/** What the search reads; replaced by a fake file system in tests. */
export interface LibraryLookup {
  platform: string;
  env: Record<string, string | undefined>;
  /** File names in a folder ([] when it does not exist). */
  listDir(dir: string): string[];
  /** The output of `ldconfig -p`, or null when ldconfig cannot run. */
  ldconfig(): string | null;
}

export interface CudaLibrary {
  name: string;
  file: string;
  /** Where it was found, or null. */
  path: string | null;
  /** Other versions of it that were found (libcudart.so.12 in /usr/local/cuda/lib64). */
  others: string[];
}

export interface CudaSearch {
  libraries: CudaLibrary[];
  /** Where it looked, in order, as a user would name it. */
  searched: string[];
}

/** The ldconfig cache's entries: file name → path. */
function parseLdconfig(output: string): [string, string][] {
  return [...output.matchAll(/^\s*(\S+) \(.*\) => (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
}

/** Looks for the CUDA libraries where the dynamic loader would find them. */
export function findCudaLibraries(lookup: LibraryLookup): CudaSearch | null {
  const platform = lookup.platform === 'win32' ? 'win32' : 'linux';
  if (lookup.platform !== 'linux' && lookup.platform !== 'win32') return null;
  const sep = platform === 'win32' ? ';' : ':';
  const paths = platform === 'win32' ? path.win32 : path.posix;
  const listed = (name: string) => (lookup.env[name] ?? '').split(sep).filter(Boolean);
  const places: { label: string; entries: [string, string][] }[] = [];
  const dirPlace = (label: string, dir: string) => ({
    label,
    entries: lookup.listDir(dir).map((f): [string, string] => [f, paths.join(dir, f)]),
  });
  if (platform === 'linux') {
    const ld = listed('LD_LIBRARY_PATH');
    for (const dir of ld) places.push(dirPlace(`LD_LIBRARY_PATH (${dir})`, dir));
    if (ld.length === 0) places.push({ label: 'LD_LIBRARY_PATH (not set)', entries: [] });
    const cache = lookup.ldconfig();
    places.push({
      label: cache === null ? 'the ldconfig cache (ldconfig did not run)' : 'the ldconfig cache',
      entries: cache === null ? [] : parseLdconfig(cache),
    });
    for (const dir of LINUX_DIRS) places.push(dirPlace(dir, dir));
  } else {
    const cudaPath = lookup.env.CUDA_PATH;
    if (cudaPath)
      places.push(dirPlace(`CUDA_PATH (${cudaPath}\\bin)`, paths.join(cudaPath, 'bin')));
    for (const dir of listed('PATH')) places.push(dirPlace(dir, dir));
    if (listed('PATH').length === 0) places.push({ label: 'PATH (not set)', entries: [] });
  }
  const libraries = LIBRARIES[platform].map((lib): CudaLibrary => {
    const all = places.flatMap((p) => p.entries);
    const hit = all.find(([file]) =>
      platform === 'win32' ? file.toLowerCase() === lib.file.toLowerCase() : file === lib.file,
    );
    const others = all
      .filter(([file]) => lib.family.test(file) && file !== lib.file)
      .map(([file, at]) => `${file} in ${paths.dirname(at)}`);
    return { name: lib.name, file: lib.file, path: hit?.[1] ?? null, others: [...new Set(others)] };
  });
  return { libraries, searched: places.map((p) => p.label) };
}

const INSTALL = {
  linux:
    "install CUDA 11.2 and cuDNN 8.1 (NVIDIA's apt repository: cuda-cudart-11-2 libcublas-11-2 " +
    'libcudnn8=8.1.1.33-1+cuda11.2) and put their folder on LD_LIBRARY_PATH',
  win32:
    'install the CUDA Toolkit 11.2 and cuDNN 8.1 for CUDA 11.2, and put their bin folders on PATH',
};

/**
 * Why libtensorflow would not find CUDA, in one line: the libraries missing (and other versions
 * found), where it looked, what to install. Null when all are there (or the platform has none).
 */
export function explainMissingCuda(search: CudaSearch | null, platform: string): string | null {
  const missing = search?.libraries.filter((l) => l.path === null) ?? [];
  if (!search || missing.length === 0) return null;
  const others = missing.flatMap((l) => l.others);
  return (
    `CUDA libraries not found: ${missing.map((l) => l.file).join(', ')}` +
    (others.length > 0 ? ` (found ${others.join(', ')}: libtensorflow 2.9 needs CUDA 11)` : '') +
    `; looked in ${search.searched.join(', ')}; ` +
    INSTALL[platform === 'win32' ? 'win32' : 'linux']
  );
}

function runLdconfig(): string | null {
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const result = spawnSync(bin, ['-p'], { encoding: 'utf8', timeout: 5_000 });
    if (result.status === 0) return result.stdout;
  }
  return null;
}

export const nodeLibraryLookup: LibraryLookup = {
  platform: process.platform,
  env: process.env,
  listDir(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  ldconfig: runLdconfig,
};
