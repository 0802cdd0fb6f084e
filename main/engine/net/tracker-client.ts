// A client of one WebTorrent WebSocket tracker (tracker-messages.ts has the frames). It announces
// the info hashes it is given, with WebRTC offers when the owner wants peers for one, answers the
// offers the tracker hands it for info hashes the owner holds, and hands every link that opens to
// the owner, who proves who is on the other end with the share handshake: the tracker is trusted
// with nothing. There is no trickle through a tracker, so links are made with `trickle: false`.
//
// The tracker may be down, slow or hostile: every failure ends in a redial with backoff
// (backoff.ts), announces are paced whatever interval it asks for, offers it relays are bounded,
// a peer whose link the owner refused is not linked with again for a growing while
// (refusal-backoff.ts), and nothing it sends can throw out of here.

import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { redialDelay } from './backoff.ts';
import { defaultNetLog, errorMessage, guard, type NetLog } from './log.ts';
import { RefusalBackoff } from './refusal-backoff.ts';
import { offerHasRelay, offerRelays, withoutRelays } from './relay-policy.ts';
import { trackResource, untrackResource, type NetResource } from './resources.ts';
import {
  MAX_TRACKER_FRAME_BYTES,
  encodeAnnounce,
  encodeAnswer,
  parseTrackerMessage,
  type TrackerMessage,
  type TrackerOffer,
} from './tracker-messages.ts';
import { createLink, type LinkOptions, type PeerLink } from './transport.ts';

/** Offers sent with one announce of one info hash (the tracker hands each to a different peer). */
export const MAX_OFFERS_PER_ANNOUNCE = 5;
/** Offers waiting for an answer, over all info hashes. */
export const MAX_PENDING_OFFERS = 20;
/** Links being built from offers the tracker relayed; more offers are ignored meanwhile. */
export const MAX_PENDING_ANSWERS = 16;
/** Offers for one info hash go out at most this often, however often the owner asks (or the interval, if shorter). */
export const MIN_OFFER_GAP_MS = 10_000;
/** How long an offer waits for an answer and then for its connection. */
export const OFFER_TTL_MS = 30_000;
/** Announce pacing: the tracker's interval, but never more often than this ... */
export const MIN_ANNOUNCE_MS = 15_000;
/** ... nor less often than this. */
export const MAX_ANNOUNCE_MS = 10 * 60_000;
/** env PEERFOLD_TRACKER_ANNOUNCE_MS: a fixed announce interval (tests shorten it). */
const ANNOUNCE_MS_FROM_ENV = process.env.PEERFOLD_TRACKER_ANNOUNCE_MS ? Number(process.env.PEERFOLD_TRACKER_ANNOUNCE_MS) : null;
const CONNECT_TIMEOUT_MS = 10_000;

export type TrackerState = 'connecting' | 'connected' | 'waiting' | 'closed';

export interface TrackerClientStatus {
  url: string;
  state: TrackerState;
  /** why it is waiting, or what it last complained of */
  error: string | null;
  /** info hashes announced there now (a share may have two near midnight: keys/tracker-id.ts) */
  announced: string[];
}

export interface Announcement {
  /** 40 hex digits */
  infoHash: string;
  /** offers wanted with this announce (0: only be findable) */
  offers: number;
}

export interface TrackerClientOptions {
  url: string;
  /** this device's peer ID at this tracker, 40 hex digits; random by default (never the device ID) */
  peerId?: string;
  /** options of the links made (certificate, ICE servers, ...); trickle is always off */
  link: () => LinkOptions;
  /** what to announce now (asked at every announce) */
  announcements: () => Announcement[];
  /** an offer arrived for this info hash: is it one of ours right now? */
  wants: (infoHash: string) => boolean;
  /** a link that came up through this tracker (either role); the owner authenticates it */
  onLink: (link: PeerLink, infoHash: string) => void;
  /** the state or the error changed */
  onStatus?: (status: TrackerClientStatus) => void;
  /** fixed announce interval (ms); default: the tracker's, within MIN_ANNOUNCE_MS..MAX_ANNOUNCE_MS */
  announceMs?: number;
  log?: NetLog;
}

