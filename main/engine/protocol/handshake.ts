// The handshake after the data channel opens (PROTOCOL.md, "Handshake"): each side sends hello,
// then proves each share it offers with an HMAC over a transcript binding both DTLS
// certificates, both device IDs and both nonces, then says which of the peer's proofs it accepts.
// Pure: the caller carries messages and supplies the fingerprints; randomness is injectable.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessLevel, DeviceId } from '../../../shared/api.ts';
import { deviceIdToBytes, fingerprintMatchesDeviceId, normalizeFingerprint } from '../keys/device-id.ts';
import { LEVELS, levelRank, type ShareKeys } from '../keys/secrets.ts';
import { PROTOCOL_VERSION, type Auth, type AuthResult, type Hello, type Message } from './messages.ts';

export const TRANSCRIPT_CONTEXT = 'peerfold/v1 auth'; // 16 ASCII bytes
export const TRANSCRIPT_BYTES = 16 + 20 + 1 + 2 * (32 + 20 + 32);
/** A handshake not finished this long after the channel opened should be dropped (the caller's timer). */
export const HANDSHAKE_TIMEOUT_MS = 20_000;

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
  const put = (b: Uint8Array) => { out.set(b, at); at += b.length; };
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

// ---- the state machine ----

export interface LocalEnd {
  deviceId: DeviceId;
  /** our certificate's SHA-256, hex */
  fingerprint: string;
  deviceName: string;
  clientVersion: string;
}

export interface HandshakeOptions {
  local: LocalEnd;
  /** the peer's certificate SHA-256 as DTLS saw it: pc.remoteFingerprint().value */
  remoteFingerprint: string;
  /** the shares to prove on this connection (only those the peer asked for: offering others tells it what we hold) */
  shares: readonly ShareKeys[];
  /** when dialing a device we know, its ID: anyone else is refused */
  expectDeviceId?: DeviceId;
  /** 32 bytes; random by default (tests fix it) */
  nonce?: Uint8Array;
}

export interface PeerHello {
  deviceId: DeviceId;
  deviceName: string;
  clientVersion: string;
}

export interface SharedShare {
  /** discovery ID, hex */
  share: string;
  /** the level the peer proved to us (for a level above ours: ours, the most we can check) */
  peerLevel: AccessLevel;
  /** the level the peer accepted from us */
  ourLevel: AccessLevel;
}

export type HandshakeOutcome =
  | { accepted: true; peer: PeerHello; shares: SharedShare[] }
  | { accepted: false; reason: string; peer: PeerHello | null };

export interface HandshakeStep {
  /** send these, in order */
  send: Message[];
  /** set once: then the handshake is over (on rejection, close the connection after sending) */
  outcome: HandshakeOutcome | null;
}

type Phase = 'hello' | 'auth' | 'result' | 'done';

/**
 * One side of the handshake. Call start() when the channel opens and send what it returns; feed
 * every message the peer sends to receive() until a step carries an outcome. Nothing the peer
 * sends may be applied before an accepted outcome, and only for the shares it lists.
 */
export class Handshake {
  readonly nonce: Uint8Array;
  private phase: Phase = 'hello';
  private peer: PeerHello | null = null;
  private peerNonce: Uint8Array | null = null;
  private verified = new Map<string, AccessLevel>();
  private readonly remoteFingerprint: string | null;
  private readonly byShare: Map<string, ShareKeys>;

  constructor(private readonly opts: HandshakeOptions) {
    this.nonce = opts.nonce ?? new Uint8Array(randomBytes(32));
    this.remoteFingerprint = normalizeFingerprint(opts.remoteFingerprint);
    this.byShare = new Map(opts.shares.map((s) => [s.discoveryIdHex, s]));
  }

  start(): Message[] {
    const { local } = this.opts;
    return [{ type: 'hello', protocolVersion: PROTOCOL_VERSION, deviceId: local.deviceId, deviceName: local.deviceName, clientVersion: local.clientVersion, nonce: this.nonce }];
  }

  receive(msg: Message): HandshakeStep {
    if (this.phase === 'done') return this.reject(`${msg.type} after the handshake ended`);
    if (msg.type === 'close') return this.reject(`the peer closed the connection: ${msg.reason || 'no reason given'}`, false);
    const expected = this.phase === 'hello' ? 'hello' : this.phase === 'auth' ? 'auth' : 'authResult';
    if (msg.type !== expected) return this.reject(`the peer sent ${msg.type} where ${expected} was due`);
    if (msg.type === 'hello') return this.onHello(msg);
    if (msg.type === 'auth') return this.onAuth(msg);
    return this.onResult(msg as AuthResult);
  }

