import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, session } from 'electron';
import { createHostService } from '../core/api/service.js';
import { pickFolder } from './dialogs.js';
import { setupIpc } from './ipc.js';
import { setupQuit } from './lifecycle.js';
import { setupMenu } from './menu.js';
import { registerAppScheme, setupProtocol } from './protocol.js';
import { setupPermissions } from './security.js';
import { utilityJobHost } from './utility-host.js';
import {
  appContents,
  createAppWindow,
  currentAppWindow,
  isTrustedSender,
  routeUrl,
} from './windows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, '../renderer');
const preload = path.join(here, 'preload.cjs');

/** Shows a view of the UI in the window the user is in, opening one when none is open. */
function show(route: string): void {
  const win = currentAppWindow();
  if (!win) {
    createAppWindow(preload, route);
    return;
  }
  void win.loadURL(routeUrl(route));
  if (win.isMinimized()) win.restore();
  win.focus();
}

function start(): void {
  setupPermissions(session.defaultSession);
  const service = createHostService({
    kind: 'electron',
    jobHost: utilityJobHost,
    pickFolder: (title) => pickFolder(currentAppWindow(), title),
  });
  setupQuit(service);
  setupProtocol(service, rendererDir);
  setupIpc(service, isTrustedSender, appContents);
  setupMenu(show, { mac: process.platform === 'darwin', dev: !app.isPackaged });
  createAppWindow(preload);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createAppWindow(preload);
  });
}

// Privileges of the svw: scheme are fixed when Chromium starts, before the app is ready.
registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  // One process owns the database and the workers; a second launch only focuses the first.
  app.quit();
} else {
  app.on('second-instance', () => {
    const win = currentAppWindow();
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app
    .whenReady()
    .then(start)
    .catch((err: unknown) => {
      dialog.showErrorBox(
        'SuperVision Workbench could not start',
        err instanceof Error ? err.message : String(err),
      );
      app.exit(1);
    });
}
