import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled .js file of a module beside `fromUrl`, for starting worker threads and processes.
 * Under the test runner the sources are .ts and run untranspiled; workers then start from the
 * build in dist/, which `npm test` produces first.
 */
export function compiledModulePath(fromUrl: string, relativeJs: string): string {
  const from = fileURLToPath(fromUrl);
  const beside = path.resolve(path.dirname(from), relativeJs);
  if (from.endsWith('.js')) return beside;
  let root = path.dirname(from);
  while (!existsSync(path.join(root, 'package.json'))) {
    const parent = path.dirname(root);
    if (parent === root) throw new Error(`no package root above ${from}`);
    root = parent;
  }
  const built = path.join(root, 'dist', path.relative(root, beside));
  if (!existsSync(built)) throw new Error(`${built} is missing; run \`npm run build\` first`);
  return built;
}

/**
 * The on-disk twin of a path inside the packaged app's asar archive (`…/app.asar/demo` →
 * `…/app.asar.unpacked/demo`), for files handed to native code such as sharp's libvips, which
 * cannot see into the archive. Any other path comes back unchanged.
 */
export function unpackedPath(p: string): string {
  return p.replace(/([\\/])app\.asar(?=[\\/]|$)/, '$1app.asar.unpacked');
}

/**
 * The file to start a worker thread from: {@link compiledModulePath}, outside the packaged
 * app's asar archive. Threads may not read from the archive (electron/electron#23078), so
 * electron-builder.yml unpacks every thread entry with all it loads, and the thread starts
 * from the unpacked copy (test/unit/electron-packaging.test.ts checks both).
 */
export function workerThreadPath(fromUrl: string, relativeJs: string): string {
  return unpackedPath(compiledModulePath(fromUrl, relativeJs));
}
