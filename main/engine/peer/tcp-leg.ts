// One link's TCP bulk streams (PROTOCOL.md, "Bulk streams"): both devices send a tcpOffer (the
// port of their listener, a one-time token); the link's dialer connects to the other's port at the
// peer's address on the link's path, and both bind the TLS stream to the link with the tokens
// (net/bulk-tls.ts). On a long path the dialer then opens more streams the same way, bound by the
// same certificates and tokens (stripes: one TCP stream moves at most one window per round trip,
// bulk-choice.ts stripeCount); the listener takes up to MAX_TCP_STREAMS for the link. Whatever
// fails leaves the blocks to the streams still up, then to udx or the data channel (bulk-link.ts).
//
// Reverse dial: when only one device can reach the other's listener (the other is behind a
// firewall that drops inbound TCP, or a NAT with a forwarded port on one side only), the reachable
// direction is used whichever device made the link. Both devices listen for the other's
// connection; the server, when no connection of the client's is bound REVERSE_DIAL_AFTER_MS after
// both offers, dials the client's port itself; a client whose own dial failed waits for that
// dial (until REVERSE_WAIT_MS) before it gives TCP up. Whoever dialed opens the stripes.
//
//   waiting ──both offers──> dialing (client) ──TLS, tokens──> up ──the last stream lost──> off
//      │                        │ refused, no answer                  ^
//      │                        v                                     │
//      │                     listening (client) ──the peer's connection bound──┤
//      │                        └─ REVERSE_WAIT_MS ──> off             │
//      │  └──────────────> listening (server) ──a bound connection─────┤
//      │                        └─ REVERSE_DIAL_AFTER_MS ──> dialing (server, still listening) ──┘
//      │                                            └─ refused, no answer ──> listening (server)
//      └─ off here or at the peer, a relayed path ──> off
//   up: whoever dialed dials the extra stripes; the other binds more connections of the peer's, up to the cap
//   any state ── the link closes ──> closed

import { randomBytes } from 'node:crypto';
import type { BulkStream, StreamBinding } from '../net/bulk-tls.ts';
import { TOKEN_BYTES } from '../net/bulk-tls.ts';
import { errorMessage, type NetLog } from '../net/log.ts';
import { dialTcpBulk, tcpSendBufferMax, type TcpBulkListener, type TcpIdentity } from '../net/tcp-bulk.ts';
import { isLoopback } from '../net/path.ts';
import type { TcpOffer } from '../protocol/messages.ts';
import { MAX_TCP_STREAMS, REVERSE_DIAL_AFTER_MS, REVERSE_WAIT_MS, forcedStripeCount, planTcp, stripeCount } from './bulk-choice.ts';

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
  /** how long the server waits for the client's connection before it dials the client (tests); default REVERSE_DIAL_AFTER_MS */
  reverseAfterMs?: number;
  /** how much longer a client whose dial failed waits for that dial (tests); default REVERSE_WAIT_MS */
  reverseWaitMs?: number;
  netLog: NetLog;
}