const clampInterval = (ms: number): number => Math.min(MAX_ANNOUNCE_MS, Math.max(MIN_ANNOUNCE_MS, ms));

export class TrackerClient implements NetResource {
  readonly url: string;
  /** this client's peer ID in every swarm; a new one after a network change */
  peerId: string;
  private state: TrackerState = 'connecting';
  private error: string | null = null;
  private ws: WebSocket | null = null;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private announceTimer: NodeJS.Timeout | null = null;
  private intervalMs: number;
  private readonly log: NetLog;
  /** info hashes announced on the current connection */
  private readonly announced = new Set<string>();
  /** peers in each swarm, as the tracker last said (offers beyond that reach nobody) */
  private readonly swarmSize = new Map<string, number>();
  /** offers waiting for an answer, by offer ID */
  private readonly pendingOffers = new Map<string, { link: PeerLink; infoHash: string }>();
  /** links answering a relayed offer that are not open yet */
  private readonly answering = new Set<PeerLink>();
  /** when offers last went out for each info hash */
  private readonly offeredAt = new Map<string, number>();
  /** since when each info hash has wanted peers (offers), without a break */
  private readonly askingSince = new Map<string, number>();
  private announcing = false;
  private announceAgain = false;
  private ignoredOffers = 0;
  /** which remote peers to make links with now (one at a time, and not soon again after a refusal) */
  private readonly backoff = new RefusalBackoff();
  /** the remote peer of each link being made or handed to the owner (opened), until the owner's verdict */
  private readonly linkPeer = new Map<PeerLink, { peer: string; opened: boolean }>();
  private skipped = 0;
  private skippedInProgress = 0;

  constructor(private readonly opts: TrackerClientOptions) {
    this.url = opts.url;
    this.peerId = opts.peerId ?? randomBytes(20).toString('hex');
    this.log = opts.log ?? defaultNetLog;
    this.intervalMs = opts.announceMs ?? ANNOUNCE_MS_FROM_ENV ?? 120_000;
    trackResource(this);
    this.connect();
  }

  status(): TrackerClientStatus {
    return { url: this.url, state: this.state, error: this.error, announced: this.state === 'connected' ? [...this.announced] : [] };
  }

  /** Announce soon (the shares, or whether they want peers, changed). */
  refresh(): void {
    if (this.state !== 'connected') return;
    void this.announceAll();
  }

  /**
   * The owner's verdict on a link this client handed it: accepted by the share handshake, refused
   * (or timed out, or cut, before that), or dropped by the owner for a reason of its own (no
   * verdict on the peer). A refused peer is not linked with again for a while.
   */
  linkSettled(link: PeerLink, verdict: 'accepted' | 'refused' | 'dropped', now = Date.now()): void {
    const entry = this.linkPeer.get(link);
    if (entry === undefined) return;
    this.linkPeer.delete(link);
    if (verdict === 'accepted') this.backoff.accepted(entry.peer);
    else if (verdict === 'refused') this.refused(entry.peer, now);
    else this.backoff.abandoned(entry.peer);
  }

  private refused(peer: string, now: number): void {
    const wait = this.backoff.refused(peer, now);
    this.log(
      'info',
      `tracker ${this.url}: a link with peer ${peer.slice(0, 8)} was refused; no links with it for ${Math.round(wait / 1000)} s (${this.backoff.refusalsWithin(now)} refused in 10 min)`,
    );
  }

  /**
   * This machine's addresses changed: the connection may be bound to an address that is gone, or
   * pass a NAT mapping that no longer exists, and would only notice when TCP gives up. Connect
   * again now, without the backoff of a failure, under a new peer ID: a tracker keeps the
   * connection it first saw a peer ID on (bittorrent-tracker's server does), so answers to our
   * offers would go to the old, dead one; here this is a new peer at a new address.
   */
  networkChanged(): void {
    if (this.state === 'closed') return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const old = this.ws;
    this.ws = null; // its close event is no failure of ours
    try {
      old?.terminate();
    } catch {
      // already gone
    }
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = null;
    this.announced.clear();
    this.dropPending('the network changed');
    this.failures = 0;
    this.peerId = randomBytes(20).toString('hex');
    this.connect();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    untrackResource(this);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.dropPending('tracker client closed');
    try {
      this.ws?.terminate();
    } catch {
      // already gone
    }
    this.ws = null;
  }

