// LAN discovery: every device announces, over UDP broadcast and multicast, the discovery IDs of
// its shares and its signaling port; a device that hears an ID it holds dials the sender.
// Announcements go out on start, whenever the set of IDs changes, and every 30 s.
//
// The socket binds with reuseAddr so that several daemons on one machine each get every
// announcement. Where announcements go is configurable, and env PEERFOLD_LAN_TARGETS (comma
// separated) overrides everything: tests and benchmarks set it to 127.255.255.255, the loopback
// broadcast address, so that nothing they send leaves the machine.

import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { decodeAnnouncement, encodeAnnouncement, MAX_PACKET_BYTES, type Announcement } from './discovery-packet.ts';
import { defaultNetLog, errorMessage, guard, type NetLog } from './log.ts';
import { trackResource, untrackResource, type NetResource } from './resources.ts';

export const DEFAULT_DISCOVERY_PORT = 21127;
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 30_000;
/** IPv4 organization-local multicast group (RFC 2365) for Peerfold announcements. */
export const DEFAULT_MULTICAST_GROUP = '239.192.80.70';
export const LOOPBACK_BROADCAST = '127.255.255.255';

/** An announcement heard from another device. */
export interface Discovered {
  deviceId: string;
  /** the sender's IP address */
  address: string;
  /** the sender's signaling port */
  port: number;
  discoveryIds: string[];
}

export interface DiscoveryOptions {
  deviceId: string;
  /** our signaling port, announced so that others can dial us */
  signalingPort: number;
  discoveryIds?: string[];
  /** UDP port announcements are sent to and heard on; default 21127 */
  port?: number;
  /** Where announcements go (IPv4 broadcast or multicast addresses). Env PEERFOLD_LAN_TARGETS
   *  overrides this; without either, defaultLanTargets() is used, recomputed at every announcement. */
  targets?: string[];
  intervalMs?: number;
  /** The one local address to use (default env PEERFOLD_BIND_ADDRESS, else every interface).
   *  A socket bound to a unicast address hears no broadcasts, so with one set, announcements are
   *  sent from that address and heard on its interface's broadcast address (see bindPlan). */
  bindAddress?: string;
  onDiscovered?: (d: Discovered) => void;
  log?: NetLog;
}

function isMulticast(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/**
 * Production targets: the broadcast address of every IPv4 interface, the loopback broadcast
 * (daemons on this machine) and the multicast group. Never used by tests (see the file header).
 */
export function defaultLanTargets(): string[] {
  const out = new Set<string>([LOOPBACK_BROADCAST]);
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (ni.family !== 'IPv4' || ni.internal) continue;
      const mask = ipv4ToInt(ni.netmask);
      if (mask === 0xffffffff) continue; // point-to-point: no broadcast
      out.add(intToIpv4((ipv4ToInt(ni.address) & mask) | (~mask >>> 0)));
    }
  }
  out.add(DEFAULT_MULTICAST_GROUP);
  return [...out];
}

export interface BindPlan {
  /** where the receiving socket binds */
  listen: string;
  /** where the sending socket binds; null: the receiving socket sends too */
  send: string | null;
  /** the broadcast address of the bound interface: the default target; null when unbound or none */
  broadcast: string | null;
}

/**
 * How to honour a bind address (PEERFOLD_BIND_ADDRESS covers discovery as it does the listener
 * and the links): hear on the broadcast address of the interface holding it, send from it, and
 * announce to that broadcast address only. No address or 0.0.0.0: every interface, as before.
 */
