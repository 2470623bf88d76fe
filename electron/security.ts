import type { Session } from 'electron';

/** Only web links leave the app, and they open in the user's browser, never in an app window. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Refuses every permission (camera, notifications, clipboard reading, …): the UI needs none, and
 * Electron would otherwise grant them all without asking.
 */
export function setupPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}
