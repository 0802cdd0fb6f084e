// One link's bulk stream (PROTOCOL.md, "Bulk streams"): once the link is live, both devices swap
// a tcpOffer (tcp-leg.ts: the port of their TCP listener) and a udxOffer (a stream id, a one-time
// token, the addresses of their udx socket) over it. Both ways are tried at once: TCP by a dial to
// the peer's address on the link's path, udx by probing for a UDP path. Each runs TLS with the
// certificates the link's DTLS saw, bound to the link by the offers' tokens (net/bulk-tls.ts).
// A TCP stream carries the blocks whenever one comes up (the kernel moves its bytes; udx calls
// into JS per packet), and ends the udx attempt; a udx stream carries them otherwise. On a long
// path the blocks go over several TCP streams of the link at once (tcp-leg.ts, stripes), each
// request over the one with the fewest bytes asked (bulk-carrier.ts). Whatever fails, at any step,
// leaves the blocks on the streams still up, else the data channel, and the link goes on.
//
// The udx side's states:
//   waiting ──both offers, a usable address──> probing ──a path answered──> securing ──TLS, token──> up
//      │                                          │                            │                     │
//      └─ off here or at the peer, no address ────┴── no answer in time ───────┴── refused ──────────┴─ stream lost
//                                             └──────────────> datachannel (final for this link)
//   any state but closed ── a TCP stream is up ──> superseded (final)
//   any state ── the link closes ──> closed

import { randomBytes } from 'node:crypto';
import { errorMessage, type NetLog } from '../net/log.ts';
import type { LinkRole } from '../net/transport.ts';
import { duplexOf, formatCandidate, type UdxEndpoint } from '../net/udx.ts';
import { searchPath, type PathSearch, type PathTarget } from '../net/udx-path.ts';
import { TOKEN_BYTES, secureStream, type BulkStream } from '../net/bulk-tls.ts';
import type { TcpBulkListener } from '../net/tcp-bulk.ts';
import { MAX_CANDIDATES, type BulkOffer, type UdxOffer } from '../protocol/messages.ts';
import { BulkCarrier } from './bulk-carrier.ts';
import { carrierAfterGivingUp, planBulk, tlsRole, type OurBulkSide } from './bulk-choice.ts';
import { RateMeter } from '../net/rate.ts';
import { guard } from '../net/log.ts';
import type { BlockCarrier, BulkPlug, Channel, LinkStats } from './pipe.ts';
import { TcpLeg } from './tcp-leg.ts';

/** Addresses one udxOffer carries: the protocol's limit. */
const MAX_OFFERED = MAX_CANDIDATES;

export type BulkState = 'waiting' | 'probing' | 'securing' | 'up' | 'datachannel' | 'superseded' | 'closed';

export interface BulkLinkDeps {
  /** this device's udx socket; null when udx is off here */
  endpoint: UdxEndpoint | null;
  /** this device's TCP bulk listener; null when TCP is off here (or absent: the same) */
  tcp?: TcpBulkListener | null;
  /** the peer's address on the link's path when it is direct (bulk-choice.ts tcpTarget) */
  peerHost?: () => string | null;
  /** the addresses to offer (host, then STUN-learned); default: the socket's host candidates */
  candidates?: () => Promise<string[]>;
  /** the WebRTC link's role: its dialer is the TLS client */
  role: LinkRole;
  /** the certificate the peer's DTLS presented (sha-256 hex): the one its TLS must present too */
  remoteFingerprint: string;
  /** this device's certificate and key (PEM): the same as its DTLS identity */
  identity: () => { certPem: string; keyPem: string };
  /** the link's data channel: the fallback */
  dataChannel: Channel;
  log(message: string): void;
  /** test fault (PEERFOLD_FAULT_UDX_CUT_BYTES): the link's first bulk stream is cut once this many bytes came over it */
  cutAfterBytes?: number;
  /** TCP streams the dialer opens whatever the path (PEERFOLD_TCP_STREAMS); default chosen from the path */
  tcpStreams?: number | null;
  /** the reverse dial's waits (tests; tcp-leg.ts): before the server dials, and the client's for that dial */
  tcpReverse?: { afterMs: number; waitMs: number };
}

