// Whether a link's blocks can go over a TCP or udx bulk stream, and where to reach the peer (pure).
// The inputs are the offers of one link (PROTOCOL.md, "Bulk streams"). TCP is preferred where it
// connects; udx is tried beside it, for paths TCP cannot take (through NATs); the data channel
// carries whatever neither does.

import { isIP } from 'node:net';
import { MAX_CANDIDATES, type TcpOffer, type UdxOffer } from '../protocol/messages.ts';
import { parseCandidate } from '../net/udx.ts';
import type { PathTarget } from '../net/udx-path.ts';
import type { SelectedPath } from '../net/path.ts';
import type { LinkRole } from '../net/transport.ts';

/** This device's side of a link's bulk stream: 'off' when it does not use udx. */
export type OurBulkSide = { streamId: number; family: 4 | 6 } | 'off';

export type BulkPlan =
  /** an offer is still missing */
  | { kind: 'wait' }
  /** no bulk stream on this link: blocks stay on the data channel */
  | { kind: 'datachannel'; reason: string }
  /** probe these addresses of the peer's */
  | { kind: 'probe'; targets: PathTarget[] };

export function planBulk(ours: OurBulkSide | null, peer: UdxOffer | null): BulkPlan {
  if (ours === 'off') return { kind: 'datachannel', reason: 'udx is off on this device' };
  if (peer && peer.streamId === 0) return { kind: 'datachannel', reason: 'the peer does not use udx' };
  if (!ours || !peer) return { kind: 'wait' };
  const seen = new Set<string>();
  const targets: PathTarget[] = [];
  for (const c of peer.candidates.slice(0, MAX_CANDIDATES)) {
    const p = parseCandidate(c);
    if (!p || p.family !== ours.family) continue;
    const key = `${p.host}|${p.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ host: p.host, port: p.port });
  }
  if (!targets.length) return { kind: 'datachannel', reason: "none of the peer's udx addresses is usable from this device's socket" };
  return { kind: 'probe', targets };
}

/**
 * What carries a link's blocks right after one of its two bulk legs gave up, for the log line that
 * says so: the other leg's stream when it is up, the data channel until the other leg is through
 * trying, or the data channel for good.
 */
export function carrierAfterGivingUp(other: { name: 'TCP' | 'udx'; up: boolean; trying: boolean }): string {
  if (other.up) return `blocks go over the ${other.name} stream`;
  if (other.trying) return `blocks go over the data channel until a ${other.name} stream is up`;
  return 'blocks go over the data channel';
}

/** The dialer of the WebRTC link is the TLS client of its bulk stream, the other end the server. */
export function tlsRole(linkRole: LinkRole): 'client' | 'server' {
  return linkRole === 'offerer' ? 'client' : 'server';
}

export type TcpPlan =
  /** an offer is still missing */
  | { kind: 'wait' }
  /** no TCP stream on this link */
  | { kind: 'off'; reason: string }
  /** the TLS server: the peer dials this device's listener */
  | { kind: 'listen' }
  /** the TLS client: dial the peer here */
  | { kind: 'dial'; host: string; port: number };

/**
 * `ours`: this device's tcpOffer went out with a port (true), with port 0 (false), not yet (null).
 * `peerHost`: the peer's address on the link's selected candidate pair (tcpTarget).
 */
export function planTcp(ours: boolean | null, peer: TcpOffer | null, role: 'client' | 'server', peerHost: string | null): TcpPlan {
  if (ours === false) return { kind: 'off', reason: 'TCP is off on this device' };
  if (peer && peer.port === 0) return { kind: 'off', reason: 'the peer does not use TCP' };
  if (ours === null || !peer) return { kind: 'wait' };
  if (role === 'server') return { kind: 'listen' };
  if (!peerHost) return { kind: 'off', reason: 'the link has no direct address of the peer (it goes through a relay)' };
  return { kind: 'dial', host: peerHost, port: peer.port };
}

/**
 * Where to dial the peer's TCP port: its address on the path ICE chose, when that path is direct
 * (a TURN relay's address leads to the relay, not the peer). A NAT on the way usually drops the
 * connection attempt; the dial then times out and udx or the data channel carry the blocks.
 */
export function tcpTarget(path: SelectedPath | null): string | null {
  if (!path || path.local.type === 'relay' || path.remote.type === 'relay') return null;
  const host = path.remote.address;
  return isIP(host) ? host : null;
}

/**
 * How long the TLS server of a link's TCP streams waits for the client's connection before it
 * dials the client's port itself (tcp-leg.ts, reverse dial): the client's own dial gives up after
 * TCP_CONNECT_TIMEOUT_MS (3 s), and a connection that made it is bound within a round trip or two.
 */
export const REVERSE_DIAL_AFTER_MS = Number(process.env.PEERFOLD_TCP_REVERSE_AFTER_MS ?? 5_000);
/**
 * How much longer than REVERSE_DIAL_AFTER_MS a client whose dial failed waits for the server's
 * reverse dial before it gives TCP up on the link: that dial's connect timeout and its TLS bind.
 */
export const REVERSE_WAIT_MS = 15_000;

/** Most TCP streams one link stripes its blocks over (the listener refuses more). */
export const MAX_TCP_STREAMS = 4;
/** Below this round trip a path is a LAN (or loopback): one stream, since the CPU, not the window, is the limit there. */
export const LAN_RTT_MS = 10;
/**
 * The rate a long path is assumed able to carry: 1 Gbit/s (the link cannot know the path's rate
 * before it has moved data, and the streams are opened before the first block). It only sizes the
 * count; extra streams on a slower path share its bottleneck and cost a TLS session each.
 */
export const ASSUMED_PATH_BYTES_PER_SEC = 125_000_000;
/**
 * The share of the kernel's socket buffer (tcp_wmem's maximum) one TCP stream keeps in flight:
 * the buffer holds the kernel's overhead too. Measured across RTT 100 ms: one stream held by a
 * 4 MiB tcp_wmem carried 24-25 MB/s, ~2.5 MB per round trip.
 */
const IN_FLIGHT_SHARE_OF_BUFFER = 0.6;

export interface StripeInputs {
  /** the path's round trip, measured (the TCP dial's connect time) */
  rttMs: number;
  /** the kernel's largest send buffer for one socket (tcp_wmem's maximum), bytes */
  socketBufferBytes: number;
  /** the peer's address is loopback */
  loopback?: boolean;
}

/**
 * How many TCP streams a link's blocks go over (pure). One TCP stream moves at most one window
 * per round trip, and the kernel caps that window (tcp_wmem); under random loss each stream also
 * halves alone, so its rate falls with RTT × √loss. Both limits bite on long paths and not on
 * short ones: a LAN or loopback gets one stream (its CPU is the limit, and a second TLS session
 * only adds work); a long path gets as many as its bandwidth-delay product needs windows, at least
 * two (loss, which this device cannot see, is what the second buys), at most MAX_TCP_STREAMS.
 */
export function stripeCount(p: StripeInputs): number {
  if (p.loopback || !(p.rttMs >= LAN_RTT_MS)) return 1;
  const perStream = Math.max(64 * 1024, p.socketBufferBytes * IN_FLIGHT_SHARE_OF_BUFFER);
  const needed = Math.ceil(((p.rttMs / 1000) * ASSUMED_PATH_BYTES_PER_SEC) / perStream);
  return Math.min(MAX_TCP_STREAMS, Math.max(2, needed));
}

/** The count a device was told to use (PEERFOLD_TCP_STREAMS, 1-4), or null to choose it from the path. */
export function forcedStripeCount(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_TCP_STREAMS) : null;
}
