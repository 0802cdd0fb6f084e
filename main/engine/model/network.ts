// Finds devices (LAN announcements, addresses given by hand), dials them, keeps one live link per
// device carrying every share both hold, and fetches chunks from them for the pullers (swarming).
// Which link to keep when a device has two, when to redial, and which shares a link carries are
// decided here; everything on one link is peer/device-link.ts.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerInfo, PeerVia, Settings, TrackerInfo, VersionVector } from '../../../shared/api.ts';
import { internetServers, noPublicFromEnv, pathOfAddress, serversForPath, type LinkPath } from '../config/internet-servers.ts';
import type { IndexStore } from '../index/store.ts';
import type { ShareKeys } from '../keys/secrets.ts';
import { afterLinkLoss, redialDelay } from '../net/backoff.ts';
import { resolveDuplicate, type LinkIdentity } from '../net/dedupe.ts';
import { startLanDiscovery, type Discovered, type LanDiscovery } from '../net/discovery.ts';
import { dial, listenSignaling, type HelloInfo, type SignalingListener } from '../net/signaling.ts';
import { guard } from '../net/log.ts';
import { NetworkWatch, type NetworkChange } from '../net/network-watch.ts';
import { shutdownNet, type LinkOptions, type PeerLink } from '../net/transport.ts';
import { DeviceLink, type DeviceLinkHost, type LinkStore } from '../peer/device-link.ts';
import { BulkLink } from '../peer/bulk-link.ts';
import { openUdxEndpoint, type UdxEndpoint } from '../net/udx.ts';
import { openTcpListener, type TcpBulkListener } from '../net/tcp-bulk.ts';
import { tcpTarget } from '../peer/bulk-choice.ts';
import { claimInvite, type ClaimResult } from '../peer/invite-claim.ts';
import type { ClaimedInvite } from '../protocol/handshake.ts';
import type { InviteTerms } from '../protocol/invite-proof.ts';
import type { InviteAnswer } from '../protocol/messages.ts';
import { forgeryFromEnv } from '../peer/forgery.ts';
import { channelOf } from '../peer/pipe.ts';
import { shareSealingFor, type ShareSealing } from '../peer/share-sealing.ts';
import type { PeerIndexWrite } from '../peer/index-exchange.ts';
import type { ChunkSpec } from '../pull/file-puller.ts';
import { compareVectors } from '../sync/vv.ts';
import type { ChunkSwarm } from '../pull/chunk-source.ts';
import { FlightBudget } from '../peer/flight-budget.ts';
import { Throttle, rateLimited } from './throttle.ts';
import { Trackers } from './trackers.ts';
import { fetchFromPeers } from './chunk-fetch.ts';
import { recycleFrame } from '../net/frame-pool.ts';
import { ChunkVerifier } from '../pull/chunk-verify.ts';

/** How long a link gets to answer after this machine's networks changed before it is redialed. */
export const NETWORK_CHANGE_PROBE_MS = Number(process.env.PEERFOLD_NETWORK_PROBE_MS ?? 3_000);

/** How long an existing link gets to answer when the same device dials in again. */
export const PROBE_MS = Number(process.env.PEERFOLD_PROBE_MS ?? 1_500);

export type NetworkStore = LinkStore &
  Pick<IndexStore, 'getShare' | 'listAddresses' | 'listPeers' | 'updatePeer' | 'fileVersion' | 'listFiles'>;

/** What the network needs from the rest of the engine. */
export interface NetworkDeps {
  identity: { deviceId: string; fingerprint: string; certPemPath: string; keyPemPath: string };
  deviceName: () => string;
  settings: () => Settings;
  store: NetworkStore;
  /** the share's loop should look at its need again (a peer's index arrived, a peer connected) */
  syncSoon: (shareId: string) => void;
  /**
   * Writes a peer's index entries for a share (`write.apply`) as a job of the share's loop, so they
   * take their turn with its scans and pulls; resolves once written, true when they may change
   * what this device needs (peer/index-exchange.ts).
   */
  applyRemoteIndex: (shareId: string, write: PeerIndexWrite) => Promise<boolean>;
  /** the share was paused: stop its transfers */
  abortTransfers: (shareId: string) => void;
  /** the share's scan vouches for this file's content while its stat is unchanged (not read racily) */
  trustsStat?: (shareId: string, path: string) => boolean;
  peersChanged: (peers: PeerInfo[]) => void;
  /** a device claims one of this device's invites: the answer (model/invites.ts) */
  answerInvite: (peer: string, claim: ClaimedInvite, address: string | null) => InviteAnswer | { notNow: string };
  statusChanged: () => void;
  log: (message: string) => void;
}

