// When a link through a tracker may use the TURN relays. ICE keeps the pair its controlling side
// nominates, and libjuice nominates the best pair that has succeeded 2 s after the first one did
// (NOMINATION_TIMEOUT): a hole punch through two NATs waits for both sides' checks and can take
// longer than a relay under load, so a relayed pair could win where a direct path exists (seen in
// e2e/internet). So a device first offers without its TURN servers, and adds them only after it
// has asked that long in vain; the answering side follows the offer, since a relay candidate on
// either end is enough for a relayed pair. Pure.
import type { IceServer } from 'node-datachannel';

/** How long a share asks for peers through a tracker with direct paths only before it offers relays too. */
export const RELAY_AFTER_MS = Number(process.env.PEERFOLD_RELAY_AFTER_MS ?? 20_000);

/** Whether offers made now carry relay candidates, for a share that has asked for peers since `askingSince`. */
export function offerRelays(askingSince: number, now: number, afterMs = RELAY_AFTER_MS): boolean {
  return now - askingSince >= afterMs;
}

/** Whether a peer's offer (its whole description, as a tracker carries it) has a relay candidate. */
export function offerHasRelay(sdp: string): boolean {
  return /\btyp relay\b/i.test(sdp);
}

/** The STUN servers of a link's ICE server list, without its TURN relays. */
export function withoutRelays(servers: readonly (string | IceServer)[]): (string | IceServer)[] {
  return servers.filter((s) => (typeof s === 'string' ? !/^turns?:/i.test(s) : s.relayType === undefined && s.username === undefined));
}