export interface TcpLegEvents {
  /** a bound stream (the first, or one more stripe): blocks may go over it */
  up(stream: BulkStream): void;
  /** the dialer chose how many streams to open (logged by the caller) */
  chose?(count: number, why: string): void;
  /** no TCP stream on this link (logged by the caller) */
  off(reason: string): void;
  /** a step of the reverse dial, for the log (the client's dial failed; the server dials) */
  note?(message: string): void;
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
  /** the server's wait before its reverse dial, or the client's wait for that dial */
  private reverseTimer: NodeJS.Timeout | null = null;

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
    // both roles: the server for the client's connection, the client for the server's reverse dial
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
    this.clearReverseTimer();
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
      this.reverseLater();
      return;
    }
    this.firstDial(plan.host, plan.port, (why) => this.awaitReverse(why));
  }

  /** The first dial (the client's, or the server's reverse one); `failed` says what follows a failure. */
  private firstDial(host: string, port: number, failed: (why: string) => void): void {
    this.state = 'dialing';
    let rttMs = Infinity;
    this.dial(host, port, (ms) => (rttMs = ms)).then(
      (stream) => {
        if (this.state === 'closed') return stream.close('the link closed');
        // the peer's own connection was bound meanwhile: this one is a stripe more, within the cap
        if (this.state === 'up' && this.live.size >= MAX_TCP_STREAMS)
          return stream.close(`more than ${MAX_TCP_STREAMS} TCP streams on one link`);
        const first = this.state !== 'up';
        this.up(stream);
        if (first) this.stripe(host, port, rttMs);
      },
      (err: unknown) => {
        if (this.state === 'dialing') failed(errorMessage(err));
      },
    );
  }

  /**
   * The server: the client's connection may never come (a firewall in front of this device drops
   * inbound TCP, or its port is not forwarded). If none is bound in time, dial the client's port:
   * the reachable direction carries the blocks whichever device made the link.
   */
  private reverseLater(): void {
    this.clearReverseTimer();
    this.reverseTimer = setTimeout(() => {
      this.reverseTimer = null;
      // after this turn's I/O: when this process was stalled, timers run before the connections
      // that came in meanwhile are seen, and the client's would look missing
      setImmediate(() => this.reverseNow());
    }, this.deps.reverseAfterMs ?? REVERSE_DIAL_AFTER_MS);
    this.reverseTimer.unref();
  }

  private reverseNow(): void {
    if (this.state !== 'listening' || this.live.size > 0 || !this.peer) return;
    const host = this.deps.peerHost();
    if (!host) return;
    // the client's connection is on its way (a busy machine takes its time over TLS): wait more
    if (this.deps.listener?.handshaking(host)) return this.reverseLater();
    this.events.note?.(`no TCP connection from the peer yet; dialing it at ${host}:${this.peer.port} instead`);
    this.firstDial(host, this.peer.port, (why) => {
      // its own connection may still come: keep listening, as before the reverse dial
      this.state = 'listening';
      this.events.note?.(`the reverse dial failed (${why}); still listening for the peer's connection`);
    });
  }

  /** The client's dial failed: the server dials this device in a moment if it can; wait for that. */
  private awaitReverse(why: string): void {
    if (this.state !== 'dialing') return;
    this.state = 'listening';
    this.events.note?.(`cannot reach the peer's TCP port (${why}); waiting for the peer to dial this device`);
    this.clearReverseTimer();
    this.reverseTimer = setTimeout(
      () => {
        this.reverseTimer = null;
        if (this.state === 'listening' && this.live.size === 0) this.giveUp(`${why}, and the peer's dial to this device did not come`);
      },
      (this.deps.reverseAfterMs ?? REVERSE_DIAL_AFTER_MS) + (this.deps.reverseWaitMs ?? REVERSE_WAIT_MS),
    );
    this.reverseTimer.unref();
  }

  private clearReverseTimer(): void {
    if (this.reverseTimer) clearTimeout(this.reverseTimer);
    this.reverseTimer = null;
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
    // the first stream while listening (or dialing: both directions may come up), the peer's further stripes while up
    const now = this.state as TcpLegState;
    if (now !== 'listening' && now !== 'dialing' && now !== 'up') return null;
    return this.bindingNow();
  }

  private bindingNow(): StreamBinding | null {
    if (!this.peer) return null;
    return { remoteFingerprint: this.deps.remoteFingerprint, ourToken: this.ourToken, peerToken: this.peer.token };
  }

  private accepted(stream: BulkStream): void {
    if (this.state !== 'listening' && this.state !== 'dialing' && this.state !== 'up')
      return stream.close(this.state === 'closed' ? 'the link closed' : 'not expected');
    if (this.live.size >= MAX_TCP_STREAMS) return stream.close(`more than ${MAX_TCP_STREAMS} TCP streams on one link`);
    this.up(stream);
  }

  private up(stream: BulkStream): void {
    this.state = 'up';
    this.clearReverseTimer();
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
    this.clearReverseTimer();
    this.stopListening();
    this.peerArrived?.(null);
    this.events.off(reason);
  }
}
