// Two devices that dial each other at the same moment end up with two links. Both must keep the
// same one, or each closes the link the other kept and they are left with none; so the choice
// depends only on facts both sides share: who dialed each link, and its connection id.
// That tie-break is only for two live links. A device killed and restarted dials in while its peer
// still holds the dead link: the peer asks the old link to answer first (a ping), and a link that
// does not answer is replaced at once, whoever dialed it (resolveDuplicate).

export interface LinkIdentity {
  /** device ID of the side that dialed (the offerer) */
  dialerId: string;
  /** connection id both sides know (chosen by the dialer) */
  connectionId: string;
}

export type DedupeDecision = 'keep-existing' | 'keep-incoming';

/**
 * Which of two links between the same two devices to keep.
 * - Dialed by different devices (a simultaneous dial): keep the one whose dialer has the smaller
 *   device ID; both sides compute the same answer.
 * - Dialed by the same device: that device redialed because it believes the old link is dead,
 *   while this side has not noticed yet; keep the incoming one. (The dialer holds only the new
 *   link, so it never has to make this call itself.)
 */
export function chooseLink(existing: LinkIdentity, incoming: LinkIdentity): DedupeDecision {
  if (existing.connectionId === incoming.connectionId) return 'keep-existing';
  if (existing.dialerId !== incoming.dialerId) {
    return existing.dialerId < incoming.dialerId ? 'keep-existing' : 'keep-incoming';
  }
  return 'keep-incoming';
}

/** The identity of a PeerLink (or anything shaped like one) as seen from `localDeviceId`. */
export function identityOf(
  link: { role: 'offerer' | 'answerer'; id: string; peer: { deviceId: string } | null },
  localDeviceId: string,
): LinkIdentity {
  if (!link.peer) throw new Error('link has no peer yet');
  return { dialerId: link.role === 'offerer' ? localDeviceId : link.peer.deviceId, connectionId: link.id };
}

/**
 * Which link to keep when a new one from the same device arrives, given whether the existing one
 * answered a probe just now: a dead or silent link never wins over a live one.
 */
export function resolveDuplicate(existing: LinkIdentity, existingAnswered: boolean, incoming: LinkIdentity): DedupeDecision {
  if (!existingAnswered) return 'keep-incoming';
  return chooseLink(existing, incoming);
}
