// One authenticated link to one device, carrying any number of shares (PROTOCOL.md,
// "Connection", "Handshake", "Shares on a live link", "Liveness"). It composes:
//   the handshake (protocol/handshake.ts), the share set (share-set.ts), one index exchange per
//   carried share (index-exchange.ts), the block server (block-server.ts) and the request
//   tracker (request-tracker.ts), over a MessagePipe that some LinkOrigin brought up (pipe.ts).
//
// States (one field, changed only by the methods that own each transition):
//   handshaking    hello/auth/authResult on 'index'; anything else from the peer is refused
//        |  accepted                 \ refused, timeout, pipe closed
//   authenticated  the peer is proven; its messages are held until the device's links decide
//        |  activate()               \ (a link to this device already exists) close()
//   live           index exchange, block transfer, share changes, pings
//        |  close(), the peer's close, a dead link, the pipe closing
//   closed         final: everything in flight fails at once, nothing more is applied

import type { AccessLevel } from '../../../shared/api.ts';
import type { ShareKeys } from '../keys/secrets.ts';
import { HANDSHAKE_TIMEOUT_MS, Handshake, type ClaimedInvite, type SharedShare } from '../protocol/handshake.ts';
import { EntrySigner } from '../keys/entry-signing.ts';
import {
  DecodeError,
  MAX_RUN_BYTES,
  MAX_RUN_CHUNKS,
  ProtocolViolation,
  decodeMessage,
  encodeMessage,
  runRequests,
  batchRequests,
  MAX_BATCH_REQUESTS,
  MAX_BATCH_BYTES,
  type RequestBatch,
  type ResponseBatch,
  type BlockRequest,
  type BlockResponse,
  type RequestRun,
  type InviteAnswer,
  type FileEntryWire,
  type Message,
  type ResponseStatus,
} from '../protocol/messages.ts';
import { guard, type NetLog } from '../net/log.ts';
import { checkProofs, proveShares, type LinkSides } from '../protocol/share-proofs.ts';
import { BlockServer, type BlockStore } from './block-server.ts';
import { IndexExchange, type Carriage, type ExchangeStore, type PeerIndexWrite } from './index-exchange.ts';
import type { ShareSealing } from './share-sealing.ts';
import { Liveness, PING_MS } from './liveness.ts';
import {
  channelOf,
  type BlockCarrier,
  type BulkPlug,
  type Channel,
  type LinkOrigin,
  type LinkStats,
  type LinkVia,
  type MessagePipe,
} from './pipe.ts';
import type { FlightBudget } from './flight-budget.ts';
import { RequestTracker, type FlightLoad } from './request-tracker.ts';
import { BatchAnswers } from './batch-answers.ts';
import type { ForgeEntry } from './forgery.ts';
import { ShareSet, ShareViolation, type ShareChanges } from './share-set.ts';

export type LinkState = 'handshaking' | 'authenticated' | 'live' | 'closed';

/** How long opening an encrypted member's entry waits for its sealed entry. */
const SEALED_FETCH_TIMEOUT_MS = 60_000;

/** After the last control message was handed over, how long the connection stays for it to arrive. */
const CLOSE_GRACE_MS = 250;

/** Bytes of the peer's messages held while the link waits to be activated; beyond: closed. */
const MAX_HELD_BYTES = 32 * 1024 * 1024;

/**
 * Whether this device offers and uses requestRun (PROTOCOL.md, "Block transfer").
 * PEERFOLD_REQUEST_RUNS=0 makes it behave as a device from before runs (tests, comparisons).
 */
const SERVES_RUNS = process.env.PEERFOLD_REQUEST_RUNS !== '0';
/**
 * Whether this device offers and uses requestBatch (PROTOCOL.md, "Block transfer").
 * PEERFOLD_REQUEST_BATCHES=0 makes it behave as a device from before batches (tests, comparisons).
 */
const SERVES_BATCHES = process.env.PEERFOLD_REQUEST_BATCHES !== '0';

export type LinkStore = ExchangeStore & BlockStore;

