// The shares one link carries, and how that set changes while the link stays up (PROTOCOL.md,
// "Shares on a live link"). Pure bookkeeping: the device link sends what it returns.
//
// Per share, each direction on its own:
//   ours    this device's proof:   none -> sent -> accepted | refused   (back to none on withdraw)
//   theirs  the peer's proof, as this device checked it: null or the level it proved
// The peer may send index messages and block requests for a share once `theirs` is set; this
// device sends its own once the share is *carried*: ours accepted and theirs set.

import type { AccessLevel } from '../../../shared/api.ts';
import type { AcceptedShare } from '../protocol/share-proofs.ts';

export type ProofState = 'none' | 'sent' | 'accepted' | 'refused';

export interface ShareOnLink {
  shareId: string;
  discoveryId: string;
  ours: ProofState;
  /** the level the peer accepted from this device */
  ourLevel: AccessLevel | null;
  /** the level the peer proved to this device */
  theirs: AccessLevel | null;
}

export interface ShareChanges {
  /** shares that became carried (start the index exchange) */
  carried: string[];
  /** shares that stopped being carried or readable (stop it) */
  dropped: string[];
}

export class ShareViolation extends Error {}

export class ShareSet {
  private readonly shares = new Map<string, ShareOnLink>();
  /** discovery IDs of each shareProofs message sent and not yet answered, oldest first */
  private readonly unanswered: string[][] = [];
  /** every share this link has named, so late messages for a withdrawn share are not violations */
  private readonly named = new Set<string>();

  static isCarried(s: ShareOnLink): boolean {
    return s.ours === 'accepted' && s.theirs !== null;
  }

  get(discoveryId: string): ShareOnLink | undefined {
    return this.shares.get(discoveryId);
  }

  /** Shares carried both ways. */
  carried(): ShareOnLink[] {
    return [...this.shares.values()].filter(ShareSet.isCarried);
  }

  /** The peer proved this share to us: it may send index messages and requests for it. */
  readable(discoveryId: string): ShareOnLink | null {
    const s = this.shares.get(discoveryId);
    return s && s.theirs !== null ? s : null;
  }

  /** True when the share was named on this link at some point (a late message is no violation). */
  wasNamed(discoveryId: string): boolean {
    return this.named.has(discoveryId);
  }

  private entry(discoveryId: string, shareId: string): ShareOnLink {
    let s = this.shares.get(discoveryId);
    if (!s) {
      s = { shareId, discoveryId, ours: 'none', ourLevel: null, theirs: null };
      this.shares.set(discoveryId, s);
      this.named.add(discoveryId);
    }
    return s;
  }

  /** What the handshake agreed: carried both ways. */
  fromHandshake(shares: readonly { discoveryId: string; shareId: string; peerLevel: AccessLevel; ourLevel: AccessLevel }[]): ShareChanges {
    for (const h of shares)
      Object.assign(this.entry(h.discoveryId, h.shareId), { ours: 'accepted', ourLevel: h.ourLevel, theirs: h.peerLevel });
    return { carried: shares.map((h) => h.discoveryId), dropped: [] };
  }

  /**
   * Shares this device wants to offer here: returns those to prove now (not already sent or
   * accepted). The caller sends one shareProofs message with their proofs.
   */
  offer(shares: readonly { discoveryId: string; shareId: string }[]): string[] {
    const out: string[] = [];
    for (const { discoveryId, shareId } of shares) {
      const s = this.entry(discoveryId, shareId);
      if (s.ours === 'sent' || s.ours === 'accepted') continue;
      s.ours = 'sent';
      out.push(discoveryId);
    }
    if (out.length) this.unanswered.push(out);
    return out;
  }

  /**
   * The peer's shareProofs, as checked: `accepted` are the proofs that verified for shares this
   * device offers. Returns the shares whose own proof must now be sent (the caller offers them)
   * and what changed.
   */
  peerProved(
    accepted: readonly AcceptedShare[],
    shareIdOf: (discoveryId: string) => string,
  ): { proveBack: { discoveryId: string; shareId: string }[]; changes: ShareChanges } {
    const proveBack: { discoveryId: string; shareId: string }[] = [];
    const changes: ShareChanges = { carried: [], dropped: [] };
    for (const { share, level } of accepted) {
      const s = this.entry(share, shareIdOf(share));
      const was = ShareSet.isCarried(s);
      s.theirs = level;
      if (s.ours === 'none' || s.ours === 'refused') proveBack.push({ discoveryId: share, shareId: s.shareId });
      if (!was && ShareSet.isCarried(s)) changes.carried.push(share);
    }
    return { proveBack, changes };
  }

  /** The peer's shareResult: answers this device's oldest unanswered shareProofs. */
  peerAnswered(accepted: readonly AcceptedShare[]): ShareChanges {
    const asked = this.unanswered.shift();
    if (!asked) throw new ShareViolation('a shareResult that answers no shareProofs');
    const levels = new Map(accepted.map((a) => [a.share, a.level]));
    for (const share of levels.keys())
      if (!asked.includes(share)) throw new ShareViolation(`a shareResult accepting share ${share}, which was not offered`);
    const changes: ShareChanges = { carried: [], dropped: [] };
    for (const share of asked) {
      const s = this.shares.get(share);
      // withdrawn (by either side) since it was offered: a later offer starts again
      if (!s || s.ours !== 'sent') continue;
      const level = levels.get(share);
      s.ours = level ? 'accepted' : 'refused';
      s.ourLevel = level ?? null;
      if (ShareSet.isCarried(s)) changes.carried.push(share);
    }
    return changes;
  }

  /** This device stops carrying a share here. Returns whether the peer must be told. */
  withdraw(discoveryId: string): { tellPeer: boolean; changes: ShareChanges } {
    const s = this.shares.get(discoveryId);
    if (!s) return { tellPeer: false, changes: { carried: [], dropped: [] } };
    this.shares.delete(discoveryId);
    const readable = s.theirs !== null;
    return {
      tellPeer: s.ours !== 'none' || readable,
      changes: { carried: [], dropped: readable || ShareSet.isCarried(s) ? [discoveryId] : [] },
    };
  }

  /** The peer stopped carrying these shares here: it forgot our proofs and we forget its. */
  peerWithdrew(discoveryIds: readonly string[]): ShareChanges {
    const changes: ShareChanges = { carried: [], dropped: [] };
    for (const d of discoveryIds) {
      const s = this.shares.get(d);
      if (!s) continue;
      if (s.theirs !== null) changes.dropped.push(d);
      s.theirs = null;
      s.ours = 'none';
      s.ourLevel = null;
    }
    return changes;
  }
}
