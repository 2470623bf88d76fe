import { Menu, shell, type MenuItemConstructorOptions } from 'electron';

/** The paper the app is built around (there is no separate project site to link). */
export const PAPER_URL =
  'https://papers.nips.cc/paper_files/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html';

export interface MenuActions {
  /** Shows a view of the UI by its route (`/new`, `/datasets`, …) in the focused window. */
  show(route: string): void;
  openExternal(url: string): void;
}

/** The application menu; developer tools only when `dev`. */
export function menuTemplate(
  actions: MenuActions,
  { mac, dev }: { mac: boolean; dev: boolean },
): MenuItemConstructorOptions[] {
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { label: 'New Run', accelerator: 'CmdOrCtrl+N', click: () => actions.show('/new') },
      { label: 'Import Dataset…', click: () => actions.show('/datasets') },
      { type: 'separator' },
      { label: 'Runs', accelerator: 'CmdOrCtrl+1', click: () => actions.show('/runs') },
      { label: 'Compare', accelerator: 'CmdOrCtrl+2', click: () => actions.show('/compare') },
      { label: 'Retrieval', accelerator: 'CmdOrCtrl+3', click: () => actions.show('/retrieval') },
      { type: 'separator' },
      mac ? { role: 'close' } : { role: 'quit' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      { role: 'reload' },
      ...(dev ? [{ role: 'toggleDevTools' } as const] : []),
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [
      {
        label: 'The AlexNet Paper (NIPS 2012)',
        click: () => actions.openExternal(PAPER_URL),
      },
    ],
  };
  return [
    ...(mac ? [{ role: 'appMenu' } as const] : []),
    file,
    { role: 'editMenu' },
    view,
    { role: 'windowMenu' },
    help,
  ];
}

/** Installs the application menu. */
export function setupMenu(show: MenuActions['show'], options: { mac: boolean; dev: boolean }) {
  const actions: MenuActions = { show, openExternal: (url) => void shell.openExternal(url) };
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(actions, options)));
}
