import { promises as fs } from 'node:fs';
import { protocol } from 'electron';
import type { HostService } from '../core/api/host-service.js';
import { CONTENT_SECURITY_POLICY } from '../core/server/respond.js';
import { mimeType, staticPath } from '../core/server/static.js';

/**
 * The app's own origin, `svw://app`. Windows load `svw://app/index.html` rather than file://, so
 * the renderer's relative `res/...` URLs and its CSP `'self'` mean the same as under `svw serve`,
 * and a page can never reach the rest of the file system.
 */
export const APP_SCHEME = 'svw';
export const APP_HOST = 'app';
export const APP_INDEX_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** Whether a URL is a page or file of the app itself. */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Must run before the app is ready: Chromium fixes scheme privileges at startup. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Headers as `svw serve` sends them: its CSP (the index.html policy, framing forbidden too) and nosniff. */
function respond(
  status: number,
  body: Uint8Array<ArrayBuffer> | string,
  type = 'text/plain; charset=utf-8',
) {
  return new Response(body, {
    status,
    headers: {
      'Content-Type': type,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}

const notFound = () => respond(404, 'not found');

/** A file of the built renderer, confined to its folder by the same check `svw serve` uses. */
async function serveFile(root: string, pathname: string): Promise<Response> {
  const file = staticPath(root, pathname);
  if (!file) return notFound();
  const info = await fs.stat(file).catch(() => null);
  if (!info?.isFile()) return notFound();
  return respond(200, new Uint8Array(await fs.readFile(file)), mimeType(file));
}

/** The response to one `svw://` request: the renderer's files and the host's `res/...` images. */
export async function appResponse(
  request: { url: string; method: string },
  service: Pick<HostService, 'resource'>,
  rendererDir: string,
): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return respond(405, 'GET only');
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return notFound();
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return notFound();
  try {
    if (url.pathname.startsWith('/res/')) {
      const resource = await service.resource(url.pathname.slice(1));
      return resource ? respond(200, new Uint8Array(resource.body), resource.mime) : notFound();
    }
    return await serveFile(rendererDir, url.pathname);
  } catch (err) {
    // The main process's output is the app's log.
    console.error('svw:', err);
    return respond(500, err instanceof Error ? err.message : String(err));
  }
}

/** Serves the app's origin; call once the app is ready. */
export function setupProtocol(service: Pick<HostService, 'resource'>, rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => appResponse(request, service, rendererDir));
}