interface KnownAddress {
  host: string;
  port: number;
  via: PeerVia;
  /** the device found there last time, when known */
  deviceId: string | null;
  failures: number;
  nextTry: number;
}

export class Network implements ChunkSwarm {
  private listener: SignalingListener | null = null;
  private discovery: LanDiscovery | null = null;
  private trackers: Trackers | null = null;
  private readonly noPublic = noPublicFromEnv();
  /** the live link of each device */
  private readonly links = new Map<string, DeviceLink>();
  /** links still in their handshake, or authenticated and waiting for a duplicate to be resolved */
  private readonly pending = new Set<DeviceLink>();
  /** bytes of chunk requests in flight over all links (each link has its own window inside it) */
  private readonly flightBudget = new FlightBudget();
  private readonly dialing = new Set<string>();
  private readonly addresses = new Map<string, KnownAddress>();
  private readonly keys = new Map<string, ShareKeys>();
  /** per share this device reads: what it needs for encrypted members (peer/share-sealing.ts) */
  private readonly sealings = new Map<string, ShareSealing>();
  private readonly byDiscovery = new Map<string, string>();
  private readonly indexPushTimers = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private networkWatch: NetworkWatch | null = null;
  private stopped = false;
  listenPort = 0;
  private readonly recvThrottle = new Throttle(() => this.deps.settings().maxRecvKBps * 1024);
  /** hashes big received chunks off the main thread */
  private readonly verifier = new ChunkVerifier();
  readonly sendThrottle = new Throttle(() => this.deps.settings().maxSendKBps * 1024);
  private readonly linkHost: DeviceLinkHost;
  /** per share: peers' entries refused for a failed writer signature, since this start */
  private readonly rejected = new Map<string, number>();
  /** this device's udx socket for bulk streams; null when udx is off or could not bind */
  private udx: UdxEndpoint | null = null;
  /** this device's TCP listener for bulk streams; null when TCP is off or could not listen */
  private tcp: TcpBulkListener | null = null;
  private pems: { certPem: string; keyPem: string } | null = null;

  constructor(
    private readonly deps: NetworkDeps,
    private readonly wantedPort: number,
  ) {
    const forgeEntry = forgeryFromEnv();
    this.linkHost = {
      self: {
        deviceId: deps.identity.deviceId,
        deviceName: deps.deviceName,
        fingerprint: deps.identity.fingerprint,
        clientVersion: `peerfold/${process.env.npm_package_version ?? '0.1.0'}`,
      },
      activeShare: (d) => {
        const shareId = this.byDiscovery.get(d);
        return shareId !== undefined && this.shareActive(shareId) ? this.keys.get(shareId)! : null;
      },
      shareRoot: (shareId) => this.shareRoot(shareId),
      trustsStat: (shareId, path) => deps.trustsStat?.(shareId, path) ?? false,
      store: deps.store,
      sealing: (shareId) => this.sealings.get(shareId) ?? null,
      remoteIndexChanged: (shareId) => deps.syncSoon(shareId),
      applyRemoteIndex: (shareId, write) => deps.applyRemoteIndex(shareId, write),
      entryRejected: (shareId, peer, path, reason) => this.entryRejected(shareId, peer, path, reason),
      ...(forgeEntry ? { forgeEntry } : {}),
      throttleSend: (n, via) => (rateLimited(via, deps.settings().limitLan) ? this.sendThrottle.take(n) : Promise.resolve()),
      log: deps.log,
      answerInvite: (peer, claim, address) => deps.answerInvite(peer, claim, address),
      authenticated: (link) => this.authenticated(link),
      sharesChanged: (link) => this.sharesChanged(link),
      closed: (link, reason) => this.linkClosed(link, reason),
    };
  }

  private get deviceId(): string {
    return this.deps.identity.deviceId;
  }

  /** The servers a link made along `path` may contact (config/internet-servers.ts: only tracker links get STUN and TURN). */
  private pathServers(path: LinkPath): { iceServers: LinkOptions['iceServers']; stunServers: string[] } {
    return serversForPath(path, internetServers(this.deps.settings(), this.noPublic));
  }

  private linkOptions(path: LinkPath): LinkOptions {
    return {
      certPemFile: this.deps.identity.certPemPath,
      keyPemFile: this.deps.identity.keyPemPath,
      iceServers: this.pathServers(path).iceServers,
      log: (level, m) => level === 'error' && this.deps.log(m),
    };
  }

