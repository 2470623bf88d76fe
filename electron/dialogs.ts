import { dialog, type BrowserWindow } from 'electron';

/** A native folder picker, modal to `parent` when there is one; null when the user cancels. */
export async function pickFolder(
  parent: BrowserWindow | null,
  title: string | undefined,
): Promise<string | null> {
  const options = { title, properties: ['openDirectory' as const] };
  const { canceled, filePaths } = parent
    ? await dialog.showOpenDialog(parent, options)
    : await dialog.showOpenDialog(options);
  return canceled ? null : (filePaths[0] ?? null);
}
