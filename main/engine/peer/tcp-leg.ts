// One link's TCP bulk streams (PROTOCOL.md, "Bulk streams"): both devices send a tcpOffer (the
// port of their listener, a one-time token); the link's dialer connects to the other's port at the
// peer's address on the link's path, and both bind the TLS stream to the link with the tokens
// (net/bulk-tls.ts). On a long path the dialer then opens more streams the same way, bound by the
// same certificates and tokens (stripes: one TCP stream moves at most one window per round trip,
// bulk-choice.ts stripeCount); the listener takes up to MAX_TCP_STREAMS for the link. Whatever
// fails leaves the blocks to the streams still up, then to udx or the data channel (bulk-link.ts).
//
//   waiting ──both offers──> dialing (client) ──TLS, tokens──> up ──the last stream lost──> off
//      │  └──────────────> listening (server) ──a bound connection──┘
//      └─ off here or at the peer, a relayed path, a refused dial ──> off
//   up: the client dials the extra stripes; the server binds more connections of the peer's, up to the cap
//   any state ── the link closes ──> closed

import { randomBytes } from 'node:crypto';
import type { BulkStream, StreamBinding } from '../net/bulk-tls.ts';
import { TOKEN_BYTES } from '../net/bulk-tls.ts';
import { errorMessage, type NetLog } from '../net/log.ts';
import { dialTcpBulk, tcpSendBufferMax, type TcpBulkListener, type TcpIdentity } from '../net/tcp-bulk.ts';
import { isLoopback } from '../net/path.ts';
import type { TcpOffer } from '../protocol/messages.ts';
import { MAX_TCP_STREAMS, forcedStripeCount, planTcp, stripeCount } from './bulk-choice.ts';

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
  /** how many streams the dialer opens, whatever the path (PEERFOLD_TCP_STREAMS); default: chosen from the path */
  streams?: number | null;
  netLog: NetLog;
}

export interface TcpLegEvents {
  /** a bound stream (the first, or one more stripe): blocks may go over it */
  up(stream: BulkStream): void;
  /** the dialer chose how many streams to open (logged by the caller) */
  chose?(count: number, why: string): void;
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
  /** the streams bound to the link and not closed */
  private readonly live = new Set<BulkStream>();

  constructor(
    private readonly deps: TcpLegDeps,
    private readonly events: TcpLegEvents,
  ) {
    this.peerOffer = new Promise((resolve) => (this.peerArrived = resolve));
  }

  get current(): TcpLegState {
    return this.state;
  }

  /** Streams bound and open now. */
  get streams(): number {
    return this.live.size;
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
    this.stopListening();
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
    let rttMs = Infinity;
    this.dial(plan.host, plan.port, (ms) => (rttMs = ms)).then(
      (stream) => {
        if (this.state !== 'dialing') return stream.close('the link closed');
        this.up(stream);
        this.stripe(plan.host, plan.port, rttMs);
      },
      (err) => this.giveUp(errorMessage(err)),
    );
  }

  private dial(host: string, port: number, connected?: (ms: number) => void): Promise<BulkStream> {
    return dialTcpBulk(host, port, { identity: this.deps.identity(), binding: this.bindingNow()!, connected, log: this.deps.netLog });
  }

  /** The first stream is up: open as many more as the path needs, bound the same way. */
  private stripe(host: string, port: number, rttMs: number): void {
    const forced = this.deps.streams === undefined ? forcedStripeCount(process.env.PEERFOLD_TCP_STREAMS) : this.deps.streams;
    const bufferBytes = tcpSendBufferMax();
    const count = forced ?? stripeCount({ rttMs, socketBufferBytes: bufferBytes, loopback: isLoopback(host) });
    const why =
      forced !== null
        ? 'PEERFOLD_TCP_STREAMS'
        : `RTT ${rttMs.toFixed(1)} ms, ${(bufferBytes / 1048576).toFixed(1)} MiB socket buffer${isLoopback(host) ? ', loopback' : ''}`;
    this.events.chose?.(count, why);
    for (let i = 1; i < count; i++)
      this.dial(host, port).then(
        (stream) => {
          if (this.state !== 'up') return stream.close(this.state === 'closed' ? 'the link closed' : 'the link is off TCP');
          this.up(stream);
        },
        (err) => this.deps.netLog('warn', `one more TCP stream could not be opened (${errorMessage(err)}); the others carry the blocks`),
      );
  }

  /** For the listener: what binds a connection from the peer, once its offer is here. */
  private async binding(): Promise<StreamBinding | null> {
    if (this.state === 'closed' || this.state === 'off') return null;
    if (!(await this.peerOffer)) return null;
    // the first stream while listening, the peer's further stripes while up
    const now = this.state as TcpLegState;
    if (now !== 'listening' && now !== 'up') return null;
    return this.bindingNow();
  }

  private bindingNow(): StreamBinding | null {
    if (!this.peer) return null;
    return { remoteFingerprint: this.deps.remoteFingerprint, ourToken: this.ourToken, peerToken: this.peer.token };
  }

  private accepted(stream: BulkStream): void {
    if (this.state !== 'listening' && this.state !== 'up')
      return stream.close(this.state === 'closed' ? 'the link closed' : 'not expected');
    if (this.live.size >= MAX_TCP_STREAMS) return stream.close(`more than ${MAX_TCP_STREAMS} TCP streams on one link`);
    this.up(stream);
  }

  private up(stream: BulkStream): void {
    this.state = 'up';
    this.live.add(stream);
    // the listener binds more of the peer's stripes until the cap; none after the last is gone
    if (this.live.size >= MAX_TCP_STREAMS) this.stopListening();
    stream.onClose(() => {
      this.live.delete(stream);
      if (this.state === 'up' && this.live.size === 0) {
        this.state = 'off';
        this.stopListening();
      }
    });
    this.events.up(stream);
  }

  private stopListening(): void {
    this.unlisten?.();
    this.unlisten = null;
  }

  private giveUp(reason: string): void {
    if (this.state === 'closed' || this.state === 'off') return;
    this.state = 'off';
    this.stopListening();
    this.peerArrived?.(null);
    this.events.off(reason);
  }
}
