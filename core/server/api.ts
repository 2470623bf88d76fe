import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostService } from '../api/host-service.js';
import { sendApiError, sendJson } from './respond.js';

/** The largest request body accepted: a 20 MB search image as base64, with room to spare. */
export const MAX_BODY_BYTES = 40 * 1024 * 1024;

class BodyTooLarge extends Error {}

/**
 * Answers `POST api/<method>` with the service's outcome: `{ok:true,result}` with 200, or
 * `{ok:false,error}` with the outcome's status.
 */
export async function handleApi(
  service: HostService,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    sendApiError(res, 405, 'refused', 'API calls are POST requests', { Allow: 'POST' });
    return;
  }
  // Browsers send form and text/plain posts cross-site without asking; a JSON type they do not.
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    sendApiError(res, 415, 'invalid', 'API calls must send application/json');
    return;
  }
  let text: string;
  try {
    text = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    // Close the connection instead of reading the rest of an oversized body.
    res.setHeader('Connection', 'close');
    sendApiError(res, 413, 'invalid', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    return;
  }
  let input: unknown;
  try {
    input = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    sendApiError(res, 400, 'invalid', 'the request body is not valid JSON');
    return;
  }
  if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(method)) {
    sendApiError(res, 404, 'not-found', 'no such API method');
    return;
  }
  const outcome = await service.call(method, input);
  if (outcome.ok) sendJson(res, 200, { ok: true, result: outcome.result });
  else sendJson(res, outcome.status, { ok: false, error: outcome.error });
}

/** The body as UTF-8, refusing (by Content-Length or as it streams) anything over `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        // Keep draining (without storing) so the client can read the 413 before the close.
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
