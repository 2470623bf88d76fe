import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../image/decode.js';
import { UserError } from '../util/errors.js';

/**
 * Expands command-line image arguments: files are kept as given (a non-image file is reported
 * when it is decoded); directories contribute their image files, recursively, sorted by path.
 * Hidden files and folders are skipped.
 */
export function expandImageArgs(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    let stat;
    try {
      stat = statSync(arg);
    } catch {
      throw new UserError(`no such file or directory: ${arg}`);
    }
    if (stat.isDirectory()) {
      const found = walk(arg);
      if (found.length === 0) throw new UserError(`no images found in ${arg}`);
      files.push(...found);
    } else {
      files.push(arg);
    }
  }
  if (files.length === 0) throw new UserError('no images given');
  return files;
}

function walk(dir: string, seen = new Set<string>()): string[] {
  const real = statSync(dir);
  const key = `${real.dev}:${real.ino}`;
  if (seen.has(key)) return []; // symlink loop
  seen.add(key);
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue; // dangling link
      }
    }
    if (isDir) out.push(...walk(full, seen));
    else if (IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}
