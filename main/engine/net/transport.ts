// PeerLink: one WebRTC peer connection (node-datachannel) to another device, carrying two
// reliable, ordered data channels:
//   'index'  control and index messages, small and latency-sensitive
//   'data'   chunk transfer, bulk
// Separate SCTP streams with their own flow control, so a big transfer never sits in front of an
// index update.
//
// Channels are *negotiated* (fixed stream ids 0 and 1, created by both sides), so opening them
// costs no extra round trip and no in-band DATA_CHANNEL_OPEN. The offerer creates them before its
// offer (that is what makes libdatachannel put the SCTP section in the offer); the answerer creates
// them right after applying the offer, because creating them earlier would make it generate an
// offer of its own.
//
// A link does not know how its signals travel: it emits LinkSignals through the sendSignal callback
// and consumes them through handleSignal(). signaling.ts carries them over a WebSocket, trickling
// candidates one by one; a tracker carries one offer and one answer each way and nothing else, so
// a link made with `trickle: false` sends one description holding every candidate it gathered.

import type * as NodeDataChannel from 'node-datachannel';
import type { DataChannel, IceServer, PeerConnection, RtcConfig } from 'node-datachannel';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { ChannelSender, DEFAULT_SENDER_LIMITS, MAX_MESSAGE_BYTES, type SenderLimits } from './channel-sender.ts';
import { defaultNetLog, errorMessage, guard, type NetLog } from './log.ts';
import { RateMeter } from './rate.ts';
import { liveResources, trackResource, untrackResource, type NetResource } from './resources.ts';
import { localNetworks } from './local-networks.ts';
import { connectedVia, formatEndpoint, type SelectedPath } from './path.ts';
import { normalizeFingerprint, sha256FingerprintFromSdp, splitCandidates } from './sdp.ts';
import { MIN_SCTP_BUFFER } from './sctp-buffer.ts';

export { MAX_MESSAGE_BYTES };

export type LinkChannel = 'index' | 'data';
/** How often a link reads its selected candidate pair and how it reaches the peer again. */
const PATH_READ_MS = 1_000;
/** Same values as PeerVia in shared/api.ts. */
export type LinkVia = 'lan' | 'manual' | 'internet' | 'relay';
export type LinkRole = 'offerer' | 'answerer';

export const LINK_CHANNELS: readonly LinkChannel[] = ['index', 'data'];

let loadedNative: typeof NodeDataChannel | null = null;
/**
 * node-datachannel, loaded when the first link is made: a daemon that only scans, or whose peers
 * are all reached over TCP, never maps libdatachannel (~3.7 MB resident; bench/README.md, "Memory,
 * fifth round"). Synchronous, so creating a link stays synchronous.
 */
function nodeDataChannel(): typeof NodeDataChannel {
  loadedNative ??= createRequire(import.meta.url)('node-datachannel') as typeof NodeDataChannel;
  return loadedNative;
}
const CHANNEL_IDS: Record<LinkChannel, number> = { index: 0, data: 1 };

export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** Remote candidates accepted per link; more is abuse, not networking. */
export const MAX_REMOTE_CANDIDATES = 64;
/** Without trickle: how long gathering may take before the description goes with what it has. */
export const DEFAULT_GATHER_TIMEOUT_MS = 5_000;
/**
 * Without trickle: how long the answerer waits after sending its answer before it uses the
 * offerer's candidates. An offerer whose ICE agent is reached before it has applied the answer
 * closes its connection (libdatachannel; seen in about 1 of 10 loopback tries), so the answerer
 * lets the answer arrive first; the offerer's own checks usually connect the two before that.
 */
export const ANSWERER_CANDIDATE_DELAY_MS = 1_000;

