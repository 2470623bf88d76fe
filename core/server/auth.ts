import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The cookie that carries the token once the browser has opened the printed URL. Browsers share
 * cookies across ports, so the name carries the port: two servers never overwrite each other's.
 */
export const tokenCookieName = (port: number) => `svw_token_${port}`;
/** The header that carries the token for scripts and tests. */
export const TOKEN_HEADER = 'x-svw-token';

/** A fresh per-start token: 32 random bytes, hex. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Where a request's token came from, or null when it sent none. */
export type TokenSource = 'query' | 'header' | 'cookie';

/** The token a request presents: the `token` query parameter, the header, or the cookie. */
export function presentedToken(
  req: IncomingMessage,
  url: URL,
  port: number,
): { token: string; source: TokenSource } | null {
  const query = url.searchParams.get('token');
  if (query !== null) return { token: query, source: 'query' };
  const header = req.headers[TOKEN_HEADER];
  if (typeof header === 'string') return { token: header, source: 'header' };
  const cookie = readCookie(req.headers.cookie, tokenCookieName(port));
  if (cookie !== null) return { token: cookie, source: 'cookie' };
  return null;
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Compares in constant time. Hashing first gives both sides the same length, so neither the
 * comparison nor a length check reveals how much of a guess was right.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The Set-Cookie value that stores the token for this origin's later requests. */
export function tokenCookie(token: string, port: number): string {
  return `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Host and Origin checks. A Host other than our own address means a DNS-rebinding page is
 * talking to us under a name it controls; a foreign Origin means another site's script.
 */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = req.headers.host?.toLowerCase();
  if (!host || !allowed.includes(host)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return allowed.some((a) => origin.toLowerCase() === `http://${a}`);
}

/** Why a request is refused before any route sees it, or null when it may proceed. */
export function refusal(
  req: IncomingMessage,
  url: URL,
  port: number,
  expected: string,
): string | null {
  if (!originAllowed(req, port)) return 'this server answers only its own address and pages';
  const presented = presentedToken(req, url, port);
  if (!presented || !tokenMatches(presented.token, expected))
    return 'a valid token is required: open the URL that `svw serve` printed';
  return null;
}
