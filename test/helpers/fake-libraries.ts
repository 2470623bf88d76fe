import path from 'node:path';
import type { LibraryLookup } from '../../core/engine/cuda-libs.js';

/** CUDA 11.2 and cuDNN 8.1 as NVIDIA's packages install them. */
export const CUDA_11 = [
  '/usr/local/cuda-11.2/lib64/libcudart.so.11.0',
  '/usr/local/cuda-11.2/lib64/libcublas.so.11',
  '/usr/local/cuda-11.2/lib64/libcublasLt.so.11',
  '/usr/lib/x86_64-linux-gnu/libcudnn.so.8',
];

/**
 * A library search over a fake file system: `files` lists every file that exists, by full
 * path; `ldconfig` is `ldconfig -p`'s output (null: it cannot run).
 */
export function fakeLibraries(
  files: string[] = [],
  options: { platform?: string; env?: Record<string, string>; ldconfig?: string | null } = {},
): LibraryLookup & { listed: string[] } {
  const paths = options.platform === 'win32' ? path.win32 : path.posix;
  const listed: string[] = [];
  return {
    listed,
    platform: options.platform ?? 'linux',
    env: options.env ?? {},
    listDir(dir) {
      listed.push(dir);
      return files.filter((f) => paths.dirname(f) === dir).map((f) => paths.basename(f));
    },
    ldconfig: () => (options.ldconfig === undefined ? '' : options.ldconfig),
  };
}