export interface LinkOptions {
  /** PEM certificate and key for DTLS (the device identity). Both or neither: without them
   *  libdatachannel makes a throwaway certificate, fine for benchmarks, useless for identity.
   *  The key must be ECDSA (P-256) or RSA: libdatachannel's DTLS refuses Ed25519 ("no shared cipher"). */
  certPemFile?: string;
  keyPemFile?: string;
  /** Local address for ICE host candidates. Default: env PEERFOLD_BIND_ADDRESS, else all interfaces. */
  bindAddress?: string;
  /** STUN/TURN servers; none by default (LAN and manual peers need none). */
  iceServers?: (string | IceServer)[];
  /** UDP port range for ICE. */
  portRange?: { begin: number; end: number };
  /** How long to wait for both channels to open. Default 15 s. */
  connectTimeoutMs?: number;
  /** This link's SCTP send and receive buffers (bytes; sctp-buffer.ts sizes them from the round
   *  trip). Default, and never below: libdatachannel's process-wide 1 MiB. */
  sctpBufferBytes?: number;
  /**
   * true (default): the description goes at once and each candidate as its own signal. false: one
   * description with every gathered candidate in it (what a tracker can carry), and candidates
   * that come inside the peer's description.
   */
  trickle?: boolean;
  /** Without trickle: the longest wait for gathering (default 5 s). */
  gatherTimeoutMs?: number;
  /** Flow-control marks per channel (bytes). */
  senderLimits?: Partial<Omit<SenderLimits, 'maxMessageBytes'>>;
  /** Bytes received before a handler is registered that are held for it; beyond this the link is
   *  closed. Default 16 MiB. */
  maxUndeliveredBytes?: number;
  log?: NetLog;
}

/** What the signaling layer carries between the two PeerLinks. */
export type LinkSignal =
  { type: 'description'; kind: 'offer' | 'answer'; sdp: string } | { type: 'candidate'; candidate: string; mid: string };

/** Who is on the other end, as told by signaling (not yet proven: the share handshake proves it). */
export interface LinkPeer {
  deviceId: string;
  deviceName: string;
  /** discovery IDs (hex) both sides hold, as the signaling exchange agreed */
  discoveryIds: string[];
  /** the peer's signaling port, when it told us */
  listenPort?: number;
}

export interface LinkStats {
  bytesIn: number;
  bytesOut: number;
  inBytesPerSec: number;
  outBytesPerSec: number;
}

/**
 * Native objects of closed links, held until node-datachannel is done with them. Its wrappers sit
 * in a static registry by raw pointer until the channel's onClosed callback has been delivered; a
 * DataChannel collected before that leaves a dangling pointer there and cleanup() segfaults (seen
 * in practice). So a closed link's channels stay referenced until each reported closed, and its
 * PeerConnection until its channels are gone.
 */
const graveyard = new Map<PeerConnection, Set<DataChannel>>();

function bury(pc: PeerConnection | null, channels: DataChannel[]): void {
  if (!pc) return;
  if (channels.length === 0) return; // a PeerConnection alone unregisters itself when collected
  graveyard.set(pc, new Set(channels));
}

function releaseChannel(pc: PeerConnection, dc: DataChannel): void {
  const set = graveyard.get(pc);
  if (!set) return;
  set.delete(dc);
  if (set.size === 0) graveyard.delete(pc);
}

/** SCTP buffer bytes of the links that are not closed (sctp-buffer.ts bounds their sum). */
let liveBufferBytes = 0;
export function liveSctpBufferBytes(): number {
  return liveBufferBytes;
}

/** Closed links whose native objects are still held (diagnostics and tests). */
export function heldNativeObjects(): number {
  let n = 0;
  for (const set of graveyard.values()) n += 1 + set.size;
  return n;
}

type MessageHandler = (bytes: Uint8Array) => void;
type CloseHandler = (reason: string) => void;

interface ChannelState {
  name: LinkChannel;
  dc: DataChannel | null;
  sender: ChannelSender | null;
  open: boolean;
  /** the native channel reported closed (its wrapper is unregistered and may be collected) */
  nativeClosed: boolean;
  handler: MessageHandler | null;
  undelivered: Uint8Array[];
  flushScheduled: boolean;
  bytesIn: number;
}

