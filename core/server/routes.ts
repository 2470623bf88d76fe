import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostService } from '../api/host-service.js';
import { handleApi } from './api.js';
import { presentedToken, refusal, tokenCookie } from './auth.js';
import { sendApiError, sendText, setSecurityHeaders } from './respond.js';
import { serveStatic } from './static.js';

/** What every request handler needs to know about the running server. */
export interface RouteContext {
  service: HostService;
  /** The renderer folder, already resolved through symlinks. */
  root: string;
  token: string;
  port: number;
}

/**
 * The path exactly as the client sent it, without the query. Parsing with URL would resolve
 * `..` and `%2e%2e` segments first, hiding a traversal attempt instead of refusing it.
 */
export function rawPathname(url: string | undefined): string {
  const raw = url ?? '/';
  const end = raw.search(/[?#]/);
  return end < 0 ? raw : raw.slice(0, end);
}

/** Parses the request URL for its query; the base only completes origin-form paths. */
export function parseRequestUrl(url: string | undefined): URL {
  return new URL(url ?? '/', 'http://127.0.0.1');
}

/** Answers one HTTP request: the checks every request passes, then api/, res/ or a file. */
export async function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  setSecurityHeaders(res);
  const raw = rawPathname(req.url);
  if (!raw.startsWith('/')) {
    sendText(res, 400, 'bad request', { Connection: 'close' });
    return;
  }
  const url = parseRequestUrl(req.url);
  const refused = refusal(req, url, ctx.port, ctx.token);
  if (refused) {
    // Closing rather than reading any body: whoever sent it has no business here.
    sendText(res, 403, refused, { Connection: 'close' });
    return;
  }

  if (raw.startsWith('/api/')) return handleApi(ctx.service, req, res, raw.slice('/api/'.length));
  if (raw === '/api') {
    sendApiError(res, 404, 'not-found', 'no such API method');
    return;
  }
  if (raw === '/events') {
    sendText(res, 426, 'push events are served over a WebSocket here', { Upgrade: 'websocket' });
    return;
  }
  if (raw.startsWith('/res/')) return serveResource(ctx.service, req, res, raw.slice(1));

  // Opening the printed URL: keep the token in a cookie and take it out of the address bar
  // (and so out of the history and any screenshot).
  if (
    raw === '/' &&
    req.method === 'GET' &&
    presentedToken(req, url, ctx.port)?.source === 'query'
  ) {
    res.writeHead(302, { Location: '/', 'Set-Cookie': tokenCookie(ctx.token, ctx.port) });
    res.end();
    return;
  }
  await serveStatic(ctx.root, req, res, raw);
}

async function serveResource(
  service: HostService,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const resource = await service.resource(path);
  if (!resource) {
    sendText(res, 404, 'not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': resource.mime,
    'Content-Length': resource.body.length,
    // A checkpoint's filters change as training goes on, so the browser must ask each time.
    'Cache-Control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : resource.body);
}
