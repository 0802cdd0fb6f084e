// Internet discovery: one tracker client per tracker in the settings, announcing every active
// share under its rotating tracker ID (keys/tracker-id.ts), never its stable discovery ID. A share
// asks for peers (sends offers) only while no device carries it with this one; otherwise it is
// only findable, so devices already linked do not dial each other again through the tracker every
// few minutes. Links that come up are handed to the network as they are: the share handshake on
// them decides who gets in, as on every other link.
import type { Settings, TrackerInfo } from '../../../shared/api.ts';
import { internetServers, NO_PUBLIC_REASON } from '../config/internet-servers.ts';
import type { ShareKeys } from '../keys/secrets.ts';
import { trackerIds } from '../keys/tracker-id.ts';
import type { NetLog } from '../net/log.ts';
import { TrackerClient, MAX_OFFERS_PER_ANNOUNCE, type Announcement } from '../net/tracker-client.ts';
import type { LinkOptions, PeerLink } from '../net/transport.ts';

/** Tracker IDs are recomputed this often, so a share moves to the next day's ID soon after midnight. */
const ROTATION_CHECK_MS = 60_000;
/** Offers per announce of a share that wants peers. */
const OFFERS_WHEN_ALONE = Math.min(3, MAX_OFFERS_PER_ANNOUNCE);

export interface TrackersDeps {
  settings: () => Settings;
  noPublic: boolean;
  /** the active shares (held and not paused) */
  activeShares: () => ShareKeys[];
  /** devices carrying this share with this one right now */
  linkedDevices: (shareId: string) => number;
  linkOptions: () => LinkOptions;
  /** a link through a tracker opened, for the share with this discovery ID: authenticate it */
  adopt: (link: PeerLink, discoveryIdHex: string) => void;
  statusChanged: () => void;
  log: (message: string) => void;
  now?: () => number;
}

export class Trackers {
  private readonly clients = new Map<string, TrackerClient>();
  private refused: { url: string; reason: string }[] = [];
  /** tracker ID -> discovery ID, for the IDs announced now */
  private byTrackerId = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly netLog: NetLog;
  /** whether there were active shares at the last apply() (tracker clients run only then) */
  private engaged = false;
  /** the client each link handed to the network came through, until the share handshake's verdict */
  private readonly cameThrough = new WeakMap<object, { client: TrackerClient; link: PeerLink }>();

  constructor(private readonly deps: TrackersDeps) {
    this.netLog = (level, m) => (level === 'warn' || level === 'error' || level === 'info') && deps.log(m);
    this.timer = setInterval(() => {
      try {
        this.refresh();
      } catch (err) {
        deps.log(`tracker rotation: ${(err as Error).message}`);
      }
    }, ROTATION_CHECK_MS);
    this.timer.unref();
    this.apply();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The settings changed (or at start): start and stop tracker clients to match. */
  apply(): void {
    const servers = internetServers(this.deps.settings(), this.deps.noPublic);
    const before = new Set(this.refused.map((r) => r.url));
    this.refused = servers.refused.filter((r) => this.deps.settings().trackers.includes(r.url));
    for (const r of this.refused) if (!before.has(r.url)) this.deps.log(`tracker ${r.url} is not used: ${r.reason}`);
    if (servers.refused.length && !this.refused.length && before.size === 0) {
      // STUN/TURN refused only: say so once
      this.deps.log(`${servers.refused.length} STUN/TURN server(s) not used: ${NO_PUBLIC_REASON}`);
    }
    // a device with nothing to announce keeps away from trackers altogether
    this.engaged = this.deps.activeShares().length > 0;
    const wanted = new Set(this.engaged ? servers.trackers : []);
    for (const [url, c] of this.clients) {
      if (wanted.has(url)) continue;
      c.close();
      this.clients.delete(url);
    }
    this.recompute();
    for (const url of wanted) {
      if (this.clients.has(url)) continue;
      const client: TrackerClient = new TrackerClient({
        url,
        link: () => this.deps.linkOptions(),
        announcements: () => this.announcements(),
        wants: (h) => this.byTrackerId.has(h),
        onLink: (link, infoHash) => this.opened(client, link, infoHash),
        onStatus: () => this.deps.statusChanged(),
        log: this.netLog,
      });
      this.clients.set(url, client);
    }
    this.deps.statusChanged();
  }

  /** Shares, their pause state or their links changed, or the day did: announce what is true now. */
  refresh(): void {
    if (this.deps.activeShares().length > 0 !== this.engaged) {
      this.apply();
      return;
    }
    const before = [...this.byTrackerId.keys()].join();
    this.recompute();
    const changed = before !== [...this.byTrackerId.keys()].join();
    for (const c of this.clients.values()) if (changed || this.wantsPeers()) c.refresh();
  }

  /** A device link ended or began: a share left alone starts asking for peers at once. */
  linksChanged(): void {
    if (this.wantsPeers()) for (const c of this.clients.values()) c.refresh();
  }

  /** This machine's addresses changed: every tracker connection starts afresh. */
  networkChanged(): void {
    for (const c of this.clients.values()) c.networkChanged();
  }

  status(): TrackerInfo[] {
    const out: TrackerInfo[] = [...this.clients.values()].map((c) => {
      const s = c.status();
      // shares, not info hashes: near midnight one share is announced under two tracker IDs
      const shares = new Set(s.announced.map((h) => this.byTrackerId.get(h)).filter((d) => d !== undefined));
      return { url: s.url, state: s.state === 'closed' ? 'waiting' : s.state, error: s.error, announced: shares.size };
    });
    for (const r of this.refused) out.push({ url: r.url, state: 'refused', error: r.reason, announced: 0 });
    return out;
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private recompute(): void {
    const map = new Map<string, string>();
    const now = this.now();
    for (const k of this.deps.activeShares()) for (const id of trackerIds(k.trackerKey, now)) map.set(id, k.discoveryIdHex);
    this.byTrackerId = map;
  }

  private wantsPeers(): boolean {
    return this.deps.activeShares().some((k) => this.deps.linkedDevices(k.shareId) === 0);
  }

  private announcements(): Announcement[] {
    this.recompute();
    const out: Announcement[] = [];
    const now = this.now();
    for (const k of this.deps.activeShares()) {
      const offers = this.deps.linkedDevices(k.shareId) === 0 ? OFFERS_WHEN_ALONE : 0;
      // the current period's ID carries the offers; a neighbouring one (near midnight) is only findable
      trackerIds(k.trackerKey, now).forEach((infoHash, i) => out.push({ infoHash, offers: i === 0 ? offers : 0 }));
    }
    return out;
  }

  /**
   * The share handshake on a link that came through a tracker accepted it, or it ended before
   * that: a peer whose links are refused is not linked with through that tracker for a while.
   */
  settled(origin: object, accepted: boolean): void {
    const from = this.cameThrough.get(origin);
    if (!from) return;
    this.cameThrough.delete(origin);
    from.client.linkSettled(from.link, accepted ? 'accepted' : 'refused');
  }

  private opened(client: TrackerClient, link: PeerLink, infoHash: string): void {
    const discoveryIdHex = this.byTrackerId.get(infoHash);
    if (!discoveryIdHex) {
      client.linkSettled(link, 'dropped');
      link.close('the share is no longer active');
      return;
    }
    this.cameThrough.set(link, { client, link });
    // who is on the other end is unknown until the handshake proves it
    link.peer = { deviceId: '', deviceName: '', discoveryIds: [discoveryIdHex] };
    this.deps.adopt(link, discoveryIdHex);
  }
}