export class PeerLink implements NetResource {
  readonly id: string;
  readonly role: LinkRole;
  /** How the peer was found; set by whoever created the link. connectedVia says how it is reached. */
  via: LinkVia = 'lan';
  /** Set by signaling once the peer introduced itself. */
  peer: LinkPeer | null = null;

  /** this link's SCTP send and receive buffers, bytes */
  readonly sctpBufferBytes: number;
  private readonly log: NetLog;
  private readonly pc: PeerConnection;
  private readonly channels: Record<LinkChannel, ChannelState>;
  private readonly senderLimits: SenderLimits;
  private readonly maxUndelivered: number;
  private undeliveredBytes = 0;
  private readonly remoteCandidates: { candidate: string; mid: string }[] = [];
  private readonly heldLocalCandidates: { candidate: string; mid: string }[] = [];
  private remoteCandidateCount = 0;
  private hasRemoteDescription = false;
  private readonly trickle: boolean;
  private readonly gatherTimeoutMs: number;
  private gatherTimer: NodeJS.Timeout | null = null;
  private wholeDescriptionSent = false;
  /** without trickle: the offer's candidates, held by the answerer until its answer had time to arrive */
  private delayedCandidates: { candidate: string; mid: string }[] = [];
  private delayTimer: NodeJS.Timeout | null = null;
  private localFp = '';
  private remoteFp = '';
  private selected: SelectedPath | null = null;
  /**
   * When the selected pair was last read, and connectedVia's last answer: both are asked for every
   * chunk (rate limits exempt the LAN), and reading them costs a call into libdatachannel and
   * os.networkInterfaces(), ~5% of a receiver's CPU in the 1 GiB bench. They change with ICE and
   * network events, so a read at most every PATH_READ_MS is current enough.
   */
  private selectedReadAt = 0;
  private viaRead: { at: number; via: LinkVia } | null = null;
  private closedReason: string | null = null;
  private readonly closeHandlers: CloseHandler[] = [];
  private connectTimer: NodeJS.Timeout | null;
  private readonly rateTimer: NodeJS.Timeout;
  private readonly inRate = new RateMeter();
  private readonly outRate = new RateMeter();
  private readonly openPromise: Promise<void>;
  private resolveOpen!: () => void;
  private rejectOpen!: (err: Error) => void;

