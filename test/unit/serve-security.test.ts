import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PushEvent } from '../../core/api/contract.js';
import type { CallOutcome, HostService, ResourceBody } from '../../core/api/host-service.js';
import { CONTENT_SECURITY_POLICY, RENDERER_CSP } from '../../core/server/respond.js';
import { startServer, type RunningServer } from '../../core/server/server.js';
import { ROOT, tempDir, waitFor } from '../helpers/cli.js';

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');
const INDEX_HTML = '<!doctype html><title>workbench</title>';
const SECRET = 'the secret next to the static folder';

/** A host service with canned answers, one method that throws, and events on demand. */
class FakeService implements HostService {
  readonly listeners = new Set<(event: PushEvent) => void>();
  readonly calls: { method: string; input: unknown }[] = [];
  async call(method: string, input: unknown): Promise<CallOutcome> {
    this.calls.push({ method, input });
    if (method === 'info') return { ok: true, result: { host: 'serve', input } };
    if (method === 'explode') throw new Error('a bug in a handler');
    return { ok: false, error: { code: 'not-found', message: `no run (${method})` }, status: 404 };
  }
  async resource(p: string): Promise<ResourceBody | null> {
    if (p === 'res/filters/1/best') throw new Error('a bug in a resource');
    return p === 'res/mean/1' ? { mime: 'image/png', body: PNG } : null;
  }
  onEvent(listener: (event: PushEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: PushEvent): void {
    for (const l of this.listeners) l(event);
  }
  async close(): Promise<void> {}
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with the path and headers exactly as given (fetch would normalise both). */
function raw(
  port: number,
  p: string,
  headers: http.OutgoingHttpHeaders = {},
  method = 'GET',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: p, method, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with it when open, or with the refusal's status code. */
function connect(url: string, headers: Record<string, string>, autoPong = true) {
  const ws = new WebSocket(url, { headers, autoPong });
  return new Promise<{ ws: WebSocket } | { status: number }>((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}

describe('svw serve security', () => {
  const service = new FakeService();
  const errors: unknown[] = [];
  let server: RunningServer;
  let base: string;
  let auth: { 'x-svw-token': string };
  let dirs: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    dirs = tempDir('svw-serve-');
    const site = path.join(dirs.dir, 'site');
    mkdirSync(path.join(site, 'assets'), { recursive: true });
    writeFileSync(path.join(site, 'index.html'), INDEX_HTML);
    writeFileSync(path.join(site, 'assets', 'app.js'), 'console.log(1);');
    writeFileSync(path.join(dirs.dir, 'secret.txt'), SECRET);
    symlinkSync(path.join(dirs.dir, 'secret.txt'), path.join(site, 'link.txt'));
    server = await startServer({
      service,
      port: 0,
      staticDir: site,
      onError: (err) => errors.push(err),
      heartbeatMs: 200,
    });
    base = `http://127.0.0.1:${server.port}`;
    auth = { 'x-svw-token': server.token };
  });
  afterAll(async () => {
    await server.close();
    dirs.cleanup();
  });

  it('listens on 127.0.0.1 only and prints a URL with a 64-hex-digit token', () => {
    expect(server.url).toBe(`${base}/?token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('binds the loopback address only', async () => {
    expect(server.host).toBe('127.0.0.1');
    // Elsewhere in 127/8 and on ::1 nothing answers, as it would on a wildcard address.
    for (const other of ['127.0.0.2', '[::1]']) {
      const refused = await fetch(`http://${other}:${server.port}/`).catch((e: Error) => e);
      expect(refused, other).toBeInstanceOf(Error);
    }
  });

  it('refuses every route without a token, or with a wrong one', async () => {
    for (const p of ['/', '/index.html', '/assets/app.js', '/res/mean/1', '/nowhere']) {
      expect((await fetch(base + p)).status, p).toBe(403);
      expect((await fetch(base + p, { headers: { 'x-svw-token': 'f'.repeat(64) } })).status).toBe(
        403,
      );
    }
    const post = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(403);
    expect((await fetch(`${base}/?token=${'0'.repeat(64)}`, { redirect: 'manual' })).status).toBe(
      403,
    );
    expect(
      (await fetch(`${base}/`, { headers: { cookie: `svw_token_${server.port}=nope` } })).status,
    ).toBe(403);
    expect(service.calls).toEqual([]);
  });

  it('trades the query token for a cookie and a redirect, and then accepts the cookie', async () => {
    const res = await fetch(server.url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`svw_token_${server.port}=${server.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);

    const page = await fetch(`${base}/`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(INDEX_HTML);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    // Another port's server has its own cookie: ours does not answer to its name.
    const otherPort = await fetch(`${base}/`, {
      headers: { cookie: `svw_token_${server.port + 1}=${server.token}` },
    });
    expect(otherPort.status).toBe(403);
  });

  it("sends the renderer's own Content-Security-Policy", () => {
    const html = readFileSync(path.join(ROOT, 'renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(RENDERER_CSP);
    expect(CONTENT_SECURITY_POLICY).toBe(`${RENDERER_CSP}; frame-ancestors 'none'`);
  });

  it('serves files with their MIME type, and no directory listings', async () => {
    const js = await fetch(`${base}/assets/app.js`, { headers: auth });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1);');
    for (const dir of ['/assets', '/assets/']) {
      const res = await fetch(base + dir, { headers: auth });
      expect(res.status, dir).toBe(404);
      expect(await res.text()).not.toContain('app.js');
    }
    expect((await fetch(`${base}/missing.js`, { headers: auth })).status).toBe(404);
  });

  it('never serves a file outside the static folder', async () => {
    const attempts = [
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc/passwd',
      '/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
      '/assets/../../secret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/%2e%2e/secret.txt',
      '/index.html%00.js',
      '/link.txt',
      '/%E0%A4%A',
    ];
    for (const p of attempts) {
      const res = await raw(server.port, p, auth);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      expect(res.body, p).not.toContain('root:');
      expect(res.body, p).not.toContain(SECRET);
    }
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin', async () => {
    const evil = await raw(server.port, '/', { ...auth, host: `evil.example:${server.port}` });
    expect(evil.status).toBe(403);
    expect((await raw(server.port, '/', { ...auth, host: 'localhost:1' })).status).toBe(403);
    expect(
      (await raw(server.port, '/', { ...auth, host: `localhost:${server.port}` })).status,
    ).toBe(200);
    const api = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    });
    expect(api.status).toBe(403);
    const sameOrigin = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', origin: base },
      body: '{}',
    });
    expect(sameOrigin.status).toBe(200);
  });

  it('takes API calls only as JSON POSTs of a bounded size', async () => {
    service.calls.length = 0;
    const get = await fetch(`${base}/api/info`, { headers: auth });
    expect(get.status).toBe(405);
    const form = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(415);
    const text = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(text.status).toBe(415);
    const bad = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const big = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(41 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    // Without a Content-Length the limit is enforced as the body streams in.
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    const streamed = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 41) controller.enqueue(chunk);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(service.calls).toEqual([]);
  });

  it('passes calls to the service and its outcome status back', async () => {
    service.calls.length = 0;
    const ok = await fetch(`${base}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, result: { host: 'serve', input: { a: 1 } } });
    const missing = await fetch(`${base}/api/getRun`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 99 }),
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'no run (getRun)' },
    });
    expect(service.calls.map((c) => c.method)).toEqual(['info', 'getRun']);
  });

  it('serves resources as PNG, and 404 for what names nothing', async () => {
    const png = await fetch(`${base}/res/mean/1`, { headers: auth });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer())).toEqual(PNG);
    expect((await fetch(`${base}/res/mean/2`, { headers: auth })).status).toBe(404);
  });

  it('answers 500 when a handler throws, and keeps serving', async () => {
    const thrown = await fetch(`${base}/api/explode`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(thrown.status).toBe(500);
    const body = (await thrown.json()) as { ok: boolean; error: { code: string; message: string } };
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('internal');
    expect(body.error.message).not.toContain('a bug');
    expect((await fetch(`${base}/res/filters/1/best`, { headers: auth })).status).toBe(500);
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'a bug in a handler',
      'a bug in a resource',
    ]);
    expect((await fetch(`${base}/assets/app.js`, { headers: auth })).status).toBe(200);
  });

  it('refuses WebSocket upgrades without a token or from a foreign Origin', async () => {
    const events = `ws://127.0.0.1:${server.port}/events`;
    expect(await connect(events, {})).toEqual({ status: 403 });
    expect(await connect(events, { cookie: `svw_token_${server.port}=wrong` })).toEqual({
      status: 403,
    });
    expect(await connect(events, { ...auth, origin: 'http://evil.example' })).toEqual({
      status: 403,
    });
    expect(await connect(`ws://127.0.0.1:${server.port}/other`, auth)).toEqual({ status: 404 });
    expect(service.listeners.size).toBe(0);
  });

  it('forwards service events to a socket with the token, and unsubscribes on close', async () => {
    const opened = await connect(`ws://127.0.0.1:${server.port}/events`, {
      cookie: `svw_token_${server.port}=${server.token}`,
      origin: base,
    });
    if (!('ws' in opened)) throw new Error(`upgrade refused: ${opened.status}`);
    const received: unknown[] = [];
    opened.ws.on('message', (data: Buffer) => received.push(JSON.parse(data.toString())));
    expect(service.listeners.size).toBe(1);
    service.emit({ type: 'runs-changed' });
    service.emit({ type: 'run-status', runId: 3, status: 'running', error: null });
    await waitFor(() => received.length === 2, 5000, 'two events');
    expect(received).toEqual([
      { type: 'runs-changed' },
      { type: 'run-status', runId: 3, status: 'running', error: null },
    ]);
    opened.ws.close();
    await waitFor(() => service.listeners.size === 0, 5000, 'the unsubscribe');
  });

  it('drops a socket that stops answering pings, and keeps one that answers', async () => {
    const url = `ws://127.0.0.1:${server.port}/events`;
    const answering = await connect(url, auth);
    const silent = await connect(url, auth, false);
    if (!('ws' in answering) || !('ws' in silent)) throw new Error('upgrade refused');
    let silentPings = 0;
    let answeredPings = 0;
    silent.ws.on('ping', () => silentPings++);
    answering.ws.on('ping', () => answeredPings++);
    const code = await new Promise<number>((resolve) => silent.ws.once('close', resolve));
    // Cut for not answering: it was pinged first, and dropped without a close frame (1006),
    // not closed by a handshake or an error.
    expect(silentPings).toBeGreaterThanOrEqual(1);
    expect(code).toBe(1006);
    await waitFor(() => service.listeners.size === 1, 5000, 'the silent socket’s unsubscribe');
    // The socket that answers outlives more heartbeats than dropped the other.
    await waitFor(() => answeredPings >= silentPings + 2, 5000, 'two more heartbeats');
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    answering.ws.close();
    await waitFor(() => service.listeners.size === 0, 5000, 'the unsubscribe');
  });
});