export function bindPlan(bindAddress: string | undefined, interfaces = networkInterfaces()): BindPlan {
  if (!bindAddress || bindAddress === '0.0.0.0') return { listen: '0.0.0.0', send: null, broadcast: null };
  for (const list of Object.values(interfaces)) {
    for (const ni of list ?? []) {
      if (ni.family !== 'IPv4' || ni.address !== bindAddress) continue;
      const mask = ipv4ToInt(ni.netmask);
      if (mask === 0xffffffff) return { listen: bindAddress, send: bindAddress, broadcast: null };
      const broadcast = intToIpv4((ipv4ToInt(ni.address) & mask) | (~mask >>> 0));
      return { listen: broadcast, send: bindAddress, broadcast };
    }
  }
  throw new Error(`the bind address ${bindAddress} (PEERFOLD_BIND_ADDRESS) is not an IPv4 address of this machine`);
}

/** Parses PEERFOLD_LAN_TARGETS ("a,b,c"); null when unset or empty. */
export function targetsFromEnv(value = process.env.PEERFOLD_LAN_TARGETS): string[] | null {
  if (!value) return null;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of list) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(t) || t.split('.').some((p) => Number(p) > 255)) {
      throw new Error(`PEERFOLD_LAN_TARGETS: ${JSON.stringify(t)} is not an IPv4 address`);
    }
  }
  return list.length ? list : null;
}

export class LanDiscovery implements NetResource {
  private readonly socket: dgram.Socket;
  /** the socket announcements go out on: `socket` itself unless bound to one address */
  private readonly sender: dgram.Socket;
  private readonly plan: BindPlan;
  private readonly log: NetLog;
  private readonly port: number;
  private readonly fixedTargets: string[] | null;
  private ids: string[];
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private closed = false;
  private readonly listeners: ((d: Discovered) => void)[] = [];
  private readonly joined = new Set<string>();
  /** datagrams received and ignored as malformed (diagnostics) */
  ignoredPackets = 0;

