import {
  BrowserWindow,
  shell,
  type IpcMainInvokeEvent,
  type WebContents,
  type WebPreferences,
} from 'electron';
import { APP_INDEX_URL, isAppUrl } from './protocol.js';
import { isSafeExternalUrl } from './security.js';

/** The windows this app created, by their web contents; IPC from anything else is refused. */
const ours = new Map<WebContents, BrowserWindow>();

/** Electron's secure defaults, spelled out so a change of default cannot loosen them. */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
  };
}

/** Keeps a page on the app's origin: new windows are denied, web links open in the browser. */
export function confineToApp(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    // A plain link to a web page: the user meant to read it, just not inside the app.
    if (isSafeExternalUrl(event.url)) void shell.openExternal(event.url);
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
}

/** A new app window showing the UI, at `route` when given. */
export function createAppWindow(preload: string, route?: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    title: 'SuperVision Workbench',
    show: false,
    webPreferences: secureWebPreferences(preload),
  });
  const contents = win.webContents;
  ours.set(contents, win);
  contents.once('destroyed', () => ours.delete(contents));
  confineToApp(contents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(route ? routeUrl(route) : APP_INDEX_URL);
  return win;
}

/** The web contents of every open app window (push events go to these). */
export function appContents(): WebContents[] {
  return [...ours.keys()];
}

/** The app window the user is in, else any app window, else null. */
export function currentAppWindow(): BrowserWindow | null {
  const focused = BrowserWindow.getFocusedWindow();
  if (focused && ours.get(focused.webContents) === focused) return focused;
  return ours.values().next().value ?? null;
}

/** The URL of a view of the UI; the renderer routes on the hash. */
export function routeUrl(route: string): string {
  return `${APP_INDEX_URL}#${route}`;
}

/** True only for IPC from the top frame of one of our windows, showing a page of our origin. */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
): boolean {
  const frame = event.senderFrame;
  return frame !== null && ours.has(event.sender) && frame.parent === null && isAppUrl(frame.url);
}