/** What a link needs from the rest of the engine. */
export interface DeviceLinkHost {
  self: { deviceId: string; deviceName: () => string; fingerprint: string; clientVersion: string };
  /** a share this device offers right now (held and not paused), by discovery ID */
  activeShare(discoveryId: string): ShareKeys | null;
  shareRoot(shareId: string): string | null;
  /** a file whose stat matches its entry may be served without hashing it again (BlockServerDeps.trustsStat) */
  trustsStat?(shareId: string, path: string): boolean;
  store: LinkStore;
  /** the peer's index for this share changed */
  remoteIndexChanged(shareId: string): void;
  /** writes a peer's index entries for a share when the share may take them; see IndexExchange */
  applyRemoteIndex(shareId: string, write: PeerIndexWrite): Promise<boolean>;
  /** a trusted device's side of a share's encrypted members (null on an encrypted member) */
  sealing(shareId: string): ShareSealing | null;
  /** the peer sent an entry whose writer signature fails: it was dropped (log and count it) */
  entryRejected(shareId: string, peer: string, path: string, reason: string): void;
  /** test-only hook (PEERFOLD_TEST=1): what this device sends is altered, see index-exchange.ts */
  forgeEntry?: ForgeEntry;
  /** waits until n more bytes may be sent under the upload limit (which may exempt some paths) */
  throttleSend(n: number, via: LinkVia): Promise<void>;
  log(message: string): void;
  /** a peer claims an invite of this device's (PROTOCOL.md, "Invites"): the answer to send it */
  answerInvite?(peer: string, claim: ClaimedInvite, address: string | null): InviteAnswer | { notNow: string };
  /** the handshake succeeded: decide whether to activate() or close() this link */
  authenticated(link: DeviceLink): void;
  /** the set of shares the link carries changed */
  sharesChanged(link: DeviceLink): void;
  closed(link: DeviceLink, reason: string): void;
}

export interface DeviceLinkOptions {
  /** when dialing a known device: anyone else is refused */
  expectDeviceId?: string;
  /** the shares to offer in the handshake (signaling agreed on them) */
  offer: readonly string[];
  pingMs?: number;
  handshakeTimeoutMs?: number;
  /** carries block requests and responses; default: the pipe's 'data' channel */
  blocks?: Channel;
  /** a second carrier for the blocks (a TCP or udx stream), set up once the link is live; replaces `blocks` */
  bulk?: BulkPlug;
  /** bytes in flight over all of this device's links (the global bound); default: this link's own */
  flightBudget?: FlightBudget;
}

export class DeviceLink {
  private state: LinkState = 'handshaking';
  private closeReason = '';
  deviceId = '';
  deviceName = '';
  /** when the link became live (ms since epoch) */
  since: number | null = null;
  private readonly handshake: Handshake;
  private sides: LinkSides | null = null;
  private readonly shares = new ShareSet();
  private readonly exchanges = new Map<string, IndexExchange>();
  /** shares whose opening indexAck this device has sent */
  private readonly opened = new Set<string>();
  private readonly server: BlockServer;
  private readonly tracker: RequestTracker;
  private readonly control: Channel;
  private readonly blocks: Channel;
  private readonly bulk: BulkPlug | null;
  private liveness: Liveness | null = null;
  private readonly pingMs: number;
  private livenessTimer: NodeJS.Timeout | null = null;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly timerLog: NetLog;
  private held: { channel: 'control' | 'blocks'; bytes: Uint8Array; replyOn?: Channel }[] = [];
  private heldBytes = 0;
  private queue: Promise<void> = Promise.resolve();
  private nextPingId = 1;
  private readonly probes = new Map<number, (alive: boolean) => void>();
  /** settles when everything queued on the control channel so far was handed over (or failed) */
  private controlSent: Promise<void> = Promise.resolve();