export class BulkLink implements BulkPlug {
  private state: BulkState = 'waiting';
  private readonly carrier: BulkCarrier;
  private ours: OurBulkSide | null = null;
  private ourToken = new Uint8Array(TOKEN_BYTES);
  private peer: UdxOffer | null = null;
  /** our udxOffer went out */
  private offered = false;
  private search: PathSearch | null = null;
  private stream: BulkStream | null = null;
  /** the link's TCP streams while they are up (one, or the stripes of a long path) */
  private readonly tcpStreams = new Set<BulkStream>();
  private readonly tcp: TcpLeg;
  private readonly netLog: NetLog;
  /** why blocks stay on the data channel (for the log and tests) */
  reason = '';
  /** bytes of streams already closed (udx and TCP) */
  private doneIn = 0;
  private doneOut = 0;
  private readonly inRate = new RateMeter();
  private readonly outRate = new RateMeter();
  private rateTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: BulkLinkDeps) {
    this.carrier = new BulkCarrier(deps.dataChannel);
    this.netLog = (level, m) => (level === 'warn' || level === 'error' ? deps.log(`udx: ${m}`) : undefined);
    const tcpLog: NetLog = (level, m) => (level === 'warn' || level === 'error' ? deps.log(`tcp: ${m}`) : undefined);
    this.tcp = new TcpLeg(
      {
        listener: deps.tcp ?? null,
        role: tlsRole(deps.role),
        remoteFingerprint: deps.remoteFingerprint,
        identity: deps.identity,
        peerHost: deps.peerHost ?? (() => null),
        ...(deps.tcpStreams !== undefined ? { streams: deps.tcpStreams } : {}),
        ...(deps.tcpReverse ? { reverseAfterMs: deps.tcpReverse.afterMs, reverseWaitMs: deps.tcpReverse.waitMs } : {}),
        netLog: tcpLog,
      },
      {
        up: (stream) => this.tcpUp(stream),
        chose: (count, why) => count > 1 && deps.log(`tcp: the blocks are striped over ${count} TCP streams (${why})`),
        note: (message) => deps.log(`tcp: ${message}`),
        off: (reason) =>
          deps.log(
            `tcp: no TCP stream on this link: ${reason}; ${carrierAfterGivingUp({
              name: 'udx',
              up: this.state === 'up',
              trying: this.state === 'waiting' || this.state === 'probing' || this.state === 'securing',
            })}`,
          ),
      },
    );
  }

  /** the udx side's state */
  get current(): BulkState {
    return this.state;
  }

  get tcpState(): string {
    return this.tcp.current;
  }

  get transport(): BlockCarrier {
    return this.carrier.transport;
  }

  /** Bulk streams carrying the blocks now (0: the data channel carries them). */
  get streams(): number {
    return this.carrier.streams;
  }

  send(bytes: Uint8Array): Promise<void> {
    return this.carrier.send(bytes);
  }

  sendRequest(bytes: Uint8Array, id: number, size: number, after?: readonly number[]): Promise<void> {
    return this.carrier.sendRequest(bytes, id, size, after);
  }

  answered(id: number): void {
    this.carrier.answered(id);
  }

  onMessage(handler: (bytes: Uint8Array, replyOn?: Channel) => void): void {
    this.carrier.onMessage(handler);
  }

  onLost(handler: (reason: string, requests: number[]) => void): void {
    this.carrier.onLost(handler);
  }

  start(sendControl: (msg: BulkOffer) => void): void {
    if (this.ours !== null || this.state === 'closed') return;
    sendControl(this.tcp.offer());
    const ep = this.deps.endpoint;
    if (!ep) {
      this.ours = 'off';
      sendControl({ type: 'udxOffer', streamId: 0, token: new Uint8Array(TOKEN_BYTES), candidates: [] });
      this.step();
      return;
    }
    const ours = { streamId: ep.freeStreamId(), family: ep.family };
    this.ours = ours;
    this.ourToken = new Uint8Array(randomBytes(TOKEN_BYTES));
    const offer = (candidates: string[]) => {
      if (this.state === 'closed') return;
      sendControl({ type: 'udxOffer', streamId: ours.streamId, token: this.ourToken, candidates: candidates.slice(0, MAX_OFFERED) });
      this.offered = true;
      this.step();
    };
    const lookup = this.deps.candidates ?? (async () => ep.hostCandidates());
    lookup()
      .catch((err) => {
        this.deps.log(`udx: cannot list this device's addresses (${errorMessage(err)}); offering the host addresses only`);
        return ep.hostCandidates();
      })
      .then(offer)
      .catch((err) => this.fallBack(`udx offer failed: ${errorMessage(err)}`));
  }

  peerOffered(msg: BulkOffer): void {
    if (msg.type === 'tcpOffer') return this.tcp.peerOffered(msg);
    if (this.state === 'closed') return;
    if (this.peer) {
      this.deps.log('udx: the peer offered a bulk stream twice on one link; the second offer is ignored');
      return;
    }
    this.peer = { ...msg, token: new Uint8Array(msg.token), candidates: [...msg.candidates] };
    this.step();
  }

  stats(): LinkStats {
    let bytesIn = this.doneIn + (this.stream?.bytesIn ?? 0);
    let bytesOut = this.doneOut + (this.stream?.bytesOut ?? 0);
    for (const t of this.tcpStreams) {
      bytesIn += t.bytesIn;
      bytesOut += t.bytesOut;
    }
    return {
      bytesIn,
      bytesOut,
      inBytesPerSec: this.inRate.rate(),
      outBytesPerSec: this.outRate.rate(),
    };
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.search?.stop();
    this.tcp.close();
    this.carrier.close(reason);
    this.stream?.close(reason);
    for (const t of this.tcpStreams) t.close(reason);
  }

  private step(): void {
    // probing starts once our offer is out: the peer must know our stream id to answer
    if (this.state !== 'waiting' || (this.ours !== 'off' && !this.offered)) return;
    const plan = planBulk(this.ours, this.peer);
    if (plan.kind === 'wait') return;
    if (plan.kind === 'datachannel') return this.fallBack(plan.reason);
    void this.connect(plan.targets).catch((err) => this.fallBack(`udx setup failed: ${errorMessage(err)}`));
  }

  private fallBack(reason: string): void {
    if (this.state === 'closed' || this.state === 'superseded') return;
    this.search?.stop();
    this.search = null;
    this.state = 'datachannel';
    this.reason = reason;
    // TCP may carry the blocks (or still be on its way): the line says what really carries them
    const tcp = this.tcp.current;
    const carrier = carrierAfterGivingUp({
      name: 'TCP',
      up: tcp === 'up',
      trying: tcp === 'waiting' || tcp === 'dialing' || tcp === 'listening',
    });
    this.deps.log(`udx: no udx stream on this link: ${reason}; ${carrier}`);
  }

  private async connect(targets: PathTarget[]): Promise<void> {
    const ep = this.deps.endpoint!;
    const ours = this.ours as { streamId: number };
    const peer = this.peer!;
    this.state = 'probing';
    this.search = searchPath(ep, { localId: ours.streamId, peerId: peer.streamId, targets, log: this.netLog });
    const path = await this.search.found;
    if (this.state !== 'probing') return;
    if (!path)
      return this.fallBack(
        `no UDP path to the peer's udx socket (tried ${targets.map((t) => formatCandidate(t.host, t.port)).join(', ')})`,
      );
    this.state = 'securing';
    const raw = ep.connectStream(ours.streamId, peer.streamId, path.host, path.port);
    const { certPem, keyPem } = this.deps.identity();
    let stream: BulkStream;
    try {
      stream = await secureStream(duplexOf(raw, this.netLog), {
        role: tlsRole(this.deps.role),
        certPem,
        keyPem,
        remoteFingerprint: this.deps.remoteFingerprint,
        ourToken: this.ourToken,
        peerToken: peer.token,
        log: this.netLog,
      });
    } catch (err) {
      raw.destroy();
      return this.fallBack(errorMessage(err));
    } finally {
      // the peer may still be probing until its own TLS is through; answering longer costs nothing
      this.search?.stop();
      this.search = null;
    }
    if (this.state !== 'securing') {
      stream.close('the link closed');
      return;
    }
    this.stream = stream;
    this.state = 'up';
    this.deps.log(`udx: blocks go over a udx stream to ${formatCandidate(path.host, path.port)}`);
    this.sampleRates();
    stream.onClose((reason) => {
      this.doneIn += stream.bytesIn;
      this.doneOut += stream.bytesOut;
      if (this.stream === stream) this.stream = null;
      if (this.state === 'up') this.fallBack(`the udx stream was lost (${reason})`);
    });
    this.carrier.attach(stream, 'udx');
    if (this.deps.cutAfterBytes !== undefined) this.cutLater(stream, this.deps.cutAfterBytes);
  }

  /** A TCP stream is bound to the link: it carries the blocks from now on (beside the others), and udx is not needed. */
  private tcpUp(stream: BulkStream): void {
    if (this.state === 'closed') return stream.close('the link closed');
    const first = this.tcpStreams.size === 0;
    const udxWas = this.state;
    this.state = 'superseded';
    this.search?.stop();
    this.search = null;
    this.tcpStreams.add(stream);
    const where = stream.remoteAddress;
    if (first) this.deps.log(`tcp: blocks go over a TCP stream${where ? ` to ${where}` : ''}${udxWas === 'up' ? ' (instead of udx)' : ''}`);
    this.sampleRates();
    stream.onClose((reason) => {
      this.doneIn += stream.bytesIn;
      this.doneOut += stream.bytesOut;
      this.tcpStreams.delete(stream);
      if (this.state === 'closed') return;
      const left = this.tcpStreams.size;
      this.deps.log(
        left
          ? `tcp: a TCP stream was lost (${reason}); its requests go over the other ${left}`
          : `tcp: the TCP stream was lost (${reason}); blocks go over the data channel`,
      );
    });
    // the first closes a udx stream that carried them until now (its requests in flight are sent again)
    this.carrier.attach(stream, 'tcp');
    if (first && this.deps.cutAfterBytes !== undefined) this.cutLater(stream, this.deps.cutAfterBytes);
  }

  private sampleRates(): void {
    if (this.rateTimer) return;
    this.rateTimer = setInterval(
      guard(this.netLog, 'bulk rate timer', () => {
        const st = this.stats();
        this.inRate.sample(Date.now(), st.bytesIn);
        this.outRate.sample(Date.now(), st.bytesOut);
      }),
      1000,
    );
    this.rateTimer.unref();
  }

  private cutLater(stream: BulkStream, bytes: number): void {
    const timer = setInterval(() => {
      if (stream.closed) clearInterval(timer);
      else if (stream.bytesIn >= bytes) {
        clearInterval(timer);
        stream.close('fault injection: the stream was cut');
      }
    }, 20);
    timer.unref();
  }
}
