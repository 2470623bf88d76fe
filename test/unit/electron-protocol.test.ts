import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostService, ResourceBody } from '../../core/api/host-service.js';
import { CONTENT_SECURITY_POLICY, RENDERER_CSP } from '../../core/server/respond.js';
import {
  appResponse,
  isAppUrl,
  registerAppScheme,
  setupProtocol,
} from '../../electron/protocol.js';
import { electron } from '../helpers/electron-fakes.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
let tmp: string;
let root: string;

const service = {
  resource: vi.fn(async (p: string): Promise<ResourceBody | null> =>
    p === 'res/image/3/17' ? { mime: 'image/png', body: PNG } : null,
  ),
} satisfies Pick<HostService, 'resource'>;

const get = (url: string, method = 'GET') => appResponse({ url, method }, service, root);

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'svw-protocol-'));
  root = path.join(tmp, 'renderer');
  mkdirSync(path.join(root, 'assets', 'fonts'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>SuperVision</title>');
  writeFileSync(path.join(root, 'assets', 'index-abc.js'), 'export {};');
  writeFileSync(path.join(tmp, 'secret.txt'), 'SECRET');
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the svw://app origin', () => {
  it('is registered as a standard, secure, fetchable scheme', () => {
    registerAppScheme();
    expect(electron.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      {
        scheme: 'svw',
        privileges: expect.objectContaining({
          standard: true,
          secure: true,
          supportFetchAPI: true,
        }),
      },
    ]);
  });

  it('serves index.html with the CSP and nosniff headers', async () => {
    for (const url of ['svw://app/index.html', 'svw://app/']) {
      const response = await get(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toContain('<title>SuperVision</title>');
    }
  });

  it('serves scripts as JavaScript, which module scripts need under nosniff', async () => {
    const response = await get('svw://app/assets/index-abc.js');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('sends the policy renderer/index.html declares', () => {
    const html = readFileSync(
      path.resolve(import.meta.dirname, '../../renderer/index.html'),
      'utf8',
    );
    const declared = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(declared).toBe(RENDERER_CSP);
    expect(CONTENT_SECURITY_POLICY.startsWith(RENDERER_CSP)).toBe(true);
  });

  it('refuses paths that leave the renderer folder, encoded or not', async () => {
    for (const url of [
      'svw://app/..%2fsecret.txt',
      'svw://app/assets/..%2F..%2Fsecret.txt',
      'svw://app/%2e%2e/secret.txt',
      'svw://app/%2E%2E%2Fsecret.txt',
      'svw://app/..%5csecret.txt',
      'svw://app/assets%5c..%5c..%5csecret.txt',
      `svw://app/${encodeURIComponent(path.join(tmp, 'secret.txt'))}`,
      'svw://app/%00index.html',
      'svw://app/%E0%A4%A',
    ]) {
      const response = await get(url);
      expect(response.status, url).toBe(404);
      expect(await response.text()).not.toContain('SECRET');
    }
  });

  it('answers 404 for folders, missing files and other hosts, 405 for writes', async () => {
    for (const url of [
      'svw://app/assets',
      'svw://app/assets/fonts/',
      'svw://app/nothing.js',
      'svw://other/index.html',
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
    expect((await get('svw://app/index.html', 'POST')).status).toBe(405);
  });

  it('serves res/ paths from the host service, 404 when it has nothing', async () => {
    const image = await get('svw://app/res/image/3/17');
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(PNG);
    expect(service.resource).toHaveBeenCalledWith('res/image/3/17');

    const missing = await get('svw://app/res/mean/999');
    expect(missing.status).toBe(404);
    expect(service.resource).toHaveBeenCalledWith('res/mean/999');
  });

  it('answers 500, not a crash, when the service throws, and logs why', async () => {
    const failing = { resource: async () => Promise.reject(new Error('disk gone')) };
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const response = await appResponse(
        { url: 'svw://app/res/mean/1', method: 'GET' },
        failing,
        root,
      );
      expect(response.status).toBe(500);
      expect(log).toHaveBeenCalledWith('svw:', new Error('disk gone'));
    } finally {
      log.mockRestore();
    }
  });

  it('is installed under the svw scheme by setupProtocol', async () => {
    setupProtocol(service, root);
    const [scheme, handler] = electron.protocol.handle.mock.calls.at(-1) as [
      string,
      (request: Request) => Promise<Response>,
    ];
    expect(scheme).toBe('svw');
    const response = await handler(new Request('svw://app/index.html'));
    expect(response.status).toBe(200);
  });

  it('isAppUrl knows our origin', () => {
    expect(isAppUrl('svw://app/index.html#/runs')).toBe(true);
    expect(isAppUrl('svw://app')).toBe(true);
    for (const url of ['svw://evil/', 'https://app/', 'file:///app/index.html', '::']) {
      expect(isAppUrl(url)).toBe(false);
    }
  });
});
