// One link's bulk stream (PROTOCOL.md, "Bulk streams"): once the link is live, both devices swap
// a udxOffer over it (a stream id, a one-time token, the addresses of their udx socket), find a UDP
// path by probing, run TLS over a udx stream with the certificates the link's DTLS saw, and from
// then on carry the link's blocks over it. Whatever fails, at any step, leaves the blocks on the
// data channel (bulk-carrier.ts), and the link goes on.
//
//   waiting ──both offers, a usable address──> probing ──a path answered──> securing ──TLS, token──> up
//      │                                          │                            │                     │
//      └─ off here or at the peer, no address ────┴── no answer in time ───────┴── refused ──────────┴─ stream lost
//                                             └──────────────> datachannel (final for this link)
//   any state ── the link closes ──> closed

import { randomBytes } from 'node:crypto';
import { errorMessage, type NetLog } from '../net/log.ts';
import type { LinkRole } from '../net/transport.ts';
import { duplexOf, formatCandidate, type UdxEndpoint } from '../net/udx.ts';
import { searchPath, type PathSearch, type PathTarget } from '../net/udx-path.ts';
import { TOKEN_BYTES, secureStream, type BulkStream } from '../net/udx-tls.ts';
import { MAX_CANDIDATES, type UdxOffer } from '../protocol/messages.ts';
import { BulkCarrier } from './bulk-carrier.ts';
import { planBulk, tlsRole, type OurBulkSide } from './bulk-choice.ts';
import { RateMeter } from '../net/rate.ts';
import { guard } from '../net/log.ts';
import type { BlockCarrier, BulkPlug, Channel, LinkStats } from './pipe.ts';

/** Addresses one udxOffer carries: the protocol's limit. */
const MAX_OFFERED = MAX_CANDIDATES;

export type BulkState = 'waiting' | 'probing' | 'securing' | 'up' | 'datachannel' | 'closed';

export interface BulkLinkDeps {
  /** this device's udx socket; null when udx is off here */
  endpoint: UdxEndpoint | null;
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
  /** test fault (PEERFOLD_FAULT_UDX_CUT_BYTES): the stream is cut once this many bytes came over it */
  cutAfterBytes?: number;
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
  private readonly netLog: NetLog;
  /** why blocks stay on the data channel (for the log and tests) */
  reason = '';
  /** bytes of streams already closed */
  private doneIn = 0;
  private doneOut = 0;
  private readonly inRate = new RateMeter();
  private readonly outRate = new RateMeter();
  private rateTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: BulkLinkDeps) {
    this.carrier = new BulkCarrier(deps.dataChannel);
    this.netLog = (level, m) => (level === 'warn' || level === 'error' ? deps.log(`udx: ${m}`) : undefined);
  }

  get current(): BulkState {
    return this.state;
  }

  get transport(): BlockCarrier {
    return this.carrier.transport;
  }

  send(bytes: Uint8Array): Promise<void> {
    return this.carrier.send(bytes);
  }

  onMessage(handler: (bytes: Uint8Array, replyOn?: Channel) => void): void {
    this.carrier.onMessage(handler);
  }

  onLost(handler: (reason: string) => void): void {
    this.carrier.onLost(handler);
  }

  start(sendControl: (msg: UdxOffer) => void): void {
    if (this.ours !== null || this.state === 'closed') return;
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

  peerOffered(msg: UdxOffer): void {
    if (this.state === 'closed') return;
    if (this.peer) {
      this.deps.log('udx: the peer offered a bulk stream twice on one link; the second offer is ignored');
      return;
    }
    this.peer = { ...msg, token: new Uint8Array(msg.token), candidates: [...msg.candidates] };
    this.step();
  }

  stats(): LinkStats {
    const s = this.stream;
    return {
      bytesIn: this.doneIn + (s?.bytesIn ?? 0),
      bytesOut: this.doneOut + (s?.bytesOut ?? 0),
      inBytesPerSec: this.inRate.rate(),
      outBytesPerSec: this.outRate.rate(),
    };
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.search?.stop();
    this.carrier.close(reason);
    this.stream?.close(reason);
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
    if (this.state === 'closed') return;
    this.search?.stop();
    this.search = null;
    this.state = 'datachannel';
    this.reason = reason;
    this.deps.log(`udx: blocks go over the data channel: ${reason}`);
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
    this.rateTimer = setInterval(
      guard(this.netLog, 'udx rate timer', () => {
        const st = this.stats();
        this.inRate.sample(Date.now(), st.bytesIn);
        this.outRate.sample(Date.now(), st.bytesOut);
      }),
      1000,
    );
    this.rateTimer.unref();
    stream.onClose((reason) => {
      this.doneIn += stream.bytesIn;
      this.doneOut += stream.bytesOut;
      if (this.stream === stream) this.stream = null;
      if (this.state === 'up') this.fallBack(`the udx stream was lost (${reason})`);
    });
    this.carrier.attach(stream);
    if (this.deps.cutAfterBytes !== undefined) this.cutLater(stream, this.deps.cutAfterBytes);
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
