// Who the signaling listener lets in (pure decisions; signaling.ts applies them). Anyone on the
// network can open connections to the listener, so its slots must not be something an idle or
// half-open connection can hold against real peers:
// - each remote address holds at most a few connections (TCP included, before any WebSocket);
// - a TCP connection that has not become a WebSocket soon is dropped;
// - when every session slot is taken, the oldest session that has still not said hello (after a
//   grace period: a real dialer says hello at once) makes room for the newcomer.

/** Open connections (from TCP accept to close) one remote address may hold. */
export const MAX_CONNECTIONS_PER_ADDRESS = 8;
/** Open TCP connections not yet upgraded to a WebSocket, over all addresses. */
export const MAX_UNUPGRADED_CONNECTIONS = 64;
/** A TCP connection that has not become a signaling WebSocket within this is dropped. */
export const UPGRADE_TIMEOUT_MS = 5_000;
/** A session younger than this is not evicted for lacking a hello: its hello may be on the way. */
export const HELLO_GRACE_MS = 1_000;

export type ConnectionAdmission = { ok: true } | { ok: false; reason: string };

export function admitConnection(c: {
  fromAddress: number;
  maxPerAddress: number;
  unupgraded: number;
  maxUnupgraded: number;
}): ConnectionAdmission {
  if (c.fromAddress >= c.maxPerAddress) return { ok: false, reason: `${c.maxPerAddress} connections from that address already open` };
  if (c.unupgraded >= c.maxUnupgraded) return { ok: false, reason: `${c.maxUnupgraded} connections already waiting to start signaling` };
  return { ok: true };
}

export interface SessionView<S> {
  session: S;
  saidHello: boolean;
  startedAt: number;
}

export type SessionAdmission<S> = { ok: true; evict: S | null } | { ok: false; reason: string };

/** A new signaling session: room for it, room made by evicting an idle one, or none. */
export function admitSession<S>(sessions: readonly SessionView<S>[], max: number, now: number, graceMs: number): SessionAdmission<S> {
  if (sessions.length < max) return { ok: true, evict: null };
  let idle: SessionView<S> | null = null;
  for (const s of sessions) {
    if (s.saidHello || now - s.startedAt < graceMs) continue;
    if (!idle || s.startedAt < idle.startedAt) idle = s;
  }
  if (idle) return { ok: true, evict: idle.session };
  return { ok: false, reason: `${max} signaling sessions already in progress` };
}
