// The control server's access rules as pure functions of request headers, so they can be tested
// without sockets. The token is the only credential: it reaches the browser through the URL the
// daemon prints (or the login page) and then lives in an HttpOnly cookie; the CLI sends it as a
// Bearer header after reading it from the home folder.
import { timingSafeEqual } from 'node:crypto';

export interface RequestHeaders {
  cookie?: string | string[];
  authorization?: string | string[];
  origin?: string | string[];
  host?: string | string[];
}

/**
 * Cookies are not isolated by port, so two daemons on one machine (different homes, different
 * ports) would overwrite each other's cookie under one name. The port keeps them apart.
 */
export function cookieName(port: number): string {
  return `peerfold_token_${port}`;
}

export function sessionCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const all = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of all.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** Constant-time comparison, so response timing does not leak how much of a guess was right. */
export function tokenMatches(candidate: string | undefined | null, token: string): boolean {
  if (typeof candidate !== 'string' || candidate.length === 0) return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(token);
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function bearerToken(header: string | string[] | undefined): string | null {
  const h = first(header);
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1] : null;
}

/** True when the request carries the token in our cookie or an Authorization: Bearer header. */
export function isAuthorized(headers: RequestHeaders, token: string, port: number): boolean {
  if (tokenMatches(bearerToken(headers.authorization), token)) return true;
  return tokenMatches(parseCookies(headers.cookie).get(cookieName(port)), token);
}

/**
 * A WebSocket upgrade is allowed from no origin at all (the CLI, scripts) or from the page's own
 * origin: the one named by the Host header of the same request. Comparing with Host rather than a
 * fixed 127.0.0.1:PORT keeps SSH port forwarding (`ssh -L 8080:127.0.0.1:21121`) working while a
 * page on any other site is refused. (A DNS-rebinding page would match, but it never has our
 * cookie, which belongs to 127.0.0.1 and is SameSite=Strict.)
 */
export function originAllowed(headers: RequestHeaders): boolean {
  const origin = first(headers.origin);
  if (origin === undefined) return true;
  const host = first(headers.host);
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}
