// Finds peers (LAN announcements, addresses given by hand), connects to them, keeps one
// authenticated session per device, and fetches chunks from them for the pullers (swarming).
import { createHash, randomInt } from 'node:crypto';
import type { PeerInfo, PeerVia, Settings, VersionVector } from '../../../shared/api.ts';
import type { Engine } from '../engine.ts';
import { storedShareSecret } from '../keys/codes.ts';
import { deriveShareKeys, type ShareKeys } from '../keys/secrets.ts';
import { chooseLink, identityOf } from '../net/dedupe.ts';
import { startLanDiscovery, type Discovered, type LanDiscovery } from '../net/discovery.ts';
import { dial, listenSignaling, type HelloInfo, type SignalingListener } from '../net/signaling.ts';
import { shutdownNet, type LinkOptions, type PeerLink } from '../net/transport.ts';
import type { ChunkSpec } from '../pull/file-puller.ts';
import { compareVectors } from '../sync/vv.ts';
import type { Folder } from './folder.ts';
import type { ChunkSwarm } from './puller.ts';
import { Session, type SessionHost } from './session.ts';
import { Throttle } from './throttle.ts';
import { guard } from '../net/log.ts';

const RECONNECT_MS = Number(process.env.PEERFOLD_RECONNECT_MS ?? 5_000);

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
  private readonly sessions = new Map<string, Session>();
  private readonly pendingSessions = new Set<Session>();
  private readonly dialing = new Set<string>();
  private readonly addresses = new Map<string, KnownAddress>();
  private readonly keys = new Map<string, ShareKeys>();
  private readonly byDiscovery = new Map<string, string>();
  private readonly indexPushTimers = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  listenPort = 0;
  private readonly recvThrottle = new Throttle(() => this.settings.maxRecvKBps * 1024);
  readonly sendThrottle = new Throttle(() => this.settings.maxSendKBps * 1024);

  constructor(
    private readonly engine: Engine,
    private readonly wantedPort: number,
  ) {}

  private get settings(): Settings {
    return this.engine.settings.get();
  }

  private linkOptions(): LinkOptions {
    return { certPemFile: this.engine.identity.certPemPath, keyPemFile: this.engine.identity.keyPemPath, log: (level, m) => level === 'error' && this.engine.log(m) };
  }

  async start(): Promise<void> {
    this.listener = await listenSignaling({
      port: this.wantedPort,
      device: () => ({ deviceId: this.engine.deviceId, deviceName: this.engine.deviceName }),
      accept: (hello) => this.acceptHello(hello),
      link: () => this.linkOptions(),
      onLink: (link) => this.adopt(link, null),
      log: (level, m) => level === 'error' && this.engine.log(m),
    });
    this.listenPort = this.listener.port;
    await this.applyDiscoverySetting();
    this.timer = setInterval(guard((_, m) => this.engine.log(m), 'reconnect timer', () => this.tick()), 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.indexPushTimers.values()) clearTimeout(t);
    for (const s of [...this.sessions.values(), ...this.pendingSessions]) s.close('shutting down');
    await this.discovery?.close();
    this.discovery = null;
    await this.listener?.close();
    await shutdownNet('shutting down');
  }

  // ---- shares ---------------------------------------------------------------------------------

  folderAdded(folder: Folder): void {
    const keys = deriveShareKeys(storedShareSecret(folder.row));
    this.keys.set(folder.id, keys);
    this.byDiscovery.set(keys.discoveryIdHex, folder.id);
    for (const a of this.engine.store.listAddresses(folder.id)) this.rememberAddress(a, 'manual', null);
    for (const p of this.engine.store.listPeers(folder.id)) if (p.address) this.rememberAddress(p.address, p.via ?? 'lan', p.deviceId);
    this.announce();
    this.shareBecameActive(keys.discoveryIdHex);
  }

  /**
   * A connection carries the shares agreed when it was set up. When a share is added or resumed,
   * connections that did not agree on it are made again, so a device that has it too picks it up.
   * Once per activation: a device without the share just reconnects once.
   */
  private shareBecameActive(discoveryId: string): void {
    for (const s of [...this.sessions.values(), ...this.pendingSessions]) {
      if (!(s.link.peer?.discoveryIds ?? []).includes(discoveryId)) s.close('shares changed; reconnecting');
    }
    for (const a of this.addresses.values()) a.nextTry = Math.min(a.nextTry, Date.now() + 200);
  }

  folderRemoved(shareId: string): void {
    const keys = this.keys.get(shareId);
    this.keys.delete(shareId);
    if (keys) this.byDiscovery.delete(keys.discoveryIdHex);
    this.announce();
  }

  private activeDiscoveryIds(): string[] {
    const out: string[] = [];
    for (const [shareId, k] of this.keys) if (this.shareActive(shareId)) out.push(k.discoveryIdHex);
    return out;
  }

  private announce(): void {
    this.discovery?.setDiscoveryIds(this.activeDiscoveryIds());
  }

  shareActive(shareId: string): boolean {
    const share = this.engine.store.getShare(shareId);
    return !!share && !share.paused && this.keys.has(shareId);
  }

  pauseChanged(shareId: string): void {
    this.announce();
    const f = this.engine.allFolders().find((x) => x.id === shareId);
    if (!this.shareActive(shareId)) {
      f?.puller.abortTransfers();
      for (const s of this.sessions.values()) if (s.hasShare(shareId)) s.close('share paused');
      for (const s of this.pendingSessions) s.close('share paused');
    } else {
      const keys = this.keys.get(shareId);
      if (keys) this.shareBecameActive(keys.discoveryIdHex);
      f?.syncSoon();
    }
  }

  async settingsChanged(before: Settings, after: Settings): Promise<void> {
    if (before.lanDiscovery !== after.lanDiscovery) await this.applyDiscoverySetting();
    if (before.listenPort !== after.listenPort) this.engine.log('the new listening port takes effect at the next start');
  }

  private async applyDiscoverySetting(): Promise<void> {
    if (this.settings.lanDiscovery && !this.discovery) {
      try {
        this.discovery = await startLanDiscovery({
          deviceId: this.engine.deviceId,
          signalingPort: this.listenPort,
          discoveryIds: this.activeDiscoveryIds(),
          port: process.env.PEERFOLD_DISCOVERY_PORT ? Number(process.env.PEERFOLD_DISCOVERY_PORT) : undefined,
          intervalMs: process.env.PEERFOLD_ANNOUNCE_MS ? Number(process.env.PEERFOLD_ANNOUNCE_MS) : undefined,
          onDiscovered: (d) => this.discovered(d),
          log: (level, m) => level === 'error' && this.engine.log(m),
        });
      } catch (err) {
        this.engine.log(`LAN discovery is off: ${(err as Error).message}`);
      }
    } else if (!this.settings.lanDiscovery && this.discovery) {
      await this.discovery.close();
      this.discovery = null;
    }
  }

  // ---- finding and dialing --------------------------------------------------------------------

  private discovered(d: Discovered): void {
    if (d.deviceId === this.engine.deviceId) return;
    const common = d.discoveryIds.filter((id) => {
      const shareId = this.byDiscovery.get(id);
      return shareId !== undefined && this.shareActive(shareId);
    });
    if (!common.length) return;
    const key = this.rememberAddress(`${d.address}:${d.port}`, 'lan', d.deviceId);
    if (!this.sessions.has(d.deviceId)) {
      const a = this.addresses.get(key)!;
      // both sides hear each other: the larger device ID waits a moment so usually one dial wins
      a.nextTry = Math.min(a.nextTry, Date.now() + (this.engine.deviceId > d.deviceId ? 1500 : 0));
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

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    const wanted = this.activeDiscoveryIds();
    if (!wanted.length) return;
    for (const [key, a] of this.addresses) {
      if (a.nextTry > now || this.dialing.has(key)) continue;
      if (a.deviceId && (this.sessions.has(a.deviceId) || a.deviceId === this.engine.deviceId)) continue;
      if (a.host === '127.0.0.1' && a.port === this.listenPort) continue;
      this.dialing.add(key);
      a.nextTry = now + RECONNECT_MS * Math.min(2 ** a.failures, 12) + randomInt(500);
      dial(a.host, a.port, {
        device: { deviceId: this.engine.deviceId, deviceName: this.engine.deviceName },
        discoveryIds: wanted,
        listenPort: this.listenPort,
        via: a.via,
        link: this.linkOptions(),
        log: () => undefined,
      })
        .then((link) => {
          a.failures = 0;
          if (link.peer) a.deviceId = link.peer.deviceId;
          this.adopt(link, a.deviceId);
        })
        .catch((err) => {
          a.failures++;
          if (a.failures <= 1 || process.env.PEERFOLD_DEBUG_NET) this.engine.log(`cannot connect to ${key}: ${(err as Error).message}`);
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
    if (hello.listenPort) this.rememberAddress(`${hello.remoteAddress}:${hello.listenPort}`, hello.via === 'manual' ? 'manual' : 'lan', hello.deviceId);
    return { discoveryIds: common };
  }

  // ---- sessions -------------------------------------------------------------------------------

  private adopt(link: PeerLink, expectDeviceId: string | null): void {
    if (this.stopped) {
      link.close('shutting down');
      return;
    }
    const session = new Session(link, this.sessionHost(), expectDeviceId ?? undefined);
    this.pendingSessions.add(session);
  }

  private sessionHost(): SessionHost {
    const engine = this.engine;
    return {
      deviceId: engine.deviceId,
      deviceName: () => engine.deviceName,
      fingerprint: engine.identity.fingerprint,
      clientVersion: `peerfold/${process.env.npm_package_version ?? '0.1.0'}`,
      shareKeys: (ids) => ids.map((id) => this.byDiscovery.get(id)).filter((s): s is string => !!s && this.shareActive(s)).map((s) => this.keys.get(s)!),
      shareIdOf: (id) => this.byDiscovery.get(id) ?? null,
      shareRoot: (shareId) => engine.store.getShare(shareId)?.path ?? null,
      shareActive: (shareId) => this.shareActive(shareId),
      store: engine.store,
      indexIdOf: (shareId) => engine.store.localIndexId(shareId),
      peerIndexId: (shareId, deviceId) => engine.store.peerIndexId(shareId, deviceId),
      setPeerIndexId: (shareId, deviceId, id) => engine.store.setPeerIndexId(shareId, deviceId, id),
      remoteIndexChanged: (shareId) => this.folderOf(shareId)?.syncSoon(),
      throttleSend: (n) => this.sendThrottle.take(n),
      accepted: (s) => this.sessionAccepted(s),
      closed: (s, reason) => this.sessionClosed(s, reason),
      log: (m) => engine.log(m),
    };
  }

  private folderOf(shareId: string): Folder | undefined {
    return this.engine.allFolders().find((f) => f.id === shareId);
  }

  private sessionAccepted(s: Session): void {
    this.pendingSessions.delete(s);
    if ([...s.shares.values()].some((st) => !this.shareActive(st.shareId))) {
      s.close('share paused');
      return;
    }
    const existing = this.sessions.get(s.deviceId);
    if (existing) {
      const keep = chooseLink(identityOf(existing.link, this.engine.deviceId), identityOf(s.link, this.engine.deviceId));
      if (keep === 'keep-existing') {
        s.close('duplicate connection');
        return;
      }
      this.sessions.delete(s.deviceId);
      existing.close('duplicate connection');
    }
    this.sessions.set(s.deviceId, s);
    const address = s.link.remoteAddress;
    for (const st of s.shares.values()) {
      const via = (s.link.via as PeerVia) ?? 'lan';
      const listen = s.link.peer?.listenPort;
      const host = address ? address.replace(/:\d+$/, '') : null;
      this.engine.store.updatePeer(st.shareId, s.deviceId, {
        name: s.deviceName,
        via,
        lastSeen: Date.now(),
        ...(host && listen ? { address: `${host}:${listen}` } : {}),
      });
      this.folderOf(st.shareId)?.syncSoon();
    }
    this.engine.log(`connected to ${s.deviceName} (${s.deviceId.slice(0, 7)}) for ${s.shares.size} share(s)`);
    this.engine.emit('peers', this.peers());
    this.engine.statusChanged();
  }

  private sessionClosed(s: Session, reason: string): void {
    this.pendingSessions.delete(s);
    if (this.sessions.get(s.deviceId) === s) {
      this.sessions.delete(s.deviceId);
      this.engine.log(`disconnected from ${s.deviceName}: ${reason}`);
      for (const a of this.addresses.values()) if (a.deviceId === s.deviceId) a.nextTry = Math.min(a.nextTry, Date.now() + 1000);
      this.engine.emit('peers', this.peers());
      this.engine.statusChanged();
    }
  }

  /** New local index entries: tell every connected peer of the share, coalescing bursts. */
  localIndexChanged(shareId: string): void {
    if (this.indexPushTimers.has(shareId)) return;
    this.indexPushTimers.set(
      shareId,
      setTimeout(guard((_, m) => this.engine.log(m), 'index push timer', () => {
        this.indexPushTimers.delete(shareId);
        for (const s of this.sessions.values()) if (s.hasShare(shareId)) s.pushIndex(shareId);
      }), 50),
    );
  }


  // ---- swarming -------------------------------------------------------------------------------

  holders(shareId: string, path: string, version: VersionVector): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (!s.hasShare(shareId)) continue;
      const rec = this.engine.store.fileVersion(shareId, s.deviceId, path);
      if (rec && compareVectors(rec.version, version) === 'equal') n++;
    }
    return n;
  }

  async fetch(shareId: string, path: string, version: VersionVector, spec: ChunkSpec, signal: AbortSignal): Promise<Uint8Array> {
    const keys = this.keys.get(shareId);
    if (!keys) throw new Error('the share is not active');
    const tried = new Set<Session>();
    for (;;) {
      signal.throwIfAborted();
      const candidates = [...this.sessions.values()].filter((s) => s.isAccepted && s.hasShare(shareId) && !tried.has(s));
      const holding = candidates.filter((s) => {
        // per chunk: fileVersion, not getFile (a 1 GiB file's chunk list is 16k entries)
        const rec = this.engine.store.fileVersion(shareId, s.deviceId, path);
        return rec && !rec.deleted && compareVectors(rec.version, version) === 'equal';
      });
      const pool = holding.length ? holding : candidates;
      if (!pool.length) throw new Error(tried.size ? 'no connected peer could supply this file' : 'waiting for a peer that has this file');
      const s = pool.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      tried.add(s);
      await this.recvThrottle.take(spec.size, signal);
      let got: Awaited<ReturnType<Session['fetchChunk']>>;
      try {
        got = await s.fetchChunk(keys.discoveryIdHex, path, spec.hash, spec.offset, spec.size, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        continue;
      }
      if (typeof got === 'string') continue;
      if (!createHash('sha256').update(got).digest().equals(spec.hash)) {
        this.engine.log(`dropping ${s.deviceName}: it sent a chunk of ${path} that does not match its hash`);
        s.close('sent a corrupt chunk');
        continue;
      }
      return got;
    }
  }

  // ---- reporting ------------------------------------------------------------------------------

  peersFor(shareId: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.hasShare(shareId)) n++;
    return n;
  }

  shareTraffic(shareId: string): { peersConnected: number; inBytesPerSec: number; outBytesPerSec: number } {
    let peersConnected = 0;
    let inBytesPerSec = 0;
    let outBytesPerSec = 0;
    for (const s of this.sessions.values()) {
      if (!s.hasShare(shareId)) continue;
      peersConnected++;
      const st = s.link.stats();
      inBytesPerSec += st.inBytesPerSec;
      outBytesPerSec += st.outBytesPerSec;
    }
    return { peersConnected, inBytesPerSec, outBytesPerSec };
  }

  deviceName(deviceId: string): string {
    if (deviceId === this.engine.deviceId) return this.engine.deviceName;
    const s = this.sessions.get(deviceId);
    if (s) return s.deviceName;
    for (const p of this.engine.store.listPeers()) if (p.deviceId === deviceId && p.name) return p.name;
    return deviceId.slice(0, 7);
  }

  peers(shareId?: string): PeerInfo[] {
    const out = new Map<string, PeerInfo>();
    for (const row of this.engine.store.listPeers(shareId)) {
      if (!this.keys.has(row.shareId)) continue;
      const p = out.get(row.deviceId) ?? {
        deviceId: row.deviceId, name: row.name, shareIds: [], connected: false, address: row.address, via: row.via ?? 'lan',
        inBytes: 0, outBytes: 0, inBytesPerSec: 0, outBytesPerSec: 0,
      };
      p.shareIds.push(row.shareId);
      out.set(row.deviceId, p);
    }
    for (const s of this.sessions.values()) {
      const p = out.get(s.deviceId);
      if (!p) continue;
      const st = s.link.stats();
      Object.assign(p, { connected: true, name: s.deviceName, via: s.link.via, address: s.link.remoteAddress ?? p.address, inBytes: st.bytesIn, outBytes: st.bytesOut, inBytesPerSec: st.inBytesPerSec, outBytesPerSec: st.outBytesPerSec });
    }
    return [...out.values()].sort((a, b) => Number(b.connected) - Number(a.connected) || a.name.localeCompare(b.name));
  }
}
