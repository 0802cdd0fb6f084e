// How a link actually reaches its peer, from the candidate pair ICE selected: on the LAN, through
// NATs across the internet, or through a TURN relay. Pure; the caller supplies this machine's
// networks (local-networks.ts).
import type { LinkVia } from './transport.ts';

/** One end of the selected candidate pair, as libdatachannel reports it. */
export interface PathEnd {
  address: string;
  port: number;
  /** host, srflx, prflx or relay */
  type: string;
}

export interface SelectedPath {
  local: PathEnd;
  remote: PathEnd;
}

/** An IPv4 or IPv6 network of this machine. */
export interface LocalNetwork {
  address: string;
  netmask: string;
  family: 'IPv4' | 'IPv6';
}

/**
 * What `peerfold peers` shows as `via`:
 *  - `relay`    either end of the pair is a TURN relay candidate (relayed one way counts)
 *  - `manual`   the address was given by hand and the path is direct
 *  - `lan`      found on the LAN, or the peer's address is on one of this machine's networks
 *  - `internet` found through a tracker and reached directly, through NATs
 * `found` is how the peer was found; without a selected pair yet, that is the answer.
 */
export function connectedVia(found: LinkVia, path: SelectedPath | null, networks: readonly LocalNetwork[]): LinkVia {
  if (!path) return found;
  if (isRelay(path.local.type) || isRelay(path.remote.type)) return 'relay';
  if (found === 'manual' || found === 'lan') return found;
  return onLocalNetwork(path.remote.address, networks) ? 'lan' : 'internet';
}

function isRelay(type: string): boolean {
  return type.toLowerCase() === 'relay' || type.toLowerCase() === 'relayed';
}

/** A loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

/** Is `address` loopback or inside one of `networks`? */
export function onLocalNetwork(address: string, networks: readonly LocalNetwork[]): boolean {
  const v4 = ipv4ToInt(address.startsWith('::ffff:') ? address.slice(7) : address);
  if (v4 !== null) {
    if (v4 >>> 24 === 127) return true;
    return networks.some((n) => {
      if (n.family !== 'IPv4') return false;
      const a = ipv4ToInt(n.address);
      const m = ipv4ToInt(n.netmask);
      return a !== null && m !== null && m !== 0 && (a & m) >>> 0 === (v4 & m) >>> 0;
    });
  }
  const v6 = ipv6ToBigInt(address);
  if (v6 === null) return false;
  if (v6 === 1n) return true;
  return networks.some((n) => {
    if (n.family !== 'IPv6') return false;
    const a = ipv6ToBigInt(n.address);
    const m = ipv6ToBigInt(n.netmask);
    return a !== null && m !== null && m !== 0n && (a & m) === (v6 & m);
  });
}

export function ipv4ToInt(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function ipv6ToBigInt(s: string): bigint | null {
  const addr = s.replace(/%.*$/, ''); // zone id
  if (!addr.includes(':')) return null;
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string) => (h ? h.split(':') : []);
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** "ip:port", or "[ip]:port" for IPv6. */
export function formatEndpoint(end: { address: string; port: number }): string {
  return end.address.includes(':') ? `[${end.address}]:${end.port}` : `${end.address}:${end.port}`;
}
