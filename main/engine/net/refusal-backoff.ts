// Which peers met through a tracker to make links with now (pure; tracker-client.ts applies it).
// Every link through a tracker costs a full WebRTC handshake (ICE, DTLS, SCTP) before the share
// handshake can refuse it, and a tracker keeps handing out the same peers: a device removed from
// a share that still announces it, one whose share handshake fails for another reason, or any
// peer at all when the tracker lies. Without a limit each of them costs a handshake every few
// seconds, for ever. So, per remote peer ID at one tracker:
// - one link at a time: a second offer or answer while a link with it is being made is skipped;
// - a link that ends before the share handshake accepted it (refused, timed out, cut) makes that
//   peer wait FIRST_BACKOFF_MS, doubling with each refusal in a row up to MAX_BACKOFF_MS; a link
//   accepted clears its record.
// A tracker that lies can also make up peer IDs; so, per tracker, once REFUSAL_BUDGET links were
// refused within REFUSAL_WINDOW_MS, peers never accepted there wait until the oldest refusal
// leaves the window. Peers accepted before are not held back by that.
// A device ID would be a better key, but it is known only after the handshake this is to avoid.

/** The wait after a peer's first refusal; each further refusal in a row doubles it. */
export const FIRST_BACKOFF_MS = 30_000;
/** The longest wait: a refused peer is tried again at least this often (it may have been re-added). */
export const MAX_BACKOFF_MS = 60 * 60_000;
/** Refusals at one tracker within REFUSAL_WINDOW_MS before its unknown peers are held back. */
export const REFUSAL_BUDGET = 20;
export const REFUSAL_WINDOW_MS = 10 * 60_000;
/** Peers remembered (refused or accepted); the oldest are forgotten beyond this. */
export const MAX_REMEMBERED_PEERS = 1024;

/** The wait after `refusals` refusals in a row (1 = the first). */
export function refusalDelay(refusals: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(Math.max(0, refusals - 1), 20));
}

export type LinkAttempt = { ok: true } | { ok: false; reason: 'in progress' | 'refused before' | 'too many refusals'; until: number };

interface PeerRecord {
  /** links with this peer being made or in their share handshake */
  pending: number;
  /** refusals in a row */
  refusals: number;
  /** no new link before this (ms) */
  until: number;
  /** a link with it was accepted (and not refused since) */
  accepted: boolean;
}

export class RefusalBackoff {
  private readonly peers = new Map<string, PeerRecord>();
  /** when the refusals within the window happened, oldest first */
  private recent: number[] = [];

  /** May a link with `peer` be made now (an offer of its answered, or an answer sent to its offer)? */
  check(peer: string, now: number): LinkAttempt {
    const r = this.peers.get(peer);
    if (r && r.pending > 0) return { ok: false, reason: 'in progress', until: now };
    if (r && r.until > now) return { ok: false, reason: 'refused before', until: r.until };
    if (!r?.accepted) {
      this.forgetOld(now);
      if (this.recent.length >= REFUSAL_BUDGET)
        return { ok: false, reason: 'too many refusals', until: this.recent[0] + REFUSAL_WINDOW_MS };
    }
    return { ok: true };
  }

  /** A link with `peer` is being made. */
  begin(peer: string): void {
    const r = this.record(peer);
    r.pending++;
  }

  /** A link begun with `peer` ended before it was handed on (it never opened): no verdict on the peer. */
  abandoned(peer: string): void {
    const r = this.peers.get(peer);
    if (r && r.pending > 0) r.pending--;
  }

  /** The share handshake accepted a link with `peer`. */
  accepted(peer: string): void {
    const r = this.record(peer);
    if (r.pending > 0) r.pending--;
    r.refusals = 0;
    r.until = 0;
    r.accepted = true;
  }

  /** A link with `peer` ended before the share handshake accepted it: returns how long it now waits. */
  refused(peer: string, now: number): number {
    const r = this.record(peer);
    if (r.pending > 0) r.pending--;
    r.refusals++;
    r.accepted = false;
    const wait = refusalDelay(r.refusals);
    r.until = Math.max(r.until, now + wait);
    this.forgetOld(now);
    this.recent.push(now);
    return wait;
  }

  /** Refusals at this tracker within the window (for status and logs). */
  refusalsWithin(now: number): number {
    this.forgetOld(now);
    return this.recent.length;
  }

  private record(peer: string): PeerRecord {
    let r = this.peers.get(peer);
    if (r) {
      // most recently used last, so the oldest go first
      this.peers.delete(peer);
    } else {
      r = { pending: 0, refusals: 0, until: 0, accepted: false };
      if (this.peers.size >= MAX_REMEMBERED_PEERS) {
        const oldest = [...this.peers].find(([, p]) => p.pending === 0);
        if (oldest) this.peers.delete(oldest[0]);
      }
    }
    this.peers.set(peer, r);
    return r;
  }

  private forgetOld(now: number): void {
    let i = 0;
    while (i < this.recent.length && this.recent[i] <= now - REFUSAL_WINDOW_MS) i++;
    if (i) this.recent = this.recent.slice(i);
  }
}
