import { UserError } from './errors.js';

/**
 * The storage failures a user can act on — a full disk, a read-only or forbidden folder — as
 * UserErrors that say so plainly; null for anything else. Node's fs codes and SQLite's both count.
 */
export function storageError(err: unknown): UserError | null {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : null;
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return new UserError(
        `the disk is full (${detail})`,
        'free some space and try again; what was saved before stays intact',
      );
    case 'EROFS':
    case 'SQLITE_READONLY':
      return new UserError(
        `the workbench folder is read-only (${detail})`,
        'point SVW_HOME at a writable folder',
      );
    case 'EACCES':
    case 'EPERM':
      return new UserError(
        `permission denied (${detail})`,
        'check the permissions of SVW_HOME and the files involved',
      );
    default:
      return null;
  }
}
