// One link's TCP bulk stream (PROTOCOL.md, "Bulk streams"): both devices send a tcpOffer (the
// port of their listener, a one-time token); the link's dialer connects to the other's port at the
// peer's address on the link's path, and both bind the TLS stream to the link with the tokens
// (net/bulk-tls.ts). Whatever fails leaves the blocks to udx or the data channel (bulk-link.ts).
//
//   waiting ──both offers──> dialing (client) ──TLS, tokens──> up ──stream lost──> off
//      │  └──────────────> listening (server) ──a bound connection──┘
//      └─ off here or at the peer, a relayed path, a refused dial ──> off
//   any state ── the link closes ──> closed

import { randomBytes } from 'node:crypto';
import type { BulkStream, StreamBinding } from '../net/bulk-tls.ts';
import { TOKEN_BYTES } from '../net/bulk-tls.ts';
import { errorMessage, type NetLog } from '../net/log.ts';
import { dialTcpBulk, type TcpBulkListener, type TcpIdentity } from '../net/tcp-bulk.ts';
import type { TcpOffer } from '../protocol/messages.ts';
import { planTcp } from './bulk-choice.ts';

export type TcpLegState = 'waiting' | 'dialing' | 'listening' | 'up' | 'off' | 'closed';

export interface TcpLegDeps {
  /** this device's TCP bulk listener; null when TCP is off here */
  listener: TcpBulkListener | null;
  /** the dialer of the WebRTC link is the TLS client */
  role: 'client' | 'server';
  /** the certificate the peer's DTLS presented (sha-256 hex): the one its TLS must present too */
  remoteFingerprint: string;
  identity: () => TcpIdentity;
  /** the peer's address on the link's path when it is direct (bulk-choice.ts tcpTarget) */
  peerHost: () => string | null;
  netLog: NetLog;
}

export interface TcpLegEvents {
  /** a bound stream: blocks may go over it */
  up(stream: BulkStream): void;
  /** no TCP stream on this link (logged by the caller) */
  off(reason: string): void;
}

export class TcpLeg {
  private state: TcpLegState = 'waiting';
  private ours: boolean | null = null;
  private readonly ourToken = new Uint8Array(randomBytes(TOKEN_BYTES));
  private peer: TcpOffer | null = null;
  private peerArrived: ((offer: TcpOffer | null) => void) | null = null;
  private readonly peerOffer: Promise<TcpOffer | null>;
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly deps: TcpLegDeps,
    private readonly events: TcpLegEvents,
  ) {
    this.peerOffer = new Promise((resolve) => (this.peerArrived = resolve));
  }

  get current(): TcpLegState {
    return this.state;
  }

  /** This device's offer. A server starts waiting for the peer's connection before it goes out. */
  offer(): TcpOffer {
    const l = this.deps.listener;
    this.ours = l !== null && this.state === 'waiting';
    if (!this.ours || !l) return { type: 'tcpOffer', port: 0, token: new Uint8Array(TOKEN_BYTES) };
    if (this.deps.role === 'server')
      this.unlisten = l.expect(this.deps.remoteFingerprint, {
        token: this.ourToken,
        bind: () => this.binding(),
        accepted: (stream) => this.accepted(stream),
      });
    queueMicrotask(() => this.step());
    return { type: 'tcpOffer', port: l.port, token: this.ourToken };
  }

  peerOffered(msg: TcpOffer): void {
    if (this.state === 'closed' || this.peer) return;
    this.peer = { ...msg, token: new Uint8Array(msg.token) };
    this.peerArrived?.(this.peer);
    this.step();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.unlisten?.();
    this.peerArrived?.(null);
  }

  private step(): void {
    if (this.state !== 'waiting') return;
    const plan = planTcp(this.ours, this.peer, this.deps.role, this.deps.peerHost());
    if (plan.kind === 'wait') return;
    if (plan.kind === 'off') return this.giveUp(plan.reason);
    if (plan.kind === 'listen') {
      this.state = 'listening';
      return;
    }
    this.state = 'dialing';
    const binding = this.bindingNow()!;
    dialTcpBulk(plan.host, plan.port, { identity: this.deps.identity(), binding, log: this.deps.netLog }).then(
      (stream) => {
        if (this.state !== 'dialing') return stream.close('the link closed');
        this.up(stream);
      },
      (err) => this.giveUp(errorMessage(err)),
    );
  }

  /** For the listener: what binds a connection from the peer, once its offer is here. */
  private async binding(): Promise<StreamBinding | null> {
    if (this.state === 'closed' || this.state === 'off') return null;
    if (!(await this.peerOffer) || (this.state as TcpLegState) !== 'listening') return null;
    return this.bindingNow();
  }

  private bindingNow(): StreamBinding | null {
    if (!this.peer) return null;
    return { remoteFingerprint: this.deps.remoteFingerprint, ourToken: this.ourToken, peerToken: this.peer.token };
  }

  private accepted(stream: BulkStream): void {
    if (this.state !== 'listening') return stream.close(this.state === 'closed' ? 'the link closed' : 'not expected');
    this.up(stream);
  }

  private up(stream: BulkStream): void {
    this.state = 'up';
    // one stream per link: a second connection is not bound to it
    this.unlisten?.();
    this.unlisten = null;
    stream.onClose(() => {
      if (this.state === 'up') this.state = 'off';
    });
    this.events.up(stream);
  }

  private giveUp(reason: string): void {
    if (this.state === 'closed' || this.state === 'off') return;
    this.state = 'off';
    this.unlisten?.();
    this.unlisten = null;
    this.peerArrived?.(null);
    this.events.off(reason);
  }
}