  constructor(
    readonly pipe: MessagePipe,
    readonly origin: LinkOrigin,
    private readonly host: DeviceLinkHost,
    opts: DeviceLinkOptions,
  ) {
    this.pingMs = opts.pingMs ?? PING_MS;
    this.control = channelOf(pipe, 'index');
    this.bulk = opts.bulk ?? null;
    this.blocks = this.bulk ?? opts.blocks ?? channelOf(pipe, 'data');
    const offered = opts.offer.map((d) => host.activeShare(d)).filter((k): k is ShareKeys => !!k);
    this.handshake = new Handshake({
      local: {
        deviceId: host.self.deviceId,
        fingerprint: host.self.fingerprint,
        deviceName: host.self.deviceName(),
        clientVersion: host.self.clientVersion,
      },
      remoteFingerprint: origin.remoteFingerprint,
      shares: offered,
      expectDeviceId: opts.expectDeviceId,
    });
    this.server = new BlockServer({
      self: host.self.deviceId,
      store: host.store,
      servedShare: (d) => this.servedShare(d),
      trustsStat: (shareId, path) => host.trustsStat?.(shareId, path) ?? false,
      throttleSend: (n) => host.throttleSend(n, this.origin.connectedVia),
      send: (m) => this.sendOn(this.blocks, m),
      log: (m) => host.log(`${this.deviceName}: ${m}`),
    });
    this.tracker = new RequestTracker((m) => this.sendRequest(m), {
      budget: opts.flightBudget,
      sendRun: (m) => this.sendRequest(m),
      sendBatch: (m) => this.sendRequest(m),
    });
    // a throw inside a timer would stop the daemon: every timer here is guarded
    this.timerLog = (_, m) => host.log(m);
    this.handshakeTimer = setTimeout(
      guard(this.timerLog, 'handshake timer', () => {
        if (this.state === 'handshaking') this.close('the handshake did not finish in time');
      }),
      opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    );
    this.handshakeTimer.unref();
    pipe.onClose((reason) => this.end(reason));
    this.control.onMessage((bytes) => this.fromPeer('control', bytes));
    this.blocks.onMessage((bytes, replyOn) => this.fromPeer('blocks', bytes, replyOn));
    // a second carrier that failed may have swallowed requests or their answers: ask again
    this.bulk?.onLost((_, requests) => this.tracker.resendPending(requests));
    this.sendAll(this.control, this.handshake.start());
  }

