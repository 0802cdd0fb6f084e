// Redeeming an invite (PROTOCOL.md, "Invites"): the joiner proves it holds the invite with a MAC
// over the link's transcript and the invite as the code describes it; the issuer checks it
// against its own record, decides, and answers. Pure: the link carries the messages, the issuer's
// record keeping is config/invites-file.ts.

import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { AccessLevel, DeviceId } from '../../../shared/api.ts';
import { deviceIdToBytes } from '../keys/device-id.ts';
import type { InviteAnswer } from './messages.ts';
import { buildTranscript, type LinkSides } from './share-proofs.ts';

export const INVITE_KEY_INFO = 'peerfold/v1 invite key';
export const INVITE_CONTEXT = 'peerfold/v1 invite'; // 18 ASCII bytes

/** What both sides must agree on for a claim to verify: the invite as issued. */
export interface InviteTerms {
  issuer: DeviceId;
  discoveryId: string;
  id: string;
  secret: Uint8Array;
  expiresAt: number;
  level: AccessLevel;
}

/** The MAC key: HKDF-SHA256(invite secret, salt empty, "peerfold/v1 invite key"), 32 bytes. */
export function inviteKey(secret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), INVITE_KEY_INFO, 32));
}

/**
 * The bytes the claim MAC covers:
 *   "peerfold/v1 invite" | invite ID (8) | expiry in seconds (4, big-endian) | issuer device ID (20) |
 *   the share transcript (205 bytes: discovery ID, level, prover = joiner, verifier = issuer)
 * So the proof is bound to this link (both certificates and nonces) and to every field of the
 * invite: a code with a changed expiry, level, share or issuer proves nothing.
 */
export function inviteClaimBytes(terms: Omit<InviteTerms, 'secret'>, joiner: LinkSides['local'], issuer: LinkSides['peer']): Uint8Array {
  const head = Buffer.alloc(INVITE_CONTEXT.length + 8 + 4 + 20);
  let at = head.write(INVITE_CONTEXT, 'ascii');
  at += Buffer.from(terms.id, 'hex').copy(head, at);
  at = head.writeUInt32BE(Math.floor(terms.expiresAt / 1000), at);
  Buffer.from(deviceIdToBytes(terms.issuer)).copy(head, at);
  const transcript = buildTranscript({ discoveryId: terms.discoveryId, level: terms.level, prover: joiner, verifier: issuer });
  return new Uint8Array(Buffer.concat([head, transcript]));
}

/** The joiner's proof; `sides` as the joiner's link sees them (local = joiner). */
export function inviteClaimMac(terms: InviteTerms, sides: LinkSides): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', inviteKey(terms.secret))
      .update(inviteClaimBytes(terms, sides.local, sides.peer))
      .digest(),
  );
}

/** The issuer's check; `sides` as the issuer's link sees them (local = issuer). */
export function verifyInviteClaim(terms: InviteTerms, sides: LinkSides, mac: Uint8Array): boolean {
  const want = createHmac('sha256', inviteKey(terms.secret))
    .update(inviteClaimBytes(terms, sides.peer, sides.local))
    .digest();
  return mac.length === want.length && timingSafeEqual(want, mac);
}

/** What the issuer keeps of an invite until some time after it expires. */
export interface InviteRecord extends InviteTerms {
  shareId: string;
  createdAt: number;
  usesLeft: number;
  revoked: boolean;
}

export type ClaimRefusal = Exclude<InviteAnswer['status'], 'granted'>;
export type ClaimDecision = { grant: true } | { grant: false; refusal: ClaimRefusal };

/**
 * Whether to grant a claim. Revoked beats used beats expired (the most deliberate reason first);
 * a wrong proof is only told once the invite is known to be open, so a guess learns nothing more.
 */
export function decideClaim(record: InviteRecord | null, proofOk: (r: InviteRecord) => boolean, now: number): ClaimDecision {
  if (!record) return { grant: false, refusal: 'unknown' };
  if (!proofOk(record)) return { grant: false, refusal: 'wrong-proof' };
  if (record.revoked) return { grant: false, refusal: 'revoked' };
  if (record.usesLeft <= 0) return { grant: false, refusal: 'used' };
  if (now >= record.expiresAt) return { grant: false, refusal: 'expired' };
  return { grant: true };
}

/** The sentence a joiner sees for each refusal. */
export const REFUSAL_TEXT: Record<ClaimRefusal, string> = {
  unknown: 'the issuing device does not know this invite (it was never made there, or is long gone): ask for a new one',
  expired: 'this invite has expired: ask for a new one',
  used: 'this invite was already used: ask for a new one',
  revoked: 'this invite was revoked by the device that made it: ask for a new one',
  'wrong-proof': 'this invite code does not match the invite the issuing device made (was it altered?): ask for a new one',
  'share-gone': 'the issuing device no longer offers this share',
};
