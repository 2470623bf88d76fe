import type { z } from 'zod';
import { NotFoundError, RefusedError, UserError } from '../util/errors.js';
import { storageError } from '../util/system-errors.js';
import {
  methodInputs,
  type ApiErrorBody,
  type MethodName,
  type MethodOutputs,
} from './contract.js';
import type { CallOutcome } from './host-service.js';

/** One implementation per API method, taking the input as the contract's schema parsed it. */
export type Handlers = {
  [M in MethodName]: (
    input: z.output<(typeof methodInputs)[M]>,
  ) => MethodOutputs[M] | Promise<MethodOutputs[M]>;
};

const fail = (
  status: 400 | 404 | 409 | 500,
  code: ApiErrorBody['code'],
  message: string,
  path?: string,
): CallOutcome => ({
  ok: false,
  status,
  error: path === undefined ? { code, message } : { code, message, path },
});

/** The outcome of a thrown error: what the user can act on, or a bug (logged, not shown). */
export function errorOutcome(err: unknown, method: string): CallOutcome {
  if (err instanceof NotFoundError) return fail(404, 'not-found', err.message);
  if (err instanceof RefusedError) return fail(409, 'refused', err.message);
  if (err instanceof UserError) return fail(400, 'invalid', err.message);
  const storage = storageError(err);
  if (storage) return fail(409, 'refused', `${storage.message}; ${storage.hint}`);
  // A stack trace helps whoever reads the host's log, never the UI.
  console.error(`svw: ${method} failed:`, err instanceof Error ? (err.stack ?? err.message) : err);
  return fail(500, 'internal', `the host failed to do '${method}'; its log has the details`);
}

/**
 * Validates `input` against the method's schema and runs its handler. Never throws: an unknown
 * method, bad input or any failure becomes an error outcome with the HTTP status that fits.
 */
export async function dispatch(
  handlers: Handlers,
  method: unknown,
  input: unknown,
): Promise<CallOutcome> {
  // hasOwn, so inherited names ('constructor', '__proto__') are unknown methods too.
  if (typeof method !== 'string' || !Object.hasOwn(methodInputs, method))
    return fail(404, 'not-found', `no API method '${String(method).slice(0, 100)}'`);
  const name = method as MethodName;
  try {
    const parsed = methodInputs[name].safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.map(String).join('.') ?? '';
      return fail(400, 'invalid', issue?.message ?? 'invalid input', path);
    }
    const handler = handlers[name] as (input: unknown) => unknown;
    return { ok: true, result: await handler(parsed.data) };
  } catch (err) {
    return errorOutcome(err, name);
  }
}