  get current(): LinkState {
    return this.state;
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  get endedWith(): string | null {
    return this.state === 'closed' ? this.closeReason : null;
  }

  /** What carries the blocks right now. */
  get transport(): BlockCarrier {
    return this.bulk?.transport ?? 'datachannel';
  }

  /** Streams carrying the blocks: the bulk plug's (several TCP stripes on a long path), else the data channel (1). */
  get bulkStreams(): number {
    return this.bulk?.streams || 1;
  }

  /** Chunk requests this device has in flight on this link. */
  get inFlight(): number {
    return this.tracker.inFlight;
  }

  /** How full this link's window of chunk requests is (request-tracker.ts). */
  flight(): FlightLoad {
    return this.tracker.flight();
  }

  /** Milliseconds since anything was heard from the peer (0 before the link is live). */
  silentFor(now = Date.now()): number {
    return this.liveness?.silentFor(now) ?? 0;
  }

  stats(): LinkStats {
    const st = this.pipe.stats();
    if (!this.bulk) return st;
    const b = this.bulk.stats();
    return {
      bytesIn: st.bytesIn + b.bytesIn,
      bytesOut: st.bytesOut + b.bytesOut,
      inBytesPerSec: st.inBytesPerSec + b.inBytesPerSec,
      outBytesPerSec: st.outBytesPerSec + b.outBytesPerSec,
    };
  }

  /** Share IDs carried both ways right now. */
  carriedShareIds(): string[] {
    return this.shares.carried().map((s) => s.shareId);
  }

  /** How far the peer has acknowledged this device's index of a share on this link (0: not yet). */
  acknowledged(shareId: string): number {
    for (const ex of this.exchanges.values()) if (ex.shareId === shareId) return ex.acknowledged;
    return 0;
  }

  carries(shareId: string): boolean {
    return this.shares.carried().some((s) => s.shareId === shareId);
  }

  /** The level each carried share was accepted at, both ways (for status and tests). */
  shareLevels(): { shareId: string; ours: AccessLevel | null; theirs: AccessLevel | null }[] {
    return this.shares.carried().map((s) => ({ shareId: s.shareId, ours: s.ourLevel, theirs: s.theirs }));
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** The device's links chose this one: start exchanging, and offer `alsoOffer` (shares activated meanwhile). */
  activate(alsoOffer: readonly ShareKeys[] = []): void {
    if (this.state !== 'authenticated') return;
    this.state = 'live';
    this.since = Date.now();
    this.liveness = new Liveness(this.since, this.pingMs);
    this.livenessTimer = setInterval(
      guard(this.timerLog, 'liveness timer', () => this.checkLiveness()),
      Math.max(50, Math.floor(this.pingMs / 5)),
    );
    this.livenessTimer.unref();
    for (const d of this.shares.carried().map((s) => s.discoveryId)) {
      // paused while this link waited to be chosen: withdrawn at once, the rest starts
      if (this.host.activeShare(d)) this.startExchange(d);
      else this.withdrawShare(d, 'share paused');
    }
    this.offerShares(alsoOffer);
    // runs of chunks in one request: a peer that does not send this gets single requests only
    if (SERVES_RUNS) this.sendAll(this.control, [{ type: 'requestRuns', maxChunks: MAX_RUN_CHUNKS, maxBytes: MAX_RUN_BYTES }]);
    // several small files' requests in one message: a peer that does not send this gets none
    if (SERVES_BATCHES)
      this.sendAll(this.control, [{ type: 'requestBatches', maxRequests: MAX_BATCH_REQUESTS, maxBytes: MAX_BATCH_BYTES }]);
    this.bulk?.start((m) => this.sendAll(this.control, [m]));
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) this.fromPeer(h.channel, h.bytes, h.replyOn);
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.sendAll(this.control, [{ type: 'close', reason }]);
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    clearTimeout(this.handshakeTimer);
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    for (const ex of this.exchanges.values()) ex.stop();
    this.exchanges.clear();
    this.opened.clear();
    this.server.close();
    this.tracker.close(`${this.deviceName || 'peer'}: ${reason}`);
    this.bulk?.close(reason);
    for (const p of this.probes.values()) p(false);
    this.probes.clear();
    this.held = [];
    // Let the close message (or the handshake's refusal) reach the peer before the connection goes:
    // closing right after handing it over lost it now and then under load, and the peer then saw
    // only "connection lost". Waits for what was queued on the control channel, at most 2 s.
    const closePipe = guard(this.timerLog, 'link close timer', () => this.pipe.close(reason));
    const cap = setTimeout(closePipe, 2_000);
    cap.unref();
    void this.controlSent.then(() => {
      clearTimeout(cap);
      setTimeout(closePipe, CLOSE_GRACE_MS).unref();
    });
    this.host.closed(this, reason);
  }

  /**
   * Asks the peer to answer now. Resolves true when it does within `timeoutMs`, false otherwise:
   * how the device's links tell a live link from one whose peer is gone (killed, unplugged).
   */
  probe(timeoutMs: number): Promise<boolean> {
    if (this.state !== 'live') return Promise.resolve(false);
    const id = this.nextPingId++;
    return new Promise((resolve) => {
      const timer = setTimeout(
        guard(this.timerLog, 'probe timer', () => {
          this.probes.delete(id);
          resolve(false);
        }),
        timeoutMs,
      );
      this.probes.set(id, (alive) => {
        clearTimeout(timer);
        this.probes.delete(id);
        resolve(alive);
      });
      this.sendAll(this.control, [{ type: 'ping', id }]);
    });
  }

  private checkLiveness(): void {
    if (this.state !== 'live' || !this.liveness) return;
    const verdict = this.liveness.tick(Date.now());
    if (verdict === 'dead') {
      this.host.log(`${this.deviceName} stopped answering; closing the link`);
      this.close(`no answer for ${Math.round(this.liveness.silentFor(Date.now()) / 1000)} s`);
    } else if (verdict === 'ping') {
      this.sendAll(this.control, [{ type: 'ping', id: this.nextPingId++ }]);
    }
  }

  // ---- shares -----------------------------------------------------------------------------------

  /** Offers shares on this live link (those not already offered); the peer answers in kind. */
  offerShares(keys: readonly ShareKeys[]): void {
    if (this.state !== 'live' || !this.sides || !keys.length) return;
    const toProve = new Set(this.shares.offer(keys.map((k) => ({ discoveryId: k.discoveryIdHex, shareId: k.shareId }))));
    if (!toProve.size) return;
    const proofs = proveShares(
      keys.filter((k) => toProve.has(k.discoveryIdHex)),
      this.sides,
    );
    this.sendAll(this.control, [{ type: 'shareProofs', shares: proofs }]);
  }

  /** Stops carrying a share here (paused or removed); the link and its other shares go on. */
  withdrawShare(discoveryId: string, reason: string): void {
    const shareId = this.shares.get(discoveryId)?.shareId;
    if (shareId) this.server.forgetShare(shareId);
    if (this.state !== 'live') return;
    const { tellPeer, changes } = this.shares.withdraw(discoveryId);
    if (tellPeer) this.sendAll(this.control, [{ type: 'shareWithdraw', shares: [discoveryId], reason }]);
    this.applyChanges(changes);
  }

  /** This device's index of a share changed: tell the peer if the share is carried here. */
  pushIndex(shareId: string): void {
    for (const ex of this.exchanges.values()) if (ex.shareId === shareId) ex.push();
  }

  private servedShare(discoveryId: string): { shareId: string; root: string } | null {
    const s = this.shares.readable(discoveryId);
    if (!s || !this.host.activeShare(discoveryId)) return null;
    const root = this.host.shareRoot(s.shareId);
    return root ? { shareId: s.shareId, root } : null;
  }

  /** The exchange of a share the peer proved (created once; the peer may send from now on). */
  private exchangeFor(discoveryId: string): IndexExchange | null {
    const existing = this.exchanges.get(discoveryId);
    if (existing) return existing;
    const s = this.shares.get(discoveryId);
    const keys = this.host.activeShare(discoveryId);
    if (!s || !keys) return null;
    const ex = new IndexExchange(s.shareId, discoveryId, {
      self: this.host.self.deviceId,
      peer: { deviceId: this.deviceId, name: () => this.deviceName },
      store: this.host.store,
      send: (m) => this.sendOn(this.control, m),
      active: () => this.host.activeShare(discoveryId) !== null,
      remoteIndexChanged: () => this.host.remoteIndexChanged(s.shareId),
      applyRemote: (write) => this.host.applyRemoteIndex(s.shareId, write),
      signer: new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret),
      rejected: (path, reason) => this.host.entryRejected(s.shareId, this.deviceName, path, reason),
      carriage: this.carriageOf(discoveryId, keys),
      peerWrites: s.theirs === 'read-write',
      ...(this.host.forgeEntry ? { forge: (e: FileEntryWire) => this.host.forgeEntry!(e, keys.discoveryId) } : {}),
    });
    this.exchanges.set(discoveryId, ex);
    return ex;
  }