  constructor(
    role: LinkRole,
    options: LinkOptions,
    private readonly sendSignal: (s: LinkSignal) => void,
    id?: string,
  ) {
    this.id = id ?? randomBytes(8).toString('hex');
    this.role = role;
    this.log = options.log ?? defaultNetLog;
    this.senderLimits = { ...DEFAULT_SENDER_LIMITS, ...options.senderLimits, maxMessageBytes: MAX_MESSAGE_BYTES };
    this.maxUndelivered = options.maxUndeliveredBytes ?? 16 * 1024 * 1024;
    this.trickle = options.trickle ?? true;
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS;
    this.openPromise = new Promise<void>((resolve, reject) => {
      this.resolveOpen = resolve;
      this.rejectOpen = reject;
    });
    this.openPromise.catch(() => {}); // whoever cares awaits whenOpen(); nobody else must see it
    const mk = (name: LinkChannel): ChannelState => ({
      name,
      dc: null,
      sender: null,
      open: false,
      nativeClosed: false,
      handler: null,
      undelivered: [],
      flushScheduled: false,
      bytesIn: 0,
    });
    this.channels = { index: mk('index'), data: mk('data') };

    if ((options.certPemFile === undefined) !== (options.keyPemFile === undefined)) {
      throw new Error('LinkOptions: give both certPemFile and keyPemFile, or neither');
    }
    // libdatachannel raises this association's socket buffers to its max message size; the
    // messages themselves stay within MAX_MESSAGE_BYTES both ways (received() enforces it)
    this.sctpBufferBytes = Math.max(MIN_SCTP_BUFFER, options.sctpBufferBytes ?? 0);
    const config: RtcConfig = {
      iceServers: options.iceServers ?? [],
      maxMessageSize: this.sctpBufferBytes > MIN_SCTP_BUFFER ? this.sctpBufferBytes : MAX_MESSAGE_BYTES,
    };
    const bindAddress = options.bindAddress ?? (process.env.PEERFOLD_BIND_ADDRESS || undefined);
    if (bindAddress) config.bindAddress = bindAddress;
    if (options.certPemFile !== undefined) {
      config.certificatePemFile = options.certPemFile;
      config.keyPemFile = options.keyPemFile;
    }
    if (options.portRange) {
      config.portRangeBegin = options.portRange.begin;
      config.portRangeEnd = options.portRange.end;
    }

    // Registered before anything can fail, so shutdownNet() also reaches a half-built link, and
    // so the PeerConnection and channels stay referenced for as long as the link is alive.
    trackResource(this);
    liveBufferBytes += this.sctpBufferBytes;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.connectTimer = setTimeout(
      guard(this.log, 'link connect timer', () => {
        this.close(
          `connection not established within ${Math.round(timeoutMs / 1000)} s ` +
            '(no network path between the devices? a firewall blocking UDP?)',
        );
      }),
      timeoutMs,
    );
    this.connectTimer.unref();
    this.rateTimer = setInterval(
      guard(this.log, 'link rate timer', () => this.sampleRates()),
      1000,
    );
    this.rateTimer.unref();

    maybeEnableNativeLogFromEnv(this.log);
    nativeInUse = true;
    try {
      this.pc = new (nodeDataChannel().PeerConnection)(`peerfold-${role}-${this.id}`, config);
    } catch (err) {
      this.pc = null as unknown as PeerConnection;
      this.close(`cannot create peer connection: ${errorMessage(err)}`);
      return;
    }
    const pc = this.pc;
    pc.onLocalDescription(
      guard(this.log, 'onLocalDescription', (sdp, type) => {
        if (this.closedReason !== null) return;
        if (type !== 'offer' && type !== 'answer') return;
        try {
          this.localFp = sha256FingerprintFromSdp(sdp);
        } catch (err) {
          this.close(`local description unusable: ${errorMessage(err)}`);
          return;
        }
        if (this.trickle) {
          this.emitSignal({ type: 'description', kind: type, sdp });
          return;
        }
        if (pc.gatheringState() === 'complete') this.sendWholeDescription();
        else if (!this.gatherTimer) {
          this.gatherTimer = setTimeout(
            guard(this.log, 'link gather timer', () => this.sendWholeDescription()),
            this.gatherTimeoutMs,
          );
          this.gatherTimer.unref();
        }
      }),
    );
    pc.onGatheringStateChange(
      guard(this.log, 'onGatheringStateChange', (state) => {
        if (!this.trickle && state === 'complete') this.sendWholeDescription();
      }),
    );
    pc.onLocalCandidate(
      guard(this.log, 'onLocalCandidate', (candidate, mid) => {
        if (this.closedReason !== null || !this.trickle) return;
        // The offerer holds its candidates until it has the answer. Otherwise the answerer can
        // reach it over ICE and start DTLS before the answer is applied here, and libdatachannel
        // then fails the certificate check for want of the remote fingerprint ("DTLS alert:
        // unknown CA"; seen in about 1 of 100 loopback connections).
        if (this.role === 'offerer' && !this.hasRemoteDescription) this.heldLocalCandidates.push({ candidate, mid });
        else this.emitSignal({ type: 'candidate', candidate, mid });
      }),
    );
    pc.onStateChange(
      guard(this.log, 'onStateChange', (state) => {
        if (state === 'failed') this.close('connection failed (ICE or DTLS could not be established)');
        else if (state === 'disconnected') this.close('connection lost');
        else if (state === 'closed') this.close('peer closed the connection');
      }),
    );
    if (role === 'offerer') this.createChannels();
  }

