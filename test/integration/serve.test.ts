import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ROOT, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';

const RUNNING =
  /^SuperVision Workbench is running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})$/m;

/** `svw serve` as a user starts it: the built CLI in its own process, on a fresh home. */
describe('svw serve (built CLI)', () => {
  const home = tempDir('svw-serve-home-');
  let serve: ReturnType<typeof svwSpawn>;
  let stdout = '';
  let printed: URL;
  let base: string;
  let token: string;

  beforeAll(async () => {
    serve = svwSpawn(['serve', '--port', '0'], { SVW_HOME: home.dir });
    serve.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let exited = false;
    void serve.done.then(() => (exited = true));
    const url = await waitFor(
      () => RUNNING.exec(stdout)?.[1] ?? (exited ? 'exited' : undefined),
      60_000,
      'the URL on stdout',
    );
    if (url === 'exited') throw new Error(`svw serve exited:\n${(await serve.done).stderr}`);
    printed = new URL(url);
    base = printed.origin;
    token = printed.searchParams.get('token')!;
  });
  afterAll(() => {
    serve.child.kill('SIGKILL');
    home.cleanup();
  });

  const call = (method: string, input: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(input),
    });

  it('prints exactly one line on stdout: the URL with its token', () => {
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(printed.hostname).toBe('127.0.0.1');
  });

  it('refuses requests without the token', async () => {
    expect((await call('info', {})).status).toBe(403);
    expect((await fetch(`${base}/`)).status).toBe(403);
    expect((await call('info', {}, { 'x-svw-token': '0'.repeat(64) })).status).toBe(403);
  });

  it('answers info and listRuns from the workbench home', async () => {
    const info = await call('info', {}, { 'x-svw-token': token });
    expect(info.status).toBe(200);
    const body = (await info.json()) as { ok: boolean; result: { host: string; home: string } };
    expect(body.ok).toBe(true);
    expect(body.result.host).toBe('serve');
    expect(path.resolve(body.result.home)).toBe(path.resolve(home.dir));
    const runs = await call('listRuns', {}, { 'x-svw-token': token });
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual({ ok: true, result: [] });
    const bad = await call('getRun', { id: 'seven' }, { 'x-svw-token': token });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('serves the built UI to the browser that opened the URL', async () => {
    const opened = await fetch(printed, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await fetch(`${base}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toBe(readFileSync(path.join(ROOT, 'dist/renderer/index.html'), 'utf8'));
    const script = /<script[^>]+src="\.?\/?([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${base}/${script}`, { headers: { cookie } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');

    const ws = new WebSocket(`ws://127.0.0.1:${printed.port}/events`, {
      headers: { cookie, origin: base },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.close();
  });

  it('refuses a second server on the same port', async () => {
    const other = tempDir('svw-serve-home-');
    try {
      const second = svwSpawn(['serve', '--port', printed.port], { SVW_HOME: other.dir });
      const result = await second.done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${printed.port} is in use; choose another with --port`);
    } finally {
      other.cleanup();
    }
  });

  it('stops on SIGTERM with exit code 0, and its port with it', async () => {
    serve.child.kill('SIGTERM');
    const result = await serve.done;
    expect(result.code, result.stderr).toBe(0);
    await expect(fetch(`${base}/`, { headers: { 'x-svw-token': token } })).rejects.toThrow(
      /fetch failed/,
    );
  });
});