  /**
   * How a share travels on this link (peer/index-exchange.ts Carriage): at the encrypted level when
   * either side proved only that (PROTOCOL.md, "Links at the encrypted level").
   */
  private carriageOf(discoveryId: string, keys: ShareKeys): Carriage {
    if (keys.level === 'encrypted') return { kind: 'relay' };
    if (!this.atEncryptedLevel(discoveryId)) return { kind: 'plain' };
    const sealing = this.host.sealing(keys.shareId);
    // never plaintext to an encrypted member: without its keys the share is not carried at all
    if (!sealing) throw new Error(`share ${keys.shareId} cannot be encrypted for ${this.deviceName}`);
    return { kind: 'sealed', sealing, fetchBlob: (token, hash, offset, size) => this.fetchBlob(discoveryId, token, hash, offset, size) };
  }

  /** The share's ShareSealing when this device reads it and the peer is an encrypted member of it. */
  private sealedOn(discoveryId: string): ShareSealing | null {
    // asked per chunk on both ends: the link's own note first, the host's lookup (a query) only
    // for a share that is carried at the encrypted level
    if (!this.atEncryptedLevel(discoveryId)) return null;
    const keys = this.host.activeShare(discoveryId);
    if (!keys || keys.level === 'encrypted') return null;
    return this.host.sealing(keys.shareId);
  }

  private atEncryptedLevel(discoveryId: string): boolean {
    const s = this.shares.get(discoveryId);
    return s?.theirs === 'encrypted' || s?.ourLevel === 'encrypted';
  }