  private side(which: 'local' | 'peer'): { fingerprint: string; deviceId: DeviceId; nonce: Uint8Array } {
    return which === 'local'
      ? { fingerprint: this.opts.local.fingerprint, deviceId: this.opts.local.deviceId, nonce: this.nonce }
      : { fingerprint: this.remoteFingerprint!, deviceId: this.peer!.deviceId, nonce: this.peerNonce! };
  }

  private onHello(h: Hello): HandshakeStep {
    this.peer = { deviceId: h.deviceId, deviceName: h.deviceName, clientVersion: h.clientVersion };
    if (h.protocolVersion !== PROTOCOL_VERSION) return this.reject(`the peer speaks protocol version ${h.protocolVersion}, this device speaks ${PROTOCOL_VERSION}: update the older one`);
    if (!this.remoteFingerprint || !fingerprintMatchesDeviceId(this.remoteFingerprint, h.deviceId)) {
      return this.reject(`the peer claims device ID ${h.deviceId}, which is not the certificate it presented`);
    }
    if (h.deviceId === this.opts.local.deviceId) return this.reject('connected to this device itself');
    if (this.opts.expectDeviceId && h.deviceId !== this.opts.expectDeviceId) {
      return this.reject(`expected device ${this.opts.expectDeviceId}, reached ${h.deviceId}`);
    }
    if (Buffer.from(h.nonce).equals(Buffer.from(this.nonce))) return this.reject('the peer echoed our nonce');
    this.peerNonce = new Uint8Array(h.nonce); // a copy: decoded fields are views into the message buffer
    const shares: Auth['shares'] = [];
    for (const keys of this.opts.shares) {
      for (const level of LEVELS) {
        const key = keys.authKeys[level];
        if (!key) continue;
        const transcript = buildTranscript({ discoveryId: keys.discoveryIdHex, level, prover: this.side('local'), verifier: this.side('peer') });
        shares.push({ share: keys.discoveryIdHex, level, mac: computeShareMac(key, transcript) });
      }
    }
    this.phase = 'auth';
    return { send: [{ type: 'auth', shares }], outcome: null };
  }

  private onAuth(a: Auth): HandshakeStep {
    const claims = new Map<string, Map<AccessLevel, Uint8Array>>();
    for (const { share, level, mac } of a.shares) {
      const byLevel = claims.get(share) ?? new Map<AccessLevel, Uint8Array>();
      if (byLevel.has(level)) return this.reject(`the peer sent two ${level} proofs for one share`);
      byLevel.set(level, mac);
      claims.set(share, byLevel);
    }
    const accepted: AuthResult['accepted'] = [];
    const failures: string[] = [];
    for (const [share, byLevel] of claims) {
      const keys = this.byShare.get(share);
      if (!keys) continue; // a share we do not offer here: not a failure, just not common
      const strongestClaim = [...byLevel.keys()].sort((x, y) => levelRank(x) - levelRank(y))[0]!;
      // Check at the weaker of its claim and our level: the strongest proof we can verify.
      const checkAt = levelRank(strongestClaim) >= levelRank(keys.level) ? strongestClaim : keys.level;
      const mac = byLevel.get(checkAt);
      const key = keys.authKeys[checkAt];
      const transcript = buildTranscript({ discoveryId: share, level: checkAt, prover: this.side('peer'), verifier: this.side('local') });
      if (!mac || !key || !verifyShareMac(key, transcript, mac)) {
        failures.push(`share ${keys.shareId}: the peer's ${checkAt} proof is wrong (a different secret for this share)`);
        continue;
      }
      this.verified.set(share, checkAt);
      accepted.push({ share, level: checkAt });
    }
    if (!accepted.length) {
      const reason = failures.length ? failures.join('; ') : 'the peer proved no share this device offered it';
      return this.reject(reason, true, [{ type: 'authResult', accepted: [], reason }]);
    }
    this.phase = 'result';
    return { send: [{ type: 'authResult', accepted, reason: failures.join('; ') }], outcome: null };
  }

  private onResult(r: AuthResult): HandshakeStep {
    const shares: SharedShare[] = [];
    for (const { share, level } of r.accepted) {
      const keys = this.byShare.get(share);
      if (!keys || levelRank(level) < levelRank(keys.level)) return this.reject(`the peer accepted a share or level this device never offered`);
      const peerLevel = this.verified.get(share);
      if (peerLevel) shares.push({ share, peerLevel, ourLevel: level });
    }
    if (!shares.length) return this.reject(`the peer accepted none of this device's proofs${r.reason ? `: ${r.reason}` : ''}`, false);
    this.phase = 'done';
    return { send: [], outcome: { accepted: true, peer: this.peer!, shares } };
  }

  private reject(reason: string, tellPeer = true, extra: Message[] = []): HandshakeStep {
    this.phase = 'done';
    const send: Message[] = [...extra];
    if (tellPeer) send.push({ type: 'close', reason });
    return { send, outcome: { accepted: false, reason, peer: this.peer } };
  }
}
