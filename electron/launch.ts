import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

/**
 * The Electron executable, or null when the `electron` package or its binary is missing
 * (it is an optional dependency whose install downloads the binary).
 * `requireModule` is injectable so this is testable without Electron.
 */
export function findElectronBinary(
  requireModule: (id: string) => unknown = createRequire(import.meta.url),
  exists: (p: string) => boolean = existsSync,
): string | null {
  let binary: unknown;
  try {
    // The electron package's main export is the path of the downloaded binary; it throws
    // "Electron failed to install correctly" when the download never happened.
    binary = requireModule('electron');
  } catch {
    return null;
  }
  return typeof binary === 'string' && exists(binary) ? binary : null;
}