  /** A whole blob from the encrypted member (for a sealed entry); null when it does not come. */
  private async fetchBlob(discoveryId: string, token: string, hash: Uint8Array, offset: number, size: number): Promise<Uint8Array | null> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error('no answer')), SEALED_FETCH_TIMEOUT_MS);
    try {
      const got = await this.tracker.fetchChunk(discoveryId, token, hash, offset, size, ctrl.signal);
      return typeof got === 'string' ? null : got;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** An encrypted member asks for a blob of this device's: encrypted here on the fly (ShareSealing). */
  private async serveSealed(sealing: ShareSealing, req: BlockRequest, send: (m: BlockResponse) => Promise<void>): Promise<void> {
    const reply = (status: ResponseStatus, data: Uint8Array = new Uint8Array(0)) =>
      send({ type: 'response', id: req.id, status, data }).catch(() => undefined);
    if (!this.servedShare(req.share)) return reply('not-shared');
    try {
      const bytes = await sealing.blob(req.path, req.hash, req.offset, req.size);
      if (!bytes || bytes.length !== req.size) return reply('not-found');
      await this.host.throttleSend(bytes.length, this.origin.connectedVia);
      return reply('ok', bytes);
    } catch (err) {
      this.host.log(`${this.deviceName}: serving an encrypted blob failed: ${(err as Error).message}`);
      return reply('io-error');
    }
  }

  /** The share is carried both ways: this device says where it stands, and the peer starts sending. */
  private startExchange(discoveryId: string): void {
    const ex = this.exchanges.get(discoveryId) ?? this.exchangeFor(discoveryId);
    if (!ex || this.opened.has(discoveryId)) return;
    this.opened.add(discoveryId);
    this.sendAll(this.control, [ex.opening()]);
  }

  private applyChanges(changes: ShareChanges): void {
    for (const d of changes.dropped) {
      this.exchanges.get(d)?.stop();
      this.exchanges.delete(d);
      this.opened.delete(d);
    }
    for (const d of changes.carried) this.startExchange(d);
    if (changes.carried.length || changes.dropped.length) this.host.sharesChanged(this);
  }

  // ---- messages ---------------------------------------------------------------------------------

  private sendOn(channel: Channel, msg: Message): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Error(`link closed: ${this.closeReason}`));
    return channel.send(encodeMessage(msg));
  }

  /** A block request: the bulk plug chooses which of its streams carries it. */
  private sendRequest(msg: BlockRequest | RequestRun | RequestBatch): Promise<void> {
    if (!this.bulk) return this.sendOn(this.blocks, msg);
    if (this.state === 'closed') return Promise.reject(new Error(`link closed: ${this.closeReason}`));
    if (msg.type === 'request') return this.bulk.sendRequest(encodeMessage(msg), msg.id, msg.size);
    // a run or a batch: its ids follow the first one's, each with its size
    const [first = 0, ...after] = (msg.type === 'requestRun' ? msg.chunks : msg.requests).map((c) => c.size);
    return this.bulk.sendRequest(encodeMessage(msg), msg.id, first, after);
  }

  /** Fire and forget, in order; a failed send ends the link. */
  private sendAll(channel: Channel, msgs: Message[]): void {
    let p = Promise.resolve();
    for (const m of msgs) {
      const bytes = encodeMessage(m);
      p = p.then(() => channel.send(bytes));
    }
    const done = p.catch((err) => this.end(`send failed: ${(err as Error).message}`));
    if (channel === this.control) this.controlSent = Promise.all([this.controlSent, done]).then(() => undefined);
  }

  private decode(bytes: Uint8Array): Message | null {
    try {
      return decodeMessage(bytes);
    } catch (err) {
      // a newer peer may send message types this version does not know: skip them
      if (err instanceof DecodeError && err.code === 'unknown-type' && this.state === 'live') return null;
      const why = err instanceof DecodeError ? err.message : String(err);
      this.host.log(`dropping ${this.deviceName || 'peer'}: malformed message (${why})`);
      this.close(`protocol violation: ${why}`);
      return null;
    }
  }

  private fromPeer(channel: 'control' | 'blocks', bytes: Uint8Array, replyOn?: Channel): void {
    if (this.state === 'closed') return;
    if (this.state === 'authenticated' || (this.state === 'handshaking' && channel === 'blocks')) {
      if (this.state === 'handshaking') return; // PROTOCOL.md: a data message before the handshake is ignored
      this.heldBytes += bytes.byteLength;
      if (this.heldBytes > MAX_HELD_BYTES) this.close('the peer sent too much before this device was ready');
      else this.held.push({ channel, bytes: new Uint8Array(bytes), replyOn });
      return;
    }
    this.liveness?.heard(Date.now());
    const msg = this.decode(bytes);
    if (!msg) return;
    if (this.state === 'handshaking') return this.onHandshake(msg);
    if (channel === 'blocks') return this.onBlocks(msg, replyOn);
    switch (msg.type) {
      case 'ping':
        this.sendAll(this.control, [{ type: 'pong', id: msg.id }]);
        return;
      case 'pong':
        this.probes.get(msg.id)?.(true);
        return;
      case 'requestRuns':
        if (!SERVES_RUNS) return;
        this.tracker.peerServesRuns(msg);
        this.host.log(`${this.deviceName} answers runs of up to ${msg.maxChunks} chunks (${msg.maxBytes} bytes) in one request`);
        return;
      case 'requestBatches':
        if (!SERVES_BATCHES) return;
        this.tracker.peerServesBatches(msg);
        this.host.log(`${this.deviceName} answers batches of up to ${msg.maxRequests} requests (${msg.maxBytes} bytes) in one message`);
        return;
      case 'udxOffer':
      case 'tcpOffer':
        // not queued behind index work either: the bulk stream should be up before the first chunk request
        this.bulk?.peerOffered(msg);
        return;
      case 'close':
        // not queued behind index work: the peer is gone either way, and a stopped link applies nothing more
        this.host.log(`${this.deviceName} closed the connection: ${msg.reason}`);
        this.end(msg.reason || 'closed by peer');
        return;
      default:
        // share changes and index messages are handled strictly in order, one at a time
        this.queue = this.queue
          .then(() => this.onControl(msg))
          .catch((err) => {
            const why = (err as Error).message;
            if (this.state === 'closed') return;
            this.host.log(`dropping ${this.deviceName}: ${why}`);
            this.close(err instanceof ProtocolViolation || err instanceof ShareViolation ? `protocol violation: ${why}` : why);
          });
    }
  }

  private onHandshake(msg: Message): void {
    const step = this.handshake.receive(msg);
    this.sendAll(this.control, step.send);
    if (!step.outcome) return;
    if ('claim' in step.outcome) {
      const { peer, claim } = step.outcome;
      const answer = this.host.answerInvite?.(peer.deviceId, claim, this.origin.remoteAddress) ?? {
        type: 'inviteAnswer',
        status: 'unknown',
        code: '',
      };
      if ('notNow' in answer) {
        this.host.log(`${peer.deviceName} (${peer.deviceId.slice(0, 7)}) claimed invite ${claim.invite}: not answered, ${answer.notNow}`);
        this.end(answer.notNow);
        return;
      }
      this.host.log(`${peer.deviceName} (${peer.deviceId.slice(0, 7)}) claimed invite ${claim.invite}: ${answer.status}`);
      // the link carries nothing else: closed once the answer is on its way
      const done = () => this.end(`invite ${answer.status}`);
      this.sendOn(this.control, answer).then(done, done);
      return;
    }
    if (!step.outcome.accepted) {
      this.host.log(`connection with ${step.outcome.peer?.deviceName ?? 'a peer'} refused: ${step.outcome.reason}`);
      this.end(step.outcome.reason);
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.deviceId = step.outcome.peer.deviceId;
    this.deviceName = step.outcome.peer.deviceName;
    this.sides = step.outcome.sides;
    this.shares.fromHandshake(this.knownShares(step.outcome.shares));
    this.state = 'authenticated';
    this.host.authenticated(this);
  }

  private knownShares(shares: readonly SharedShare[]) {
    const out = [];
    for (const s of shares) {
      const keys = this.host.activeShare(s.share);
      if (keys) out.push({ discoveryId: s.share, shareId: keys.shareId, peerLevel: s.peerLevel, ourLevel: s.ourLevel });
    }
    return out;
  }

  private async onControl(msg: Message): Promise<void> {
    if (this.state !== 'live') return;
    switch (msg.type) {
      case 'shareProofs': {
        const check = checkProofs(msg.shares, (d) => this.host.activeShare(d), this.sides!);
        if (!check.ok) throw new ProtocolViolation(check.error);
        const { proveBack, changes } = this.shares.peerProved(check.accepted, (d) => this.host.activeShare(d)!.shareId);
        this.sendAll(this.control, [{ type: 'shareResult', accepted: check.accepted, reason: check.failures.join('; ') }]);
        // the peer may send its index as soon as it has our answer, before our own proof is accepted
        for (const d of check.accepted) this.exchangeFor(d.share);
        this.offerShares(proveBack.map((p) => this.host.activeShare(p.discoveryId)).filter((k): k is ShareKeys => !!k));
        if (check.failures.length) this.host.log(`${this.deviceName}: ${check.failures.join('; ')}`);
        return this.applyChanges(changes);
      }
      case 'shareResult':
        return this.applyChanges(this.shares.peerAnswered(msg.accepted));
      case 'shareWithdraw':
        return this.applyChanges(this.shares.peerWithdrew(msg.shares));
      case 'indexAck':
      case 'indexUpdate':
      case 'indexChunks': {
        const ex = this.exchanges.get(msg.share);
        if (ex) return ex.receive(msg);
        if (this.shares.wasNamed(msg.share)) return; // withdrawn meanwhile: late, not wrong
        throw new ProtocolViolation(`a message for share ${msg.share}, which this connection does not carry`);
      }
      default:
        throw new ProtocolViolation(`${msg.type} is not expected after the handshake`);
    }
  }

  private onBlocks(msg: Message, replyOn?: Channel): void {
    // the answer goes back the way the request came (the data channel once that way is gone)
    const reply = replyOn ? (m: BlockResponse) => this.sendOn(replyOn, m) : undefined;
    if (msg.type === 'request') {
      const sealing = this.sealedOn(msg.share);
      if (sealing) void this.serveSealed(sealing, msg, reply ?? ((m) => this.sendOn(this.blocks, m)));
      else this.server.handle(msg, reply);
    } else if (msg.type === 'requestRun') {
      if (!SERVES_RUNS) return; // as a device without runs would: an unknown type, ignored
      const sealing = this.sealedOn(msg.share);
      if (sealing) for (const r of runRequests(msg)) void this.serveSealed(sealing, r, reply ?? ((m) => this.sendOn(this.blocks, m)));
      else this.server.handleRun(msg, reply);
    } else if (msg.type === 'requestBatch') {
      if (!SERVES_BATCHES) return; // as a device without batches would: an unknown type, ignored
      const sendBatch = (m: ResponseBatch) => this.sendOn(replyOn ?? this.blocks, m);
      const sealing = this.sealedOn(msg.share);
      if (!sealing) return this.server.handleBatch(msg, sendBatch);
      const answers = new BatchAnswers(msg.id, msg.requests.length, sendBatch, (m) => this.host.log(`${this.deviceName}: ${m}`));
      batchRequests(msg).forEach((r, i) => void this.serveSealed(sealing, r, answers.sendFor(i)));
    } else if (msg.type === 'response') {
      this.bulk?.answered(msg.id);
      this.tracker.answered(msg as BlockResponse);
    } else if (msg.type === 'responseBatch') {
      for (let i = 0; i < msg.answers.length; i++) this.bulk?.answered(msg.id + i);
      this.tracker.answeredBatch(msg);
    } else this.close(`protocol violation: ${msg.type} on the data channel`);
  }

  /** Fetches one chunk of a carried share from this peer; the caller verifies it. */
  fetchChunk(
    discoveryId: string,
    path: string,
    hash: Uint8Array,
    offset: number,
    size: number,
    signal: AbortSignal,
  ): Promise<Uint8Array | ResponseStatus> {
    const sealing = this.sealedOn(discoveryId);
    if (!sealing) return this.tracker.fetchChunk(discoveryId, path, hash, offset, size, signal);
    return this.fetchSealedChunk(sealing, discoveryId, hash, size, signal);
  }

  /** A whole chunk from an encrypted member: its blob, checked and decrypted here. */
  private async fetchSealedChunk(
    sealing: ShareSealing,
    discoveryId: string,
    hash: Uint8Array,
    size: number,
    signal: AbortSignal,
  ): Promise<Uint8Array | ResponseStatus> {
    const c = sealing.blobFor(hash);
    if (!c || c.size !== size) return 'not-found';
    const blob = await this.tracker.fetchChunk(discoveryId, c.token, c.blobHash, c.blobOffset, c.blobSize, signal);
    if (typeof blob === 'string') return blob;
    try {
      return sealing.decrypt(c, blob);
    } catch (err) {
      this.host.log(`${this.deviceName} sent a blob that does not decrypt: ${(err as Error).message}`);
      return 'changed';
    }
  }
}
