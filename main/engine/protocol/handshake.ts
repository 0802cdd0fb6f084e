// The handshake after the data channel opens (PROTOCOL.md, "Handshake"): each side sends hello,
// then proves each share it offers with an HMAC over a transcript binding both DTLS
// certificates, both device IDs and both nonces, then says which of the peer's proofs it accepts.
// Pure: the caller carries messages and supplies the fingerprints; randomness is injectable.

import { randomBytes } from 'node:crypto';
import type { AccessLevel, DeviceId } from '../../../shared/api.ts';
import { fingerprintMatchesDeviceId, normalizeFingerprint } from '../keys/device-id.ts';
import { levelRank, type ShareKeys } from '../keys/secrets.ts';
import { inviteClaimMac, type InviteTerms } from './invite-proof.ts';
import { PROTOCOL_VERSION, type Auth, type AuthResult, type Hello, type InviteAnswer, type Message } from './messages.ts';
import { checkProofs, proveShares, type LinkSides } from './share-proofs.ts';

export {
  TRANSCRIPT_BYTES,
  TRANSCRIPT_CONTEXT,
  buildTranscript,
  computeShareMac,
  verifyShareMac,
  type TranscriptInput,
  type TranscriptSide,
} from './share-proofs.ts';

/** A handshake not finished this long after the channel opened should be dropped (the caller's timer). */
export const HANDSHAKE_TIMEOUT_MS = 20_000;

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
  /** a joiner redeeming an invite: claims it instead of proving shares (`shares` is empty) */
  claim?: InviteTerms;
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

/** The issuer's side: a peer claimed an invite; the link answers it with inviteAnswer and closes. */
export interface ClaimedInvite {
  /** the invite ID, 16 hex digits */
  invite: string;
  mac: Uint8Array;
  sides: LinkSides;
}

export type HandshakeOutcome =
  | { accepted: true; peer: PeerHello; shares: SharedShare[]; sides: LinkSides }
  | { accepted: false; reason: string; peer: PeerHello | null }
  /** issuer: the peer claims an invite (nothing is carried on such a link) */
  | { accepted: false; reason: string; peer: PeerHello; claim: ClaimedInvite }
  /** joiner: the issuer answered the claim */
  | { accepted: false; reason: string; peer: PeerHello; answer: InviteAnswer };

export interface HandshakeStep {
  /** send these, in order */
  send: Message[];
  /** set once: then the handshake is over (on rejection, close the connection after sending) */
  outcome: HandshakeOutcome | null;
}

type Phase = 'hello' | 'auth' | 'result' | 'answer' | 'done';

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
    return [
      {
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        deviceId: local.deviceId,
        deviceName: local.deviceName,
        clientVersion: local.clientVersion,
        nonce: this.nonce,
      },
    ];
  }

  receive(msg: Message): HandshakeStep {
    if (this.phase === 'done') return this.reject(`${msg.type} after the handshake ended`);
    if (msg.type === 'close') return this.reject(`the peer closed the connection: ${msg.reason || 'no reason given'}`, false);
    if (this.phase === 'auth' && msg.type === 'inviteClaim' && !this.opts.claim) {
      const claim = { invite: Buffer.from(msg.invite).toString('hex'), mac: new Uint8Array(msg.mac), sides: this.sides() };
      this.phase = 'done';
      return { send: [], outcome: { accepted: false, reason: 'an invite claim', peer: this.peer!, claim } };
    }
    if (this.phase === 'answer') {
      if (msg.type === 'auth') return { send: [], outcome: null }; // the issuer's proofs: nothing a joiner can check
      if (msg.type !== 'inviteAnswer') return this.reject(`the peer sent ${msg.type} where inviteAnswer was due`);
      this.phase = 'done';
      return { send: [], outcome: { accepted: false, reason: `invite ${msg.status}`, peer: this.peer!, answer: msg } };
    }
    const expected = this.phase === 'hello' ? 'hello' : this.phase === 'auth' ? 'auth' : 'authResult';
    if (msg.type !== expected) return this.reject(`the peer sent ${msg.type} where ${expected} was due`);
    if (msg.type === 'hello') return this.onHello(msg);
    if (msg.type === 'auth') return this.onAuth(msg);
    return this.onResult(msg as AuthResult);
  }

  /** Both ends of this link as the transcript names them (once the peer's hello arrived): what
   *  later share proofs on the same link are made over. */
  sides(): LinkSides {
    if (!this.peer || !this.peerNonce) throw new Error('the handshake has not heard the peer yet');
    return {
      local: { fingerprint: this.opts.local.fingerprint, deviceId: this.opts.local.deviceId, nonce: this.nonce },
      peer: { fingerprint: this.remoteFingerprint!, deviceId: this.peer.deviceId, nonce: this.peerNonce },
    };
  }

  private onHello(h: Hello): HandshakeStep {
    this.peer = { deviceId: h.deviceId, deviceName: h.deviceName, clientVersion: h.clientVersion };
    if (h.protocolVersion !== PROTOCOL_VERSION)
      return this.reject(
        `the peer speaks protocol version ${h.protocolVersion}, this device speaks ${PROTOCOL_VERSION}: update the older one`,
      );
    if (!this.remoteFingerprint || !fingerprintMatchesDeviceId(this.remoteFingerprint, h.deviceId)) {
      return this.reject(`the peer claims device ID ${h.deviceId}, which is not the certificate it presented`);
    }
    if (h.deviceId === this.opts.local.deviceId) return this.reject('connected to this device itself');
    if (this.opts.expectDeviceId && h.deviceId !== this.opts.expectDeviceId) {
      return this.reject(`expected device ${this.opts.expectDeviceId}, reached ${h.deviceId}`);
    }
    if (Buffer.from(h.nonce).equals(Buffer.from(this.nonce))) return this.reject('the peer echoed our nonce');
    this.peerNonce = new Uint8Array(h.nonce); // a copy: decoded fields are views into the message buffer
    const { claim } = this.opts;
    if (claim) {
      this.phase = 'answer';
      return {
        send: [{ type: 'inviteClaim', invite: new Uint8Array(Buffer.from(claim.id, 'hex')), mac: inviteClaimMac(claim, this.sides()) }],
        outcome: null,
      };
    }
    const shares = proveShares(this.opts.shares, this.sides());
    this.phase = 'auth';
    return { send: [{ type: 'auth', shares }], outcome: null };
  }

  private onAuth(a: Auth): HandshakeStep {
    const check = checkProofs(a.shares, (share) => this.byShare.get(share) ?? null, this.sides());
    if (!check.ok) return this.reject(check.error);
    const { accepted, failures } = check;
    for (const { share, level } of accepted) this.verified.set(share, level);
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
      if (!keys || levelRank(level) < levelRank(keys.level))
        return this.reject(`the peer accepted a share or level this device never offered`);
      const peerLevel = this.verified.get(share);
      if (peerLevel) shares.push({ share, peerLevel, ourLevel: level });
    }
    if (!shares.length) return this.reject(`the peer accepted none of this device's proofs${r.reason ? `: ${r.reason}` : ''}`, false);
    this.phase = 'done';
    return { send: [], outcome: { accepted: true, peer: this.peer!, shares, sides: this.sides() } };
  }

  private reject(reason: string, tellPeer = true, extra: Message[] = []): HandshakeStep {
    this.phase = 'done';
    const send: Message[] = [...extra];
    if (tellPeer) send.push({ type: 'close', reason });
    return { send, outcome: { accepted: false, reason, peer: this.peer } };
  }
}
