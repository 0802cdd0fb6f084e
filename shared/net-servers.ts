// The internet servers a user may list in the settings: WebTorrent trackers (ws:// or wss://),
// STUN servers (stun:HOST:PORT) and TURN relays (turn:USER:PASS@HOST:PORT?transport=udp|tcp).
// One parser for all of them, used where settings are checked (validate.ts, the engine's settings
// file) and where the engine turns them into ICE servers, so they cannot disagree. Pure.

/**
 * Well-known public WebTorrent trackers and STUN servers, so that two homes connect with nothing
 * but the code (the README and the settings page list them). Tests and CI never use them:
 * PEERFOLD_NO_PUBLIC=1 refuses every server named by a host name (config/internet-servers.ts).
 */
export const DEFAULT_TRACKERS: readonly string[] = [
  'wss://tracker.openwebtorrent.com',
  'wss://tracker.webtorrent.dev',
  'wss://tracker.btorrent.xyz',
];
export const DEFAULT_STUN_SERVERS: readonly string[] = ['stun:stun.l.google.com:19302', 'stun:stun.cloudflare.com:3478'];

export const MAX_SERVERS = 16;
export const MAX_SERVER_URL = 512;

export interface StunServer {
  host: string;
  port: number;
}

export interface TurnServer {
  host: string;
  port: number;
  username: string;
  password: string;
  transport: 'udp' | 'tcp' | 'tls';
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** A host as written (IPv6 in brackets) -> the bare host, or null when it is not a host name or IP. */
function parseHost(text: string): string | null {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1);
    return IPV6.test(inner) && inner.includes(':') ? inner : null;
  }
  return IPV4.test(text) || HOSTNAME.test(text) ? text : null;
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** "HOST:PORT" or "[v6]:PORT" (the port may be left out when `defaultPort` is given). */
function hostPort(text: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  const host = parseHost(m[1]);
  const port = m[2] === undefined ? defaultPort : parsePort(m[2]);
  return host && port ? { host, port } : null;
}

function basicChecks(url: string, what: string): string | null {
  if (url.length === 0) return `an empty ${what}`;
  if (url.length > MAX_SERVER_URL) return `a ${what} longer than ${MAX_SERVER_URL} characters`;
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return `${JSON.stringify(url)}: a ${what} has no spaces or control characters`;
  return null;
}

/** A tracker URL: ws:// or wss:// with a host. */
export function parseTrackerUrl(url: string): Parsed<string> {
  const bad = basicChecks(url, 'tracker URL');
  if (bad) return { ok: false, error: bad };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: `${JSON.stringify(url)} is not a URL; a tracker looks like wss://tracker.example.org` };
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    return { ok: false, error: `${JSON.stringify(url)}: a tracker URL starts with ws:// or wss:// (a WebTorrent tracker)` };
  }
  if (!u.hostname) return { ok: false, error: `${JSON.stringify(url)} names no host` };
  if (u.username || u.password) return { ok: false, error: `${JSON.stringify(url)}: a tracker URL carries no user name or password` };
  return { ok: true, value: url };
}

/** stun:HOST:PORT (port 3478 when left out). */
export function parseStunUrl(url: string): Parsed<StunServer> {
  const bad = basicChecks(url, 'STUN server');
  if (bad) return { ok: false, error: bad };
  const m = /^stun:(.*)$/i.exec(url);
  const hp = m ? hostPort(m[1], 3478) : null;
  if (!hp) return { ok: false, error: `${JSON.stringify(url)}: a STUN server is written stun:HOST:PORT, e.g. stun:stun.example.org:3478` };
  return { ok: true, value: hp };
}

const percentDecode = (s: string): string | null => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};

/**
 * turn:USER:PASS@HOST:PORT?transport=udp|tcp (turns: for TLS). The user name may hold ':' as it
 * is (REST-style TURN credentials are "expiry:name"): the password is what follows the last ':'
 * before the '@', so a ':' or '@' inside the password is written %3A or %40. Both are
 * percent-decoded.
 */
export function parseTurnUrl(url: string): Parsed<TurnServer> {
  const bad = basicChecks(url, 'TURN server');
  if (bad) return { ok: false, error: bad };
  const usage = 'a TURN server is written turn:USER:PASS@HOST:PORT?transport=udp (or tcp)';
  const m = /^(turns?):(.*)$/i.exec(url);
  if (!m) return { ok: false, error: `${JSON.stringify(url)}: ${usage}` };
  const tls = m[1].toLowerCase() === 'turns';
  let rest = m[2];
  let transport: TurnServer['transport'] = tls ? 'tls' : 'udp';
  const q = rest.indexOf('?');
  if (q >= 0) {
    const query = rest.slice(q + 1);
    rest = rest.slice(0, q);
    const t = /^transport=(udp|tcp)$/i.exec(query);
    if (!t) return { ok: false, error: `${JSON.stringify(url)}: after '?' only transport=udp or transport=tcp may follow` };
    if (!tls) transport = t[1].toLowerCase() as 'udp' | 'tcp';
  }
  const at = rest.lastIndexOf('@');
  if (at < 0) return { ok: false, error: `${JSON.stringify(url)}: a TURN server needs a user name and password; ${usage}` };
  const creds = rest.slice(0, at);
  const colon = creds.lastIndexOf(':');
  if (colon <= 0) return { ok: false, error: `${JSON.stringify(url)}: a TURN server needs a user name and password; ${usage}` };
  const username = percentDecode(creds.slice(0, colon));
  const password = percentDecode(creds.slice(colon + 1));
  if (username === null || password === null || !username || !password) {
    return { ok: false, error: `${JSON.stringify(url)}: the user name or password is empty or badly %-encoded` };
  }
  const hp = hostPort(rest.slice(at + 1), tls ? 5349 : 3478);
  if (!hp) return { ok: false, error: `${JSON.stringify(url)}: the host or port is not valid; ${usage}` };
  return { ok: true, value: { ...hp, username, password, transport } };
}

/**
 * A list setting: an array of strings, or one comma-separated string (what `peerfold settings KEY
 * VALUE` sends; an empty string is the empty list). Every entry is checked; duplicates are dropped.
 */
export function parseServerList(value: unknown, what: string, parseOne: (url: string) => Parsed<unknown>): Parsed<string[]> {
  let items: unknown[];
  if (typeof value === 'string') items = value.split(',');
  else if (Array.isArray(value)) items = value;
  else return { ok: false, error: `${what} is a list of URLs (or one comma-separated string)` };
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') return { ok: false, error: `${what} holds only strings` };
    const url = item.trim();
    if (!url) continue;
    const r = parseOne(url);
    if (!r.ok) return { ok: false, error: `${what}: ${r.error}` };
    if (!out.includes(url)) out.push(url);
  }
  if (out.length > MAX_SERVERS) return { ok: false, error: `${what}: at most ${MAX_SERVERS} servers` };
  return { ok: true, value: out };
}

/** The host a tracker, STUN or TURN URL names (for the no-public-address guard). */
export function serverHost(url: string): string | null {
  const t = parseTrackerUrl(url);
  if (t.ok) return new URL(url).hostname.replace(/^\[|\]$/g, '');
  const s = parseStunUrl(url);
  if (s.ok) return s.value.host;
  const r = parseTurnUrl(url);
  if (r.ok) return r.value.host;
  return null;
}

/** An IP address written out (v4 or v6), not a name that would have to be looked up. */
export function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || (IPV6.test(host) && host.includes(':'));
}