  /** Resolves when both channels are open; rejects with the close reason otherwise. */
  whenOpen(): Promise<void> {
    return this.openPromise;
  }

  get isOpen(): boolean {
    return this.closedReason === null && this.channels.index.open && this.channels.data.open;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  get closeReason(): string | null {
    return this.closedReason;
  }

  /** sha-256 of our DTLS certificate, lowercase hex (empty until the local description exists). */
  get localFingerprint(): string {
    return this.localFp;
  }

  /** sha-256 of the peer's DTLS certificate from its SDP, lowercase hex; DTLS verified the peer
   *  holds that certificate's key once the link is open. Empty before the remote description. */
  get remoteFingerprint(): string {
    return this.remoteFp;
  }

  /** "ip:port" ([ip]:port for IPv6) of the peer's side of the selected candidate pair. */
  get remoteAddress(): string | null {
    const path = this.selectedPath();
    return path ? formatEndpoint(path.remote) : null;
  }

  /** The candidate pair ICE selected (addresses and candidate types), null before there is one. */
  selectedPath(): SelectedPath | null {
    const now = Date.now();
    if (this.closedReason === null && (!this.selected || now - this.selectedReadAt >= PATH_READ_MS)) {
      this.selectedReadAt = now;
      this.refreshSelectedPath();
    }
    return this.selected;
  }

  /** How the peer is reached: lan, manual, internet (directly, through NATs) or relay (net/path.ts). */
  get connectedVia(): LinkVia {
    const now = Date.now();
    if (!this.viaRead || now - this.viaRead.at >= PATH_READ_MS)
      this.viaRead = { at: now, via: connectedVia(this.via, this.selectedPath(), localNetworks()) };
    return this.viaRead.via;
  }

  get bytesIn(): number {
    return this.channels.index.bytesIn + this.channels.data.bytesIn;
  }

  get bytesOut(): number {
    return (this.channels.index.sender?.bytesSent ?? 0) + (this.channels.data.sender?.bytesSent ?? 0);
  }

  stats(): LinkStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, inBytesPerSec: this.inRate.rate(), outBytesPerSec: this.outRate.rate() };
  }

  /** Bytes waiting in the native channel (not counting our own queue). */
  bufferedAmount(channel: LinkChannel): number {
    const dc = this.channels[channel].dc;
    if (!dc || this.closedReason !== null) return 0;
    try {
      return dc.bufferedAmount();
    } catch {
      return 0;
    }
  }

  /** Largest bufferedAmount seen after a send on `channel` (diagnostics; tests check it is bounded). */
  maxBufferedSeen(channel: LinkChannel): number {
    return this.channels[channel].sender?.maxBufferedSeen ?? 0;
  }

  /**
   * Sends one message (at most 256 KiB). Resolves when it is handed to the native channel, which
   * happens only while the channel's bufferedAmount is under the high-water mark: awaiting each
   * send is the flow control. Do not modify `bytes` before the promise resolves.
   */
  send(channel: LinkChannel, bytes: Uint8Array): Promise<void> {
    const st = this.channels[channel];
    if (!st) return Promise.reject(new Error(`unknown channel ${String(channel)}`));
    if (this.closedReason !== null) return Promise.reject(new Error(`link closed: ${this.closedReason}`));
    if (!this.isOpen || !st.sender) return Promise.reject(new Error('link is not open yet; await whenOpen()'));
    return st.sender.send(bytes);
  }

  /**
   * Sets the handler for messages on `channel` (replacing any earlier one). Messages that arrived
   * before a handler was set are held and delivered to it, in order, right after this call returns.
   */
  onMessage(channel: LinkChannel, handler: MessageHandler): void {
    const st = this.channels[channel];
    if (!st) throw new Error(`unknown channel ${String(channel)}`);
    st.handler = handler;
    if (st.undelivered.length > 0) this.scheduleFlush(st);
  }

  /** Called once with the reason when the link closes (at once, async, if already closed). */
  onClose(handler: CloseHandler): void {
    if (this.closedReason !== null) {
      const reason = this.closedReason;
      setImmediate(guard(this.log, 'link onClose handler', () => handler(reason)));
      return;
    }
    this.closeHandlers.push(handler);
  }

  /** Applies a signal from the peer. Never throws: anything wrong closes the link. */
  handleSignal(signal: LinkSignal): void {
    if (this.closedReason !== null) return;
    try {
      if (signal.type === 'description') this.applyRemoteDescription(signal.kind, signal.sdp);
      else this.addRemoteCandidate(signal.candidate, signal.mid);
    } catch (err) {
      this.close(`bad signal from peer: ${errorMessage(err)}`);
    }
  }

  /** Closes the link (idempotent); close handlers get `reason`. */
  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    clearInterval(this.rateTimer);
    const err = new Error(`link closed: ${reason}`);
    this.rejectOpen(err);
    const unreleased: DataChannel[] = [];
    for (const st of Object.values(this.channels)) {
      st.sender?.fail(err);
      st.undelivered = [];
      if (st.dc && !st.nativeClosed) unreleased.push(st.dc);
      try {
        st.dc?.close();
      } catch {
        // already closed natively
      }
    }
    try {
      this.pc?.close();
    } catch {
      // already closed natively
    }
    bury(this.pc, unreleased);
    untrackResource(this);
    liveBufferBytes -= this.sctpBufferBytes;
    this.log('debug', `link ${this.id} (${this.role}${this.peer ? ` with ${this.peer.deviceId}` : ''}) closed: ${reason}`);
    for (const h of this.closeHandlers.splice(0)) {
      guard(this.log, 'link onClose handler', h)(reason);
    }
  }

  shutdown(reason: string): void {
    this.close(reason);
  }

  // ---- internals ----

  private emitSignal(s: LinkSignal): void {
    try {
      this.sendSignal(s);
    } catch (err) {
      this.close(`signaling failed: ${errorMessage(err)}`);
    }
  }

  private applyRemoteDescription(kind: 'offer' | 'answer', sdp: string): void {
    const expected = this.role === 'offerer' ? 'answer' : 'offer';
    if (kind !== expected) throw new Error(`an ${this.role} expects an ${expected}, got an ${kind}`);
    if (this.hasRemoteDescription) throw new Error(`second ${kind} received`);
    this.remoteFp = sha256FingerprintFromSdp(sdp);
    let embedded: { candidate: string; mid: string }[] = [];
    if (!this.trickle) {
      const split = splitCandidates(sdp);
      if (split.candidates.length > MAX_REMOTE_CANDIDATES) throw new Error(`more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
      sdp = split.sdp;
      embedded = split.candidates.map((candidate) => ({ candidate, mid: split.mid }));
      this.remoteCandidateCount += embedded.length;
    }
    this.pc.setRemoteDescription(sdp, kind);
    this.hasRemoteDescription = true;
    if (this.role === 'answerer') this.createChannels();
    for (const c of this.remoteCandidates.splice(0)) this.applyCandidate(c.candidate, c.mid);
    for (const c of this.heldLocalCandidates.splice(0)) this.emitSignal({ type: 'candidate', ...c });
    if (this.role === 'offerer') for (const c of embedded) this.applyCandidate(c.candidate, c.mid);
    else this.delayedCandidates = embedded; // used once the answer is out (sendWholeDescription)
  }

  /** Without trickle: the local description with every candidate gathered so far, once. */
  private sendWholeDescription(): void {
    if (this.closedReason !== null || this.wholeDescriptionSent) return;
    const local = this.pc.localDescription();
    if (!local || (local.type !== 'offer' && local.type !== 'answer')) return;
    this.wholeDescriptionSent = true;
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = null;
    this.emitSignal({ type: 'description', kind: local.type, sdp: local.sdp });
    if (this.role === 'answerer' && this.delayedCandidates.length) {
      this.delayTimer = setTimeout(
        guard(this.log, 'link candidate delay timer', () => {
          if (this.closedReason !== null) return;
          for (const c of this.delayedCandidates.splice(0)) this.applyCandidate(c.candidate, c.mid);
        }),
        ANSWERER_CANDIDATE_DELAY_MS,
      );
      this.delayTimer.unref();
    }
  }

  private addRemoteCandidate(candidate: string, mid: string): void {
    if (++this.remoteCandidateCount > MAX_REMOTE_CANDIDATES) {
      throw new Error(`more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
    }
    // libdatachannel throws on a candidate that comes before the remote description
    if (!this.hasRemoteDescription) this.remoteCandidates.push({ candidate, mid });
    else this.applyCandidate(candidate, mid);
  }

  private applyCandidate(candidate: string, mid: string): void {
    try {
      this.pc.addRemoteCandidate(candidate, mid);
    } catch (err) {
      // one unusable candidate (say an IPv6 one on an IPv4-only host) is no reason to give up
      this.log('warn', `link ${this.id}: ignoring remote candidate ${JSON.stringify(candidate)}: ${errorMessage(err)}`);
    }
  }

  private createChannels(): void {
    for (const name of LINK_CHANNELS) {
      const st = this.channels[name];
      const dc = this.pc.createDataChannel(name, { negotiated: true, id: CHANNEL_IDS[name] });
      st.dc = dc;
      st.sender = new ChannelSender(dc, name, this.senderLimits);
      dc.setBufferedAmountLowThreshold(this.senderLimits.lowWater);
      dc.onBufferedAmountLow(guard(this.log, `${name} onBufferedAmountLow`, () => st.sender?.onBufferedAmountLow()));
      dc.onOpen(guard(this.log, `${name} onOpen`, () => this.channelOpened(st)));
      dc.onClosed(
        guard(this.log, `${name} onClosed`, () => {
          st.nativeClosed = true;
          releaseChannel(this.pc, dc);
          this.close('peer closed the connection');
        }),
      );
      dc.onError(guard(this.log, `${name} onError`, (e: string) => this.close(`data channel ${name} failed: ${e}`)));
      dc.onMessage(guard(this.log, `${name} onMessage`, (msg) => this.received(st, msg)));
      if (dc.isOpen()) this.channelOpened(st);
    }
  }

  private channelOpened(st: ChannelState): void {
    if (this.closedReason !== null || st.open) return;
    st.open = true;
    if (!this.channels.index.open || !this.channels.data.open) return;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (!this.localFp) {
      const local = this.pc.localDescription();
      if (local) this.localFp = sha256FingerprintFromSdp(local.sdp);
    }
    // DTLS checked the certificate against the SDP fingerprint; make sure both views agree.
    try {
      const native = this.pc.remoteFingerprint();
      const nativeHex = native && native.algorithm === 'sha-256' ? normalizeFingerprint(native.value) : null;
      if (nativeHex && nativeHex !== this.remoteFp) {
        this.close('remote DTLS certificate does not match the fingerprint in its description');
        return;
      }
    } catch {
      // older bindings lack remoteFingerprint(); libdatachannel has verified it anyway
    }
    this.refreshSelectedPath();
    this.resolveOpen();
  }

  private received(st: ChannelState, msg: string | Buffer | ArrayBuffer): void {
    if (this.closedReason !== null) return;
    if (typeof msg === 'string') {
      this.log('warn', `link ${this.id}: ignoring a text message on ${st.name} (the protocol is binary)`);
      return;
    }
    const bytes = msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg;
    if (bytes.byteLength > MAX_MESSAGE_BYTES) {
      // the SDP allows bigger ones (max-message-size carries the buffer size), the protocol does not
      this.close(`peer sent a ${bytes.byteLength}-byte message; the limit is ${MAX_MESSAGE_BYTES}`);
      return;
    }
    st.bytesIn += bytes.byteLength;
    if (st.handler && st.undelivered.length === 0) {
      this.deliver(st, bytes);
      return;
    }
    this.undeliveredBytes += bytes.byteLength;
    if (this.undeliveredBytes > this.maxUndelivered) {
      this.close(`peer sent more than ${this.maxUndelivered} bytes before this device was ready to read them`);
      return;
    }
    st.undelivered.push(bytes);
    if (st.handler) this.scheduleFlush(st);
  }

  private scheduleFlush(st: ChannelState): void {
    if (st.flushScheduled) return;
    st.flushScheduled = true;
    queueMicrotask(() => {
      st.flushScheduled = false;
      while (st.handler && st.undelivered.length > 0 && this.closedReason === null) {
        const bytes = st.undelivered.shift()!;
        this.undeliveredBytes -= bytes.byteLength;
        this.deliver(st, bytes);
      }
    });
  }

  private deliver(st: ChannelState, bytes: Uint8Array): void {
    try {
      st.handler!(bytes);
    } catch (err) {
      this.log('error', `link ${this.id}: ${st.name} message handler threw: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }

  private refreshSelectedPath(): void {
    try {
      const pair = this.pc.getSelectedCandidatePair();
      if (pair?.remote?.address && pair.local) {
        const end = (c: { address: string; port: number; type: string }) => ({ address: c.address, port: c.port, type: c.type });
        this.selected = { local: end(pair.local), remote: end(pair.remote) };
      }
    } catch {
      // not selected yet
    }
  }

  private sampleRates(): void {
    const now = Date.now();
    this.inRate.sample(now, this.bytesIn);
    this.outRate.sample(now, this.bytesOut);
  }
}

/** Creates a link; the caller wires sendSignal / handleSignal to a signaling path. */
export function createLink(role: LinkRole, options: LinkOptions, sendSignal: (s: LinkSignal) => void, id?: string): PeerLink {
  return new PeerLink(role, options, sendSignal, id);
}

/** Links that are open or connecting. */
export function liveLinks(): PeerLink[] {
  return liveResources().filter((r): r is PeerLink => r instanceof PeerLink);
}

let nativeLogOn = false;

/**
 * Routes libdatachannel's own log (ICE, DTLS and SCTP details) to `log`. Off by default. The env
 * var PEERFOLD_NET_DEBUG turns it on when the first link is made: "1" for warnings and errors,
 * "verbose" for libdatachannel's debug output too.
 */
export function enableNativeLog(level: 'Verbose' | 'Debug' | 'Info' | 'Warning' | 'Error', log: NetLog = defaultNetLog): void {
  nativeLogOn = true;
  nodeDataChannel().initLogger(
    level,
    guard(log, 'native log', (l: string, message: string) => {
      log(l === 'Error' || l === 'Fatal' ? 'error' : l === 'Warning' ? 'warn' : 'debug', `libdatachannel: ${message}`);
    }),
  );
}

function maybeEnableNativeLogFromEnv(log: NetLog): void {
  if (nativeLogOn) return;
  const v = process.env.PEERFOLD_NET_DEBUG;
  if (!v) return;
  enableNativeLog(v === 'verbose' ? 'Debug' : 'Warning', (level, message) => {
    if (level === 'debug' && v !== 'verbose') return;
    log(level === 'debug' ? 'warn' : level, message);
  });
}

let nativeInUse = false;

/**
 * Closes every link, signaling listener and discovery socket, then releases node-datachannel's
 * native threads (the process cannot exit before that). Call once, at shutdown.
 */
export async function shutdownNet(reason = 'shutting down'): Promise<void> {
  const all = liveResources();
  await Promise.allSettled(all.map(async (r) => r.shutdown(reason)));
  if (nativeInUse) {
    nativeInUse = false;
    try {
      nodeDataChannel().cleanup();
    } catch {
      // nothing left to clean
    }
    graveyard.clear(); // cleanup() unregistered every wrapper
  }
}
