import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sendText } from './respond.js';

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** The MIME type a file is served with, by its extension. */
export function mimeType(file: string): string {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file a raw request path names inside `root`, or null when the path is malformed or could
 * leave the folder: encoded or literal `..`, backslashes (a separator on Windows), NUL, and
 * dot-files are refused before the path is ever joined to the folder.
 */
export function staticPath(root: string, rawPathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPathname);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || /[\\\0]/.test(decoded)) return null;
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s.startsWith('.'))) return null;
  const relative = segments.join('/') || 'index.html';
  const resolved = path.resolve(root, relative);
  const inside = path.relative(root, resolved);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return resolved;
}

/** Serves a file of the built renderer; anything else (directories included) is 404. */
export async function serveStatic(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  rawPathname: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const file = staticPath(root, rawPathname);
  // A symlink inside the folder must not lead out of it either.
  const real = file ? await realpath(file).catch(() => null) : null;
  const info = real && isInside(root, real) ? await stat(real).catch(() => null) : null;
  if (!real || !info?.isFile()) {
    sendText(res, 404, 'not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': mimeType(real),
    'Content-Length': info.size,
    // The page must be fetched afresh each start; hashed assets may be revalidated.
    'Cache-Control': path.basename(real) === 'index.html' ? 'no-store' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(real), res);
}

function isInside(root: string, file: string): boolean {
  const inside = path.relative(root, file);
  return inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside);
}
