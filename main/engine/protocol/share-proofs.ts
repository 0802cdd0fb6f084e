// Proving a share on a link, and checking a peer's proof: the handshake's `auth` and, on a live
// link, `shareProofs` (PROTOCOL.md, "Handshake" and "Shares on a live link"). The same MAC over
// the same transcript either way: the link's two certificates, device IDs and handshake nonces,
// so a proof made for one link is worthless on any other.
// Pure: the caller carries the messages.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AccessLevel, DeviceId } from '../../../shared/api.ts';
import { deviceIdToBytes, normalizeFingerprint } from '../keys/device-id.ts';
import { LEVELS, levelRank, type ShareKeys } from '../keys/secrets.ts';
import type { Auth, AuthResult } from './messages.ts';

export const TRANSCRIPT_CONTEXT = 'peerfold/v1 auth'; // 16 ASCII bytes
export const TRANSCRIPT_BYTES = 16 + 20 + 1 + 2 * (32 + 20 + 32);

const LEVEL_BYTE: Record<AccessLevel, number> = { 'read-write': 1, 'read-only': 2, encrypted: 3 };

export interface TranscriptSide {
  /** SHA-256 of the DTLS certificate: hex (colons allowed) or 32 bytes */
  fingerprint: string | Uint8Array;
  deviceId: DeviceId;
  nonce: Uint8Array;
}

export interface TranscriptInput {
  /** the share's discovery ID: 40 hex digits or 20 bytes */
  discoveryId: string | Uint8Array;
  /** the level being proven */
  level: AccessLevel;
  /** the side that computes the MAC */
  prover: TranscriptSide;
  /** the side that checks it */
  verifier: TranscriptSide;
}

function bytesOf(v: string | Uint8Array, n: number, what: string): Uint8Array {
  let out: Uint8Array;
  if (typeof v === 'string') {
    const h = n === 32 ? normalizeFingerprint(v) : /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : null;
    out = h ? new Uint8Array(Buffer.from(h, 'hex')) : new Uint8Array(0);
  } else {
    out = v;
  }
  if (out.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  return out;
}

/**
 * The 205 bytes a share MAC covers:
 *   "peerfold/v1 auth" | discovery ID (20) | level (1) |
 *   prover: fingerprint (32) | device ID (20) | nonce (32) |
 *   verifier: fingerprint (32) | device ID (20) | nonce (32)
 * Ordered by role, so A's proof to B differs from B's proof to A and cannot be reflected.
 */
export function buildTranscript(t: TranscriptInput): Uint8Array {
  const out = new Uint8Array(TRANSCRIPT_BYTES);
  let at = 0;
  const put = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  put(new TextEncoder().encode(TRANSCRIPT_CONTEXT));
  put(bytesOf(t.discoveryId, 20, 'discovery ID'));
  put(Uint8Array.of(LEVEL_BYTE[t.level]));
  for (const side of [t.prover, t.verifier]) {
    put(bytesOf(side.fingerprint, 32, 'fingerprint'));
    put(deviceIdToBytes(side.deviceId));
    put(bytesOf(side.nonce, 32, 'nonce'));
  }
  return out;
}

export function computeShareMac(authKey: Uint8Array, transcript: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', authKey).update(transcript).digest());
}

/** Constant-time check of a peer's MAC. */
export function verifyShareMac(authKey: Uint8Array, transcript: Uint8Array, mac: Uint8Array): boolean {
  const want = computeShareMac(authKey, transcript);
  return mac.length === want.length && timingSafeEqual(want, mac);
}

export type ShareProof = Auth['shares'][number];
export type AcceptedShare = AuthResult['accepted'][number];

/** The two ends of one link, as its handshake fixed them. */
export interface LinkSides {
  local: TranscriptSide;
  peer: TranscriptSide;
}

/** One proof per level this device holds of each share (a read-write member proves three). */
export function proveShares(shares: readonly ShareKeys[], sides: LinkSides): ShareProof[] {
  const out: ShareProof[] = [];
  for (const keys of shares) {
    for (const level of LEVELS) {
      const key = keys.authKeys[level];
      if (!key) continue;
      const transcript = buildTranscript({ discoveryId: keys.discoveryIdHex, level, prover: sides.local, verifier: sides.peer });
      out.push({ share: keys.discoveryIdHex, level, mac: computeShareMac(key, transcript) });
    }
  }
  return out;
}

export type ProofCheck = { ok: true; accepted: AcceptedShare[]; failures: string[] } | { ok: false; error: string };

/**
 * Checks a peer's proofs against the shares this device offers it (`keysOf` answers null for any
 * other: not a failure, just not common). Per share: the strongest level claimed, checked at the
 * weaker of that and this device's own level (the strongest proof it can verify).
 * Two proofs for one (share, level) are a protocol error.
 */
export function checkProofs(
  proofs: readonly ShareProof[],
  keysOf: (discoveryId: string) => ShareKeys | null,
  sides: LinkSides,
): ProofCheck {
  const claims = new Map<string, Map<AccessLevel, Uint8Array>>();
  for (const { share, level, mac } of proofs) {
    const byLevel = claims.get(share) ?? new Map<AccessLevel, Uint8Array>();
    if (byLevel.has(level)) return { ok: false, error: `the peer sent two ${level} proofs for one share` };
    byLevel.set(level, mac);
    claims.set(share, byLevel);
  }
  const accepted: AcceptedShare[] = [];
  const failures: string[] = [];
  for (const [share, byLevel] of claims) {
    const keys = keysOf(share);
    if (!keys) continue;
    const strongestClaim = [...byLevel.keys()].sort((x, y) => levelRank(x) - levelRank(y))[0]!;
    const checkAt = levelRank(strongestClaim) >= levelRank(keys.level) ? strongestClaim : keys.level;
    const mac = byLevel.get(checkAt);
    const key = keys.authKeys[checkAt];
    const transcript = buildTranscript({ discoveryId: share, level: checkAt, prover: sides.peer, verifier: sides.local });
    if (!mac || !key || !verifyShareMac(key, transcript, mac)) {
      failures.push(`share ${keys.shareId}: the peer's ${checkAt} proof is wrong (a different secret for this share)`);
      continue;
    }
    accepted.push({ share, level: checkAt });
  }
  return { ok: true, accepted, failures };
}
