// Whether a link's blocks can go over a udx bulk stream, and where to look for the peer (pure).
// The inputs are the two udxOffer messages of one link (PROTOCOL.md, "Bulk streams").

import { MAX_CANDIDATES, type UdxOffer } from '../protocol/messages.ts';
import { parseCandidate } from '../net/udx.ts';
import type { PathTarget } from '../net/udx-path.ts';
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

/** The dialer of the WebRTC link is the TLS client of its bulk stream, the other end the server. */
export function tlsRole(linkRole: LinkRole): 'client' | 'server' {
  return linkRole === 'offerer' ? 'client' : 'server';
}