  async start(): Promise<void> {
    this.listener = await listenSignaling({
      port: this.wantedPort,
      device: () => ({ deviceId: this.deviceId, deviceName: this.deps.deviceName() }),
      accept: (hello) => this.acceptHello(hello),
      // a device on the LAN, or one that was given this device's address, dials in directly
      link: () => this.linkOptions('lan'),
      onLink: (link) => this.adopt(link, null, 'lan'),
      // refusals too (the listener throttles them per address)
      log: (level, m) => (level === 'error' || level === 'warn') && this.deps.log(m),
    });
    this.listenPort = this.listener.port;
    this.udx = openUdxEndpoint((m) => this.deps.log(m));
    this.tcp = await openTcpListener(this.identityPems(), (m) => this.deps.log(m));
    await this.applyDiscoverySetting();
    this.trackers = new Trackers({
      settings: () => this.deps.settings(),
      noPublic: this.noPublic,
      activeShares: () => this.activeKeys(),
      linkedDevices: (shareId) => this.linksFor(shareId).length,
      linkOptions: () => this.linkOptions('tracker'),
      adopt: (link) => this.adopt(link, null, 'tracker'),
      statusChanged: () => this.deps.statusChanged(),
      log: (m) => this.deps.log(m),
    });
    this.timer = setInterval(
      guard(
        (_, m) => this.deps.log(m),
        'reconnect timer',
        () => this.tick(),
      ),
      250,
    );
    this.timer.unref();
    this.networkWatch = new NetworkWatch((change) => void this.networkChanged(change), {
      intervalMs: process.env.PEERFOLD_NETWORK_POLL_MS ? Number(process.env.PEERFOLD_NETWORK_POLL_MS) : undefined,
      log: (_, m) => this.deps.log(m),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.networkWatch?.stop();
    for (const t of this.indexPushTimers.values()) clearTimeout(t);
    for (const l of [...this.links.values(), ...this.pending]) l.close('shutting down');
    this.trackers?.close();
    await this.discovery?.close();
    this.discovery = null;
    await this.listener?.close();
    await this.udx?.close('shutting down');
    await this.tcp?.close('shutting down');
    await shutdownNet('shutting down');
    await this.verifier.close();
  }

  // ---- shares ---------------------------------------------------------------------------------

  /** A share this device holds (at start, created or joined). */
  shareAdded(shareId: string, keys: ShareKeys): void {
    this.rows.delete(shareId);
    this.keys.set(shareId, keys);
    const sealing = shareSealingFor(keys, this.deviceId, this.deps.store);
    if (sealing) this.sealings.set(shareId, sealing);
    this.byDiscovery.set(keys.discoveryIdHex, shareId);
    for (const a of this.deps.store.listAddresses(shareId)) this.rememberAddress(a, 'manual', null);
    for (const p of this.deps.store.listPeers(shareId)) {
      if (p.address && (p.via === 'lan' || p.via === 'manual' || !p.via)) this.rememberAddress(p.address, p.via ?? 'lan', p.deviceId);
    }
    this.shareBecameActive(shareId);
  }

  /**
   * Share id -> its folder and whether it is paused, read at most once a second: the block server
   * asks for both on every request (a query each was 7 % of a sender's main thread). Pausing goes
   * through pauseChanged, which forgets the row at once.
   */
  private readonly rows = new Map<string, { path: string | null; paused: boolean; at: number }>();

  private shareRow(shareId: string): { path: string | null; paused: boolean } {
    const now = Date.now();
    const known = this.rows.get(shareId);
    if (known && now - known.at < 1000) return known;
    const share = this.deps.store.getShare(shareId);
    const row = { path: share?.path ?? null, paused: share ? share.paused : true, at: now };
    this.rows.set(shareId, row);
    return row;
  }

  private shareRoot(shareId: string): string | null {
    return this.shareRow(shareId).path;
  }

  shareRemoved(shareId: string): void {
    this.rows.delete(shareId);
    const keys = this.keys.get(shareId);
    if (keys) for (const l of this.links.values()) l.withdrawShare(keys.discoveryIdHex, 'share removed');
    this.keys.delete(shareId);
    this.sealings.delete(shareId);
    if (keys) this.byDiscovery.delete(keys.discoveryIdHex);
    this.announce();
  }

  /** The share was paused or resumed: links stay up; only the share comes and goes on them. */
  pauseChanged(shareId: string): void {
    this.rows.delete(shareId);
    const keys = this.keys.get(shareId);
    if (!keys) return;
    if (!this.shareActive(shareId)) {
      this.announce();
      this.deps.abortTransfers(shareId);
      for (const l of this.links.values()) l.withdrawShare(keys.discoveryIdHex, 'share paused');
    } else {
      this.shareBecameActive(shareId);
      this.deps.syncSoon(shareId);
    }
  }

  /** Offers an active share on every live link and dials known devices that hold it. */
  private shareBecameActive(shareId: string): void {
    this.announce();
    const keys = this.keys.get(shareId);
    if (!keys || !this.shareActive(shareId)) return;
    for (const l of this.links.values()) l.offerShares([keys]);
    const soon = Date.now() + 200;
    for (const a of this.addresses.values()) if (!a.deviceId || !this.links.has(a.deviceId)) a.nextTry = Math.min(a.nextTry, soon);
  }

  private activeKeys(): ShareKeys[] {
    const out: ShareKeys[] = [];
    for (const [shareId, k] of this.keys) if (this.shareActive(shareId)) out.push(k);
    return out;
  }

  private activeDiscoveryIds(): string[] {
    return this.activeKeys().map((k) => k.discoveryIdHex);
  }

  private announce(): void {
    this.discovery?.setDiscoveryIds(this.activeDiscoveryIds());
    this.trackers?.refresh();
  }

  shareActive(shareId: string): boolean {
    return this.keys.has(shareId) && !this.shareRow(shareId).paused;
  }

  async settingsChanged(before: Settings, after: Settings): Promise<void> {
    if (before.lanDiscovery !== after.lanDiscovery) await this.applyDiscoverySetting();
    const internet = (s: Settings) => JSON.stringify([s.trackers, s.stunServers, s.turnServers, s.lanOnly]);
    if (internet(before) !== internet(after)) this.trackers?.apply();
    if (before.listenPort !== after.listenPort) this.deps.log('the new listening port takes effect at the next start');
  }

  private async applyDiscoverySetting(): Promise<void> {
    const on = this.deps.settings().lanDiscovery;
    if (on && !this.discovery) {
      try {
        this.discovery = await startLanDiscovery({
          deviceId: this.deviceId,
          signalingPort: this.listenPort,
          discoveryIds: this.activeDiscoveryIds(),
          port: process.env.PEERFOLD_DISCOVERY_PORT ? Number(process.env.PEERFOLD_DISCOVERY_PORT) : undefined,
          intervalMs: process.env.PEERFOLD_ANNOUNCE_MS ? Number(process.env.PEERFOLD_ANNOUNCE_MS) : undefined,
          onDiscovered: (d) => this.discovered(d),
          log: (level, m) => level === 'error' && this.deps.log(m),
        });
      } catch (err) {
        this.deps.log(`LAN discovery is off: ${(err as Error).message}`);
      }
    } else if (!on && this.discovery) {
      await this.discovery.close();
      this.discovery = null;
    }
  }

  // ---- finding and dialing --------------------------------------------------------------------

  private discovered(d: Discovered): void {
    if (d.deviceId === this.deviceId) return;
    if (this.inviteWaits > 0) for (const id of d.discoveryIds) this.inviteHeard.set(`${d.deviceId}/${id}`, `${d.address}:${d.port}`);
    const common = d.discoveryIds.filter((id) => {
      const shareId = this.byDiscovery.get(id);
      return shareId !== undefined && this.shareActive(shareId);
    });
    if (!common.length) return;
    const key = this.rememberAddress(`${d.address}:${d.port}`, 'lan', d.deviceId);
    if (!this.links.has(d.deviceId)) {
      const a = this.addresses.get(key)!;
      // both sides hear each other: the larger device ID waits a moment so usually one dial wins
      a.nextTry = Math.min(a.nextTry, Date.now() + (this.deviceId > d.deviceId ? 1500 : 0));
    }
  }

  private rememberAddress(address: string, via: PeerVia, deviceId: string | null): string {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(i + 1));
    const key = `${host}:${port}`;
    const existing = this.addresses.get(key);
    if (existing) {
      if (deviceId) existing.deviceId = deviceId;
      if (via === 'manual') existing.via = 'manual';
      return key;
    }
    this.addresses.set(key, { host, port, via, deviceId, failures: 0, nextTry: 0 });
    return key;
  }

  dialAddress(address: string, via: PeerVia): void {
    const key = this.rememberAddress(address, via, null);
    const a = this.addresses.get(key)!;
    a.nextTry = 0;
    a.failures = 0;
    this.tick();
  }

  /** A device is being linked to right now (its link is live, or still in its handshake). */
  private linkedOrLinking(deviceId: string): boolean {
    if (this.links.has(deviceId)) return true;
    for (const l of this.pending) if ((l.deviceId || l.origin.peer?.deviceId) === deviceId) return true;
    return false;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    const wanted = this.activeDiscoveryIds();
    if (!wanted.length) return;
    for (const [key, a] of this.addresses) {
      if (a.nextTry > now || this.dialing.has(key)) continue;
      if (a.deviceId && (a.deviceId === this.deviceId || this.linkedOrLinking(a.deviceId))) continue;
      if (a.host === '127.0.0.1' && a.port === this.listenPort) continue;
      this.dialing.add(key);
      // if this dial fails, the next one waits; a success or a lost link resets it
      a.nextTry = now + redialDelay(a.failures + 1, Math.random());
      dial(a.host, a.port, {
        device: { deviceId: this.deviceId, deviceName: this.deps.deviceName() },
        discoveryIds: wanted,
        listenPort: this.listenPort,
        via: a.via,
        link: this.linkOptions(pathOfAddress(a.via)),
        log: () => undefined,
      })
        .then((link) => {
          a.failures = 0;
          if (link.peer) a.deviceId = link.peer.deviceId;
          this.adopt(link, a.deviceId, pathOfAddress(a.via));
        })
        .catch((err) => {
          a.failures++;
          if (a.failures <= 1 || process.env.PEERFOLD_DEBUG_NET) this.deps.log(`cannot connect to ${key}: ${(err as Error).message}`);
        })
        .finally(() => this.dialing.delete(key));
    }
  }

  private acceptHello(hello: HelloInfo): { discoveryIds: string[] } | string {
    const common = hello.discoveryIds.filter((id) => {
      const shareId = this.byDiscovery.get(id);
      return shareId !== undefined && this.shareActive(shareId);
    });
    if (!common.length) return 'no shared share';
    if (hello.listenPort)
      this.rememberAddress(`${hello.remoteAddress}:${hello.listenPort}`, hello.via === 'manual' ? 'manual' : 'lan', hello.deviceId);
    return { discoveryIds: common };
  }

  // ---- when the network changes --------------------------------------------------------------

  /**
   * This machine's addresses changed (it moved to another network, an interface went away): links
   * whose path broke would otherwise sit silent until liveness gives up on them. Every live link
   * is asked to answer and one that does not is closed, so the device is dialed again at once;
   * LAN discovery announces from the new addresses, and addresses that failed are tried again now.
   */
  private async networkChanged(change: NetworkChange): Promise<void> {
    if (this.stopped) return;
    this.deps.log(`the network changed (addresses now: ${change.after || 'none'}); checking every link`);
    this.discovery?.networkChanged();
    this.trackers?.networkChanged();
    const live = [...this.links.values()].filter((l) => l.isLive);
    const answers = await Promise.all(live.map((l) => l.probe(NETWORK_CHANGE_PROBE_MS)));
    live.forEach((l, i) => {
      if (!answers[i] && l.isLive) l.close('the network changed and the link stopped answering');
    });
    const now = Date.now();
    for (const a of this.addresses.values()) {
      a.failures = 0;
      a.nextTry = Math.min(a.nextTry, now);
    }
    this.changed();
  }

  // ---- redeeming an invite --------------------------------------------------------------------

  /** invite redemptions under way (LAN announcements are remembered only meanwhile) */
  private inviteWaits = 0;
  /** "deviceId/discoveryId" -> where that device announced that share */
  private readonly inviteHeard = new Map<string, string>();

  /**
   * Reaches the device that issued an invite and claims it (peer/invite-claim.ts): at `address`
   * when given, where LAN discovery hears it announce the share, or where this device last saw
   * it; tried again every few seconds until the issuer answers, `timeoutMs` passes or `signal`
   * aborts.
   */
  async redeemInvite(terms: InviteTerms, address: string | null, timeoutMs: number, signal?: AbortSignal): Promise<ClaimResult> {
    const until = Date.now() + timeoutMs;
    let last = `the device that made the invite (${terms.issuer.slice(0, 7)}) was not found: it must be running and on this network, or give its address (--peer HOST:PORT)`;
    const over = () => this.stopped || signal?.aborted === true || Date.now() >= until;
    this.inviteWaits++;
    try {
      while (!over()) {
        const where = new Set<string>();
        if (address) where.add(address);
        const heard = this.inviteHeard.get(`${terms.issuer}/${terms.discoveryId}`);
        if (heard) where.add(heard);
        for (const [key, a] of this.addresses) if (a.deviceId === terms.issuer) where.add(key);
        for (const target of where) {
          if (over()) break;
          const r = await this.claimAt(target, terms, Math.max(1000, until - Date.now()));
          if (r.ok) return r;
          last = r.error;
        }
        await pause(where.size ? 2000 : 500, signal);
      }
      return { ok: false, error: last };
    } finally {
      if (--this.inviteWaits === 0) this.inviteHeard.clear();
    }
  }

  private async claimAt(target: string, terms: InviteTerms, timeoutMs: number): Promise<ClaimResult> {
    const i = target.lastIndexOf(':');
    const host = target.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(target.slice(i + 1));
    try {
      const link = await dial(host, port, {
        device: { deviceId: this.deviceId, deviceName: this.deps.deviceName() },
        discoveryIds: [terms.discoveryId],
        listenPort: this.listenPort,
        via: 'manual',
        link: this.linkOptions('manual'),
        log: () => undefined,
      });
      const self = this.linkHost.self;
      return await claimInvite(
        link,
        link,
        { deviceId: self.deviceId, fingerprint: self.fingerprint, deviceName: self.deviceName(), clientVersion: self.clientVersion },
        terms,
        Math.min(timeoutMs, 20_000),
      );
    } catch (err) {
      return { ok: false, error: `cannot reach the issuing device at ${target}: ${(err as Error).message}` };
    }
  }

  // ---- links ----------------------------------------------------------------------------------

  private adopt(link: PeerLink, expectDeviceId: string | null, path: LinkPath): void {
    if (this.stopped) {
      link.close('shutting down');
      return;
    }
    const l = new DeviceLink(link, link, this.linkHost, {
      expectDeviceId: expectDeviceId ?? undefined,
      offer: link.peer?.discoveryIds ?? [],
      bulk: new BulkLink({
        endpoint: this.udx,
        tcp: this.tcp,
        peerHost: () => tcpTarget(link.selectedPath()),
        candidates: () => this.udx!.candidates(this.pathServers(path).stunServers),
        role: link.role,
        remoteFingerprint: link.remoteFingerprint,
        identity: () => this.identityPems(),
        dataChannel: channelOf(link, 'data'),
        log: (m) => this.deps.log(`${link.peer?.deviceName || 'peer'}: ${m}`),
        ...(process.env.PEERFOLD_FAULT_UDX_CUT_BYTES ? { cutAfterBytes: Number(process.env.PEERFOLD_FAULT_UDX_CUT_BYTES) } : {}),
      }),
      flightBudget: this.flightBudget,
    });
    if (l.current !== 'closed') this.pending.add(l);
  }

  private identityPems(): { certPem: string; keyPem: string } {
    this.pems ??= {
      certPem: readFileSync(this.deps.identity.certPemPath, 'utf8'),
      keyPem: readFileSync(this.deps.identity.keyPemPath, 'utf8'),
    };
    return this.pems;
  }

  /** The handshake proved who it is: make it the device's link, unless a live one is already there. */
  private authenticated(link: DeviceLink): void {
    if (this.stopped) {
      link.close('shutting down');
      return;
    }
    this.trackers?.settled(link.origin, true);
    const existing = this.links.get(link.deviceId);
    if (!existing) {
      this.register(link);
      return;
    }
    void this.settleDuplicate(existing, link);
  }

  /**
   * Two links to one device: the existing one is asked to answer first. One that does not (its
   * peer was killed and restarted, or the path broke without a close) is replaced at once; between
   * two live links the simultaneous-dial tie-break decides, the same way on both devices.
   */
  private async settleDuplicate(existing: DeviceLink, incoming: DeviceLink): Promise<void> {
    const answered = await existing.probe(PROBE_MS);
    if (incoming.current !== 'authenticated') return;
    const now = this.links.get(incoming.deviceId);
    if (!now) return this.register(incoming);
    if (now !== existing) return this.settleDuplicate(now, incoming);
    const decision = resolveDuplicate(this.identityOf(existing), answered && existing.isLive, this.identityOf(incoming));
    // the reason names the link kept, so a peer (and a test) can tell a tie-break between two new
    // links from an old link kept against a new one
    if (decision === 'keep-existing') {
      incoming.close(`duplicate connection (${keptSince(existing)})`);
      return;
    }
    existing.close(
      answered ? `duplicate connection (${keptSince(incoming)})` : 'replaced by a new connection (the old one did not answer)',
    );
    this.register(incoming);
  }

  /** Who dialed a link and its connection id, from the device ID the handshake proved (a link
   *  through a tracker knows no device ID before it). */
  private identityOf(link: DeviceLink): LinkIdentity {
    return { dialerId: link.origin.role === 'offerer' ? this.deviceId : link.deviceId, connectionId: link.origin.id };
  }

  private register(link: DeviceLink): void {
    this.pending.delete(link);
    const old = this.links.get(link.deviceId);
    if (old && old !== link) old.close('replaced by a new connection');
    this.links.set(link.deviceId, link);
    link.activate(this.activeKeys());
    if (!link.isLive) return;
    this.recordPeer(link, link.carriedShareIds());
    this.deps.log(
      `connected to ${link.deviceName} (${link.deviceId.slice(0, 7)}) for ${link.carriedShareIds().length} share(s), via ${link.origin.connectedVia}`,
    );
    this.changed();
    this.trackers?.linksChanged();
  }

  private recordPeer(link: DeviceLink, shareIds: readonly string[]): void {
    const address = link.origin.remoteAddress;
    const host = address ? address.replace(/:\d+$/, '') : null;
    const listen = link.origin.peer?.listenPort;
    const via = link.origin.connectedVia;
    // only a direct path's address can be dialed again: behind a NAT the listening port is closed
    const dialable = via === 'lan' || via === 'manual';
    for (const shareId of shareIds) {
      this.deps.store.updatePeer(shareId, link.deviceId, {
        name: link.deviceName,
        via,
        lastSeen: Date.now(),
        ...(host && listen && dialable ? { address: `${host}:${listen}` } : {}),
      });
      this.deps.syncSoon(shareId);
    }
  }

  private sharesChanged(link: DeviceLink): void {
    if (this.links.get(link.deviceId) !== link) return;
    this.recordPeer(link, link.carriedShareIds());
    this.changed();
  }

  private linkClosed(link: DeviceLink, reason: string): void {
    this.pending.delete(link);
    // ended before the handshake proved who it is: refused, timed out or cut
    if (!link.deviceId) this.trackers?.settled(link.origin, false);
    if (this.links.get(link.deviceId) !== link) return;
    this.links.delete(link.deviceId);
    this.deps.log(`disconnected from ${link.deviceName}: ${reason}`);
    const soon = Date.now() + afterLinkLoss(Math.random());
    for (const a of this.addresses.values()) {
      if (a.deviceId !== link.deviceId) continue;
      a.failures = 0;
      a.nextTry = Math.min(a.nextTry, soon);
    }
    this.changed();
    this.trackers?.linksChanged();
  }

  private changed(): void {
    this.deps.peersChanged(this.peers());
    this.deps.statusChanged();
  }

  /** New local index entries: tell every connected peer of the share, coalescing bursts. */
  localIndexChanged(shareId: string): void {
    if (this.indexPushTimers.has(shareId)) return;
    this.indexPushTimers.set(
      shareId,
      setTimeout(
        guard(
          (_, m) => this.deps.log(m),
          'index push timer',
          () => {
            this.indexPushTimers.delete(shareId);
            for (const l of this.links.values()) l.pushIndex(shareId);
          },
        ),
        50,
      ),
    );
  }

  private linksFor(shareId: string): DeviceLink[] {
    return [...this.links.values()].filter((l) => l.isLive && l.carries(shareId));
  }

  // ---- swarming -------------------------------------------------------------------------------

  holders(shareId: string, path: string, version: VersionVector): number {
    let n = 0;
    for (const l of this.linksFor(shareId)) {
      const rec = this.deps.store.fileVersion(shareId, l.deviceId, path);
      if (rec && compareVectors(rec.version, version) === 'equal') n++;
    }
    return n;
  }

  windowBytes(shareId: string): number {
    let sum = 0;
    for (const l of this.linksFor(shareId)) sum += l.flight().windowBytes;
    return sum;
  }

  /** links already logged for leaving a request unanswered (once each) */
  private readonly unansweredLogged = new WeakSet<DeviceLink>();

  async fetch(
    shareId: string,
    path: string,
    version: VersionVector,
    spec: ChunkSpec,
    signal: AbortSignal,
    holders?: readonly string[],
  ): Promise<Uint8Array> {
    const keys = this.keys.get(shareId);
    if (!keys) throw new Error('the share is not active');
    return fetchFromPeers<DeviceLink>(
      {
        links: () => this.linksFor(shareId),
        holds: (l) => {
          // the puller read every device's entry for the path just before (a small file: two
          // queries per file saved with two peers)
          if (holders) return holders.includes(l.deviceId);
          // per chunk: fileVersion, not getFile (a 1 GiB file's chunk list is 16k entries)
          const rec = this.deps.store.fileVersion(shareId, l.deviceId, path);
          return !!rec && !rec.deleted && compareVectors(rec.version, version) === 'equal';
        },
        load: (l) => l.flight().load,
        ask: async (l) => {
          if (rateLimited(l.origin.connectedVia, this.deps.settings().limitLan)) await this.recvThrottle.take(spec.size, signal);
          return l.fetchChunk(keys.discoveryIdHex, path, spec.hash, spec.offset, spec.size, signal);
        },
        verify: (data) => {
          const ok = this.verifier.verify(data, spec.hash);
          // bytes that failed their hash are dropped here: their frame may take the next answer
          if (ok === false) recycleFrame(data);
          else if (ok !== true) return ok.then((v) => (v || recycleFrame(data), v));
          return ok;
        },
        corrupt: (l) => {
          this.deps.log(`dropping ${l.deviceName}: it sent a chunk of ${path} that does not match its hash`);
          l.close('sent a corrupt chunk');
        },
        unanswered: (l, err) => {
          if (this.unansweredLogged.has(l)) return;
          this.unansweredLogged.add(l);
          this.deps.log(
            `${l.deviceName} did not answer a request for ${path} in ${err.timeoutMs / 1000} s after it was sent; asking other peers`,
          );
        },
        sleep: (ms, sig) => sleep(ms, undefined, { signal: sig }),
      },
      signal,
    );
  }

  recycle(data: Uint8Array): void {
    recycleFrame(data);
  }

  // ---- reporting ------------------------------------------------------------------------------

  /** The internet trackers and how each is doing (StatusResult.trackers). */
  trackerStatus(): TrackerInfo[] {
    return this.trackers?.status() ?? [];
  }

  peersFor(shareId: string): number {
    return this.linksFor(shareId).length;
  }

  /** Entries of peers dropped because no writer signed them (ShareSummary.rejectedEntries). */
  rejectedEntries(shareId: string): number {
    return this.rejected.get(shareId) ?? 0;
  }

  private entryRejected(shareId: string, peer: string, path: string, reason: string): void {
    const n = (this.rejected.get(shareId) ?? 0) + 1;
    this.rejected.set(shareId, n);
    // a hostile peer can send thousands: the first few are named, then every thousandth is counted
    if (n <= 20 || n % 1000 === 0)
      this.deps.log(`refused ${JSON.stringify(path)} from ${peer} in share ${shareId}: ${reason} (${n} refused so far)`);
  }

  shareTraffic(shareId: string): { peersConnected: number; inBytesPerSec: number; outBytesPerSec: number } {
    let inBytesPerSec = 0;
    let outBytesPerSec = 0;
    const links = this.linksFor(shareId);
    for (const l of links) {
      const st = l.stats();
      inBytesPerSec += st.inBytesPerSec;
      outBytesPerSec += st.outBytesPerSec;
    }
    return { peersConnected: links.length, inBytesPerSec, outBytesPerSec };
  }

  deviceName(deviceId: string): string {
    if (deviceId === this.deviceId) return this.deps.deviceName();
    const l = this.links.get(deviceId);
    if (l) return l.deviceName;
    for (const p of this.deps.store.listPeers()) if (p.deviceId === deviceId && p.name) return p.name;
    return deviceId.slice(0, 7);
  }

  peers(shareId?: string): PeerInfo[] {
    const out = new Map<string, PeerInfo>();
    for (const row of this.deps.store.listPeers(shareId)) {
      if (!this.keys.has(row.shareId)) continue;
      const p = out.get(row.deviceId) ?? {
        deviceId: row.deviceId,
        name: row.name,
        shareIds: [],
        connected: false,
        connectedSince: null,
        address: row.address,
        via: row.via ?? 'lan',
        transport: 'datachannel',
        inBytes: 0,
        outBytes: 0,
        inBytesPerSec: 0,
        outBytesPerSec: 0,
      };
      p.shareIds.push(row.shareId);
      out.set(row.deviceId, p);
    }
    for (const l of this.links.values()) {
      const p = out.get(l.deviceId);
      if (!p || !l.isLive) continue;
      const st = l.stats();
      Object.assign(p, {
        connected: true,
        connectedSince: l.since,
        name: l.deviceName,
        via: l.origin.connectedVia,
        transport: l.transport,
        streams: l.bulkStreams,
        address: l.origin.remoteAddress ?? p.address,
        inBytes: st.bytesIn,
        outBytes: st.bytesOut,
        inBytesPerSec: st.inBytesPerSec,
        outBytesPerSec: st.outBytesPerSec,
      });
    }
    return [...out.values()].sort((a, b) => Number(b.connected) - Number(a.connected) || a.name.localeCompare(b.name));
  }
}

/** How a duplicate's close reason names the link kept: when it came up here ("a new one" before it is live). */
function keptSince(kept: DeviceLink): string {
  return kept.since === null ? 'a new link is kept' : `the link up since ${new Date(kept.since).toISOString()} is kept`;
}

/** Waits `ms`, or less when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
