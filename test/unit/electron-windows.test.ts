import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session, WebContents } from 'electron';
import {
  electron,
  FakeBrowserWindow,
  FakeWebContents,
  frame,
  navigation,
} from '../helpers/electron-fakes.js';
import { APP_INDEX_URL } from '../../electron/protocol.js';
import { setupPermissions } from '../../electron/security.js';
import {
  appContents,
  createAppWindow,
  currentAppWindow,
  isTrustedSender,
  routeUrl,
} from '../../electron/windows.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);

const PRELOAD = '/app/dist/electron/preload.cjs';

function open(): FakeBrowserWindow {
  return createAppWindow(PRELOAD) as unknown as FakeBrowserWindow;
}

beforeEach(() => {
  electron.shell.openExternal.mockClear();
});

describe('app windows', () => {
  it('keep the secure defaults and load the app origin, not file://', () => {
    const win = open();
    expect(win.options.webPreferences).toMatchObject({
      preload: PRELOAD,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
    });
    expect(win.loadURL).toHaveBeenCalledWith('svw://app/index.html');
    expect(APP_INDEX_URL).toBe('svw://app/index.html');
  });

  it('open at a route when asked, on the hash the renderer routes by', () => {
    const win = createAppWindow(PRELOAD, '/new') as unknown as FakeBrowserWindow;
    expect(win.loadURL).toHaveBeenCalledWith('svw://app/index.html#/new');
    expect(routeUrl('/datasets')).toBe('svw://app/index.html#/datasets');
  });

  it('deny every new window and send only http(s) links to the browser', () => {
    const { webContents } = open();
    for (const url of ['https://arxiv.org/abs/1404.5997', 'http://localhost:8080/']) {
      expect(webContents.openHandler?.({ url })).toEqual({ action: 'deny' });
    }
    for (const url of ['file:///etc/passwd', 'svw://app/index.html', 'javascript:alert(1)']) {
      expect(webContents.openHandler?.({ url })).toEqual({ action: 'deny' });
    }
    expect(electron.shell.openExternal.mock.calls.map(([url]) => url)).toEqual([
      'https://arxiv.org/abs/1404.5997',
      'http://localhost:8080/',
    ]);
  });

  it('stay on the app origin: other navigations and redirects are prevented', () => {
    const { webContents } = open();
    const inApp = navigation('svw://app/index.html#/runs/3');
    webContents.emit('will-navigate', inApp);
    expect(inApp.preventDefault).not.toHaveBeenCalled();

    const web = navigation('https://example.org/');
    const file = navigation('file:///home/user/.ssh/id_rsa');
    const otherHost = navigation('svw://evil/index.html');
    for (const event of [web, file, otherHost]) webContents.emit('will-navigate', event);
    for (const event of [web, file, otherHost]) expect(event.preventDefault).toHaveBeenCalled();
    // A plain web link still reaches the user's browser; nothing else leaves the app.
    expect(electron.shell.openExternal.mock.calls).toEqual([['https://example.org/']]);

    const redirect = navigation('https://example.org/login');
    webContents.emit('will-redirect', redirect);
    expect(redirect.preventDefault).toHaveBeenCalled();
  });

  it('refuse every permission request and check', () => {
    let requestHandler: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | null = null;
    let checkHandler: ((...args: unknown[]) => boolean) | null = null;
    const session = {
      setPermissionRequestHandler: (h: typeof requestHandler) => (requestHandler = h),
      setPermissionCheckHandler: (h: typeof checkHandler) => (checkHandler = h),
    };
    setupPermissions(session as unknown as Session);
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read']) {
      const callback = vi.fn();
      requestHandler!({}, permission, callback);
      expect(callback).toHaveBeenCalledWith(false);
      expect(checkHandler!({}, permission, 'svw://app', {})).toBe(false);
    }
  });
});

describe('isTrustedSender', () => {
  it('trusts only the top frame of our own window showing our origin', () => {
    const win = open();
    const ours = win.webContents as unknown as WebContents;
    const top = frame('svw://app/index.html#/runs');
    expect(isTrustedSender({ sender: ours, senderFrame: top as never })).toBe(true);

    const stranger = new FakeWebContents() as unknown as WebContents;
    expect(isTrustedSender({ sender: stranger, senderFrame: top as never })).toBe(false);
    for (const url of ['https://evil.example/', 'file:///app/index.html', 'svw://other/']) {
      expect(isTrustedSender({ sender: ours, senderFrame: frame(url) as never })).toBe(false);
    }
    const subframe = frame('svw://app/index.html', top);
    expect(isTrustedSender({ sender: ours, senderFrame: subframe as never })).toBe(false);
    expect(isTrustedSender({ sender: ours, senderFrame: null })).toBe(false);
  });

  it('stops trusting a window once its contents are destroyed', () => {
    const win = open();
    const contents = win.webContents as unknown as WebContents;
    expect(appContents()).toContain(contents);
    win.webContents.emit('destroyed');
    expect(appContents()).not.toContain(contents);
    const event = { sender: contents, senderFrame: frame('svw://app/index.html') as never };
    expect(isTrustedSender(event)).toBe(false);
  });

  it('currentAppWindow prefers the focused app window over a foreign one', () => {
    open();
    const b = open();
    FakeBrowserWindow.focused = b;
    expect(currentAppWindow()).toBe(b);
    const foreign = new FakeBrowserWindow({});
    FakeBrowserWindow.focused = foreign;
    const fallback = currentAppWindow() as unknown as FakeBrowserWindow;
    expect(fallback).not.toBe(foreign);
    expect(appContents()).toContain(fallback.webContents);
    FakeBrowserWindow.focused = null;
  });
});