  constructor(private readonly opts: DiscoveryOptions) {
    this.log = opts.log ?? defaultNetLog;
    this.port = opts.port ?? DEFAULT_DISCOVERY_PORT;
    this.plan = bindPlan(opts.bindAddress ?? (process.env.PEERFOLD_BIND_ADDRESS || undefined));
    this.fixedTargets = targetsFromEnv() ?? opts.targets ?? (this.plan.broadcast ? [this.plan.broadcast] : null);
    this.ids = [...new Set(opts.discoveryIds ?? [])].sort();
    if (opts.onDiscovered) this.listeners.push(opts.onDiscovered);
    this.socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket.on(
      'message',
      guard(this.log, 'discovery message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.received(msg, rinfo)),
    );
    this.socket.on(
      'error',
      guard(this.log, 'discovery socket error', (err: Error) => {
        this.log('warn', `LAN discovery socket: ${err.message}`);
      }),
    );
    this.sender = this.plan.send ? dgram.createSocket({ type: 'udp4', reuseAddr: true }) : this.socket;
    if (this.sender !== this.socket) {
      this.sender.on(
        'error',
        guard(this.log, 'discovery sender error', (err: Error) => this.log('warn', `LAN discovery socket: ${err.message}`)),
      );
    }
  }

  /** The targets announcements currently go to. */
  targets(): string[] {
    return this.fixedTargets ?? defaultLanTargets();
  }

  onDiscovered(cb: (d: Discovered) => void): void {
    this.listeners.push(cb);
  }

  /** Binds the socket, announces at once and then every interval. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    trackResource(this);
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        untrackResource(this);
        this.closed = true;
        reject(new Error(`cannot listen for LAN discovery on UDP port ${this.port}: ${err.message}`));
      };
      this.socket.once('error', onError);
      this.socket.bind(
        { port: this.port, address: this.plan.listen },
        guard(this.log, 'discovery bind', () => {
          this.socket.off('error', onError);
          const ready = () => {
            try {
              this.sender.setBroadcast(true);
              this.sender.setMulticastTTL(1); // announcements stay on the local link
              this.sender.setMulticastLoopback(true); // daemons on this machine hear each other
            } catch (err) {
              this.log('warn', `LAN discovery socket options: ${errorMessage(err)}`);
            }
            // multicast only on every interface: bound to one address, its broadcast is the way
            if (this.sender === this.socket) this.joinGroups();
            this.timer = setInterval(
              guard(this.log, 'discovery timer', () => this.announceNow()),
              this.opts.intervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS,
            );
            this.timer.unref();
            this.announceNow();
            resolve();
          };
          if (this.sender === this.socket) return ready();
          this.sender.once('error', onError);
          this.sender.bind(
            { port: 0, address: this.plan.send! },
            guard(this.log, 'discovery sender bind', () => {
              this.sender.off('error', onError);
              ready();
            }),
          );
        }),
      );
    });
  }

  /** Replaces the announced discovery IDs; announces at once if they changed. */
  setDiscoveryIds(ids: string[]): void {
    const next = [...new Set(ids)].sort();
    if (next.length === this.ids.length && next.every((id, i) => id === this.ids[i])) return;
    this.ids = next;
    if (this.started && !this.closed) this.announceNow();
  }

  /**
   * The machine's networks changed: joins the multicast group on interfaces that are new (when
   * listening on every interface) and announces at once from the new addresses.
   */
  networkChanged(): void {
    if (!this.started || this.closed) return;
    if (this.sender === this.socket) {
      this.joined.clear(); // joining again where already joined fails harmlessly (logged at debug)
      this.joinGroups();
    }
    this.announceNow();
  }

  /** Sends the announcement to every target now (nothing when there are no IDs to announce). */
  announceNow(): void {
    if (!this.started || this.closed || this.ids.length === 0) return;
    let packets: Buffer[];
    try {
      packets = encodeAnnouncement({ deviceId: this.opts.deviceId, port: this.opts.signalingPort, discoveryIds: this.ids });
    } catch (err) {
      this.log('error', `cannot build LAN announcement: ${errorMessage(err)}`);
      return;
    }
    for (const target of this.targets()) {
      for (const p of packets) {
        this.sender.send(p, this.port, target, (err) => {
          if (err) this.log('debug', `LAN announcement to ${target}: ${err.message}`);
        });
      }
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    untrackResource(this);
    if (!this.started) return Promise.resolve();
    const closeOne = (socket: dgram.Socket) =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    return Promise.all([closeOne(this.socket), ...(this.sender !== this.socket ? [closeOne(this.sender)] : [])]).then(() => undefined);
  }

  shutdown(): Promise<void> {
    return this.close();
  }

  private joinGroups(): void {
    // only groups we were told to use: joining one sends IGMP on the real interfaces
    const groups = this.targets().filter(isMulticast);
    for (const group of groups) {
      if (this.joined.has(group)) continue;
      const ifaces = Object.values(networkInterfaces())
        .flat()
        .filter((ni) => ni && ni.family === 'IPv4' && !ni.internal)
        .map((ni) => ni!.address);
      for (const iface of ifaces.length ? ifaces : [undefined]) {
        try {
          this.socket.addMembership(group, iface);
        } catch (err) {
          this.log('debug', `cannot join multicast ${group} on ${iface ?? 'default interface'}: ${errorMessage(err)}`);
        }
      }
      this.joined.add(group);
    }
  }

  private received(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    if (msg.length > MAX_PACKET_BYTES) {
      this.ignoredPackets++;
      return;
    }
    const a: Announcement | null = decodeAnnouncement(msg);
    if (!a) {
      this.ignoredPackets++;
      return;
    }
    if (a.deviceId === this.opts.deviceId) return; // our own, looped back
    const found: Discovered = { deviceId: a.deviceId, address: rinfo.address, port: a.port, discoveryIds: a.discoveryIds };
    for (const cb of this.listeners) guard(this.log, 'onDiscovered handler', cb)(found);
  }
}

/** Creates and starts LAN discovery. */
export async function startLanDiscovery(opts: DiscoveryOptions): Promise<LanDiscovery> {
  const d = new LanDiscovery(opts);
  await d.start();
  return d;
}
