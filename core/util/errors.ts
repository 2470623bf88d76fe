/**
 * An error caused by what the user asked for (a missing file, a bad flag, an unknown preset).
 * The CLI prints its message as one line, without a stack trace unless `--verbose`.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Errors cross process boundaries in this shape. */
export interface SerializedError {
  message: string;
  stack?: string;
}

/** The message of anything thrown, for one-line reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error)
    return err.stack ? { message: err.message, stack: err.stack } : { message: err.message };
  return { message: String(err) };
}

/** A run, dataset, index or image that does not exist (the API answers 404). */
export class NotFoundError extends UserError {}

/** An action refused in the current state: already running, name taken, not running (409). */
export class RefusedError extends UserError {}