  shutdown(): void {
    this.close();
  }

  // ---- connection -----------------------------------------------------------------------------

  private setState(state: TrackerState, error: string | null): void {
    const changed = state !== this.state || error !== this.error;
    this.state = state;
    this.error = error;
    if (changed) guard(this.log, 'tracker status handler', () => this.opts.onStatus?.(this.status()))();
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.reconnectTimer = null;
    this.setState('connecting', this.error);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: MAX_TRACKER_FRAME_BYTES, perMessageDeflate: false });
    } catch (err) {
      this.connectionLost(`cannot connect: ${errorMessage(err)}`);
      return;
    }
    this.ws = ws;
    let lastError: string | null = null;
    ws.on(
      'open',
      guard(this.log, 'tracker open', () => {
        if (this.ws !== ws) return;
        if (this.failures > 0) this.log('info', `tracker ${this.url}: connected again`);
        this.failures = 0;
        this.announced.clear();
        this.setState('connected', null);
        void this.announceAll();
      }),
    );
    ws.on(
      'message',
      guard(this.log, 'tracker message', (data: RawData, isBinary: boolean) => {
        if (this.ws !== ws) return;
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        this.received(isBinary ? bytes.toString('latin1') : bytes.toString('utf8'));
      }),
    );
    ws.on(
      'error',
      guard(this.log, 'tracker socket error', (err: Error) => {
        lastError = err.message;
      }),
    );
    ws.on(
      'close',
      guard(this.log, 'tracker close', (code: number, reason: Buffer) => {
        if (this.ws !== ws) return;
        const why = lastError ?? (reason.length ? reason.toString('utf8') : `closed (code ${code})`);
        this.connectionLost(why);
      }),
    );
  }

  private connectionLost(why: string): void {
    if (this.state === 'closed') return;
    this.ws = null;
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = null;
    this.announced.clear();
    // an answer can only come over the connection that carried the offer
    this.dropPending('the tracker connection ended');
    this.failures++;
    const wait = redialDelay(this.failures, Math.random());
    if (this.failures === 1) this.log('warn', `tracker ${this.url}: ${why}; trying again in ${Math.round(wait / 1000)} s`);
    this.setState('waiting', why);
    this.reconnectTimer = setTimeout(
      guard(this.log, 'tracker reconnect timer', () => this.connect()),
      wait,
    );
    this.reconnectTimer.unref();
  }

  private dropPending(reason: string): void {
    for (const { link } of this.pendingOffers.values()) link.close(reason);
    this.pendingOffers.clear();
    for (const link of this.answering) link.close(reason);
    this.answering.clear();
  }

  private send(text: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  // ---- announcing -----------------------------------------------------------------------------

  private scheduleAnnounce(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(
      guard(this.log, 'tracker announce timer', () => void this.announceAll()),
      this.intervalMs,
    );
    this.announceTimer.unref();
  }

  private async announceAll(): Promise<void> {
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = true;
    try {
      do {
        this.announceAgain = false;
        await this.announceOnce();
      } while (this.announceAgain && this.state === 'connected');
    } catch (err) {
      this.log('error', `tracker ${this.url}: announcing failed: ${errorMessage(err)}`);
    } finally {
      this.announcing = false;
      if (this.state === 'connected') this.scheduleAnnounce();
    }
  }

  private async announceOnce(): Promise<void> {
    if (this.state !== 'connected') return;
    const wanted = this.opts.announcements();
    const now = new Set(wanted.map((a) => a.infoHash));
    for (const infoHash of [...this.announced]) {
      if (now.has(infoHash)) continue;
      this.send(encodeAnnounce({ infoHash, peerId: this.peerId, event: 'stopped', offers: [] }));
      this.announced.delete(infoHash);
    }
    // a share no longer announced (gone, or its tracker ID rotated) stops asking
    for (const infoHash of this.askingSince.keys()) if (!now.has(infoHash)) this.askingSince.delete(infoHash);
    for (const a of wanted) {
      if (a.offers === 0) this.askingSince.delete(a.infoHash);
      else if (!this.askingSince.has(a.infoHash)) this.askingSince.set(a.infoHash, Date.now());
      const others = this.swarmSize.has(a.infoHash) ? Math.max(0, this.swarmSize.get(a.infoHash)! - 1) : MAX_OFFERS_PER_ANNOUNCE;
      const room = MAX_PENDING_OFFERS - this.pendingOffers.size;
      const recently = Date.now() - (this.offeredAt.get(a.infoHash) ?? 0) < Math.min(MIN_OFFER_GAP_MS, this.intervalMs);
      const n = recently ? 0 : Math.max(0, Math.min(a.offers, MAX_OFFERS_PER_ANNOUNCE, others, room));
      if (n) this.offeredAt.set(a.infoHash, Date.now());
      const relays = offerRelays(this.askingSince.get(a.infoHash) ?? Date.now(), Date.now());
      const offers = n
        ? (await Promise.all(Array.from({ length: n }, () => this.makeOffer(a.infoHash, relays)))).filter((o) => o !== null)
        : [];
      if (this.state !== 'connected') return;
      const event = this.announced.has(a.infoHash) ? 'update' : 'started';
      this.send(encodeAnnounce({ infoHash: a.infoHash, peerId: this.peerId, event, offers }));
      this.announced.add(a.infoHash);
    }
  }

  /** A new offerer link and its whole description (with relay candidates or not); null when it could not be made. */
  private makeOffer(infoHash: string, relays: boolean): Promise<TrackerOffer | null> {
    const offerId = randomBytes(20).toString('hex');
    return new Promise((resolve) => {
      let link: PeerLink;
      try {
        link = createLink(
          'offerer',
          { log: this.log, connectTimeoutMs: OFFER_TTL_MS, ...this.linkOptions(relays), trickle: false },
          (s) => {
            if (s.type === 'description') resolve({ offerId, sdp: s.sdp });
          },
          offerId,
        );
      } catch (err) {
        this.log('error', `tracker ${this.url}: cannot make an offer: ${errorMessage(err)}`);
        resolve(null);
        return;
      }
      this.pendingOffers.set(offerId, { link, infoHash });
      link.onClose(() => {
        this.pendingOffers.delete(offerId);
        resolve(null);
      });
      this.whenOpen(link, infoHash, () => this.pendingOffers.delete(offerId));
    });
  }

  private whenOpen(link: PeerLink, infoHash: string, settle: () => void): void {
    link.whenOpen().then(
      guard(this.log, 'tracker link open', () => {
        settle();
        if (this.state === 'closed') {
          link.close('tracker client closed');
          return;
        }
        const entry = this.linkPeer.get(link);
        if (entry) entry.opened = true;
        // found through a tracker; how it is reached (direct, relay, or the LAN after all) is
        // link.connectedVia, read from the selected candidate pair (path.ts)
        link.via = 'internet';
        this.opts.onLink(link, infoHash);
      }),
      () => settle(),
    );
  }

  // ---- what the tracker sends -----------------------------------------------------------------

  private received(raw: string): void {
    const parsed = parseTrackerMessage(raw);
    if (!parsed.ok) {
      this.log('debug', `tracker ${this.url}: ignoring a frame: ${parsed.error}`);
      return;
    }
    const m: TrackerMessage = parsed.message;
    switch (m.kind) {
      case 'failure':
        this.log('warn', `tracker ${this.url} refused an announce: ${m.reason}`);
        this.setState(this.state, `the tracker said: ${m.reason}`);
        return;
      case 'response':
        if (m.peers !== null) this.swarmSize.set(m.infoHash, m.peers);
        if (m.intervalS !== null && this.opts.announceMs === undefined && ANNOUNCE_MS_FROM_ENV === null) {
          this.intervalMs = clampInterval(m.intervalS * 1000);
        }
        if (m.warning) this.setState(this.state, `the tracker warned: ${m.warning}`);
        return;
      case 'offer':
        this.answerOffer(m);
        return;
      case 'answer': {
        const pending = this.pendingOffers.get(m.offerId);
        if (!pending || pending.infoHash !== m.infoHash) return; // not ours, or answered already
        this.pendingOffers.delete(m.offerId);
        if (!this.mayLinkWith(m.peerId)) {
          pending.link.close('the answering peer is held back');
          return;
        }
        this.linkingWith(pending.link, m.peerId);
        pending.link.handleSignal({ type: 'description', kind: 'answer', sdp: m.sdp });
        return;
      }
    }
  }

  /** May a link with this remote peer be made now? (Skips are counted and logged now and then.) */
  private mayLinkWith(peer: string): boolean {
    const may = this.backoff.check(peer, Date.now());
    if (may.ok) return true;
    // 'in progress' counted apart: a peer stuck there gets no link at all, and that must show too
    if (may.reason === 'in progress' ? this.skippedInProgress++ % 50 === 0 : this.skipped++ % 50 === 0) {
      this.log(
        'info',
        may.reason === 'in progress'
          ? `tracker ${this.url}: skipping peer ${peer.slice(0, 8)} (a link with it is being made)`
          : `tracker ${this.url}: skipping peer ${peer.slice(0, 8)} (${may.reason}) for ${Math.round((may.until - Date.now()) / 1000)} s`,
      );
    }
    return false;
  }

  /** A link with `peer` is being made: no other with it until the owner's verdict, or until it closes unopened. */
  private linkingWith(link: PeerLink, peer: string): void {
    this.backoff.begin(peer);
    this.linkPeer.set(link, { peer, opened: false });
    link.onClose(() => {
      const entry = this.linkPeer.get(link);
      if (!entry) return; // the owner judged it
      this.linkPeer.delete(link);
      // closed unjudged: one that never opened says nothing of the peer; one cut in the share
      // handshake (before the owner could refuse it) cost a handshake all the same
      if (entry.opened) this.refused(peer, Date.now());
      else {
        this.backoff.abandoned(peer);
        // the peer answered, yet no path came up: the one sign of a path that died (e2e/internet)
        this.log(
          'info',
          `tracker ${this.url}: a link with peer ${peer.slice(0, 8)} ended before it opened: ${link.closeReason ?? 'closed'}`,
        );
      }
    });
  }

  /** The owner's link options, with or without its TURN servers (relay-policy.ts). */
  private linkOptions(relays: boolean): LinkOptions {
    const options = this.opts.link();
    return relays || !options.iceServers ? options : { ...options, iceServers: withoutRelays(options.iceServers) };
  }

  private answerOffer(m: Extract<TrackerMessage, { kind: 'offer' }>): void {
    if (m.peerId === this.peerId || !this.opts.wants(m.infoHash)) return;
    if (!this.mayLinkWith(m.peerId)) return;
    if (this.answering.size >= MAX_PENDING_ANSWERS) {
      if (this.ignoredOffers++ % 100 === 0) this.log('warn', `tracker ${this.url}: too many offers at once; ignoring some`);
      return;
    }
    let link: PeerLink;
    try {
      link = createLink(
        'answerer',
        { log: this.log, ...this.linkOptions(offerHasRelay(m.sdp)), trickle: false },
        (s) => {
          if (s.type !== 'description') return;
          this.send(encodeAnswer({ infoHash: m.infoHash, peerId: this.peerId, toPeerId: m.peerId, offerId: m.offerId, sdp: s.sdp }));
        },
        m.offerId,
      );
    } catch (err) {
      this.log('error', `tracker ${this.url}: cannot answer an offer: ${errorMessage(err)}`);
      return;
    }
    this.answering.add(link);
    this.linkingWith(link, m.peerId);
    link.onClose(() => this.answering.delete(link));
    this.whenOpen(link, m.infoHash, () => this.answering.delete(link));
    link.handleSignal({ type: 'description', kind: 'offer', sdp: m.sdp });
  }
}
