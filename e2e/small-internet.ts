// The small internet the NAT and relay tests run on, built from e2e/netns.ts:
//
//   home 1 (10.0.1.0/24)               core "internet" (100.64.0.0/24)            home 2 (10.0.2.0/24)
//   device(s) ── bridge ─ router1 ═NAT═ ── bridge ── ═NAT═ router2 ─ bridge ── device(s)
//                                           │  tracker + coturn at 100.64.0.1
//                                           └ default route into a sink that drops everything
//
// Each home router masquerades its LAN and drops unsolicited inbound traffic (a port-restricted
// NAT, like most home routers). Addresses are private and shared-address ranges only; nothing
// is linked to the host's network.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Internet, type Netns } from './netns.ts';

export const CORE_ADDRESS = '100.64.0.1';

export interface Home {
  router: Netns;
  /** the router's address on the core segment */
  wanAddress: string;
  /** the router's address on its LAN (the devices' gateway) */
  lanAddress: string;
  /** "10.0.N" */
  lanPrefix: string;
  /** broadcast address of the LAN (LAN discovery's target there) */
  broadcast: string;
  devices: HomeDevice[];
}

export interface HomeDevice {
  ns: Netns;
  address: string;
  home: Home;
}

export class SmallInternet {
  readonly net = new Internet();
  readonly core: Netns;
  readonly homes: Home[] = [];

  constructor() {
    this.core = this.net.namespace('core');
    this.net.bridge(this.core, 'pub', `${CORE_ADDRESS}/24`);
    this.net.sink(this.core);
  }

  /** A home LAN behind its own NAT router on the core segment. */
  addHome(): Home {
    const n = this.homes.length + 1;
    const router = this.net.namespace(`router${n}`);
    const wanAddress = `100.64.0.${10 + n}`;
    const lanPrefix = `10.0.${n}`;
    this.net.attach(router, 'wan', `${wanAddress}/24`, this.core, 'pub');
    this.net.bridge(router, 'lan', `${lanPrefix}.1/24`);
    this.net.route(router, 'default', CORE_ADDRESS);
    this.net.natRouter(router, 'wan');
    const home: Home = { router, wanAddress, lanAddress: `${lanPrefix}.1`, lanPrefix, broadcast: `${lanPrefix}.255`, devices: [] };
    this.homes.push(home);
    return home;
  }

  /** A device namespace on a home's LAN, its default route through the home's router. */
  addDevice(home: Home, role: string): HomeDevice {
    const ns = this.net.namespace(role);
    const address = `${home.lanPrefix}.${10 + home.devices.length}`;
    this.net.attach(ns, 'eth0', `${address}/24`, home.router, 'lan');
    this.net.route(ns, 'default', home.lanAddress);
    const d: HomeDevice = { ns, address, home };
    home.devices.push(d);
    return d;
  }

  /** A device with an address of its own on the core segment (no NAT in front of it), 100.64.0.20 onwards. */
  addCoreDevice(role: string): { ns: Netns; address: string } {
    const ns = this.net.namespace(role);
    const address = `100.64.0.${20 + this.coreDevices++}`;
    this.net.attach(ns, 'eth0', `${address}/24`, this.core, 'pub');
    return { ns, address };
  }
  private coreDevices = 0;

  /**
   * Moves a device to another home's LAN, as a laptop carried from home to the office: its
   * interface goes away and a new one with a new address comes up there.
   */
  moveDevice(d: HomeDevice, to: Home): void {
    this.net.ip(d.ns, ['link', 'del', 'eth0']);
    d.home.devices.splice(d.home.devices.indexOf(d), 1);
    d.address = `${to.lanPrefix}.${10 + to.devices.length + this.moves++ * 10}`;
    d.home = to;
    this.net.attach(d.ns, 'eth0', `${d.address}/24`, to.router, 'lan');
    this.net.route(d.ns, 'default', to.lanAddress);
    to.devices.push(d);
  }
  private moves = 0;

  /** Firewalls UDP between two homes' routers (both ways): no direct path is left, TURN is. */
  blockUdpBetween(a: Home, b: Home): void {
    this.net.dropUdp(a.router, b.wanAddress);
    this.net.dropUdp(b.router, a.wanAddress);
  }

  unblockUdpBetween(a: Home, b: Home): void {
    this.net.allowUdp(a.router, b.wanAddress);
    this.net.allowUdp(b.router, a.wanAddress);
  }

  /** A WebTorrent (WebSocket) tracker on the core: bittorrent-tracker's own server, as a user self-hosts it. */
  async startTracker(port = 8000): Promise<{ url: string; proc: ChildProcess; log: () => string }> {
    const cmd = join(repoRootDir(), 'node_modules', 'bittorrent-tracker', 'bin', 'cmd.js');
    const proc = this.net.spawn(this.core, process.execPath, [
      cmd,
      '--ws',
      '--port',
      String(port),
      '--http-hostname',
      CORE_ADDRESS,
      '--quiet',
    ]);
    let log = '';
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    await this.waitForTcp(this.core, CORE_ADDRESS, port, () => (proc.exitCode !== null ? `tracker exited: ${log}` : null));
    return { url: `ws://${CORE_ADDRESS}:${port}`, proc, log: () => log };
  }

  /**
   * coturn as STUN and TURN server on the core (UDP 3478, long-term credentials), run with the
   * README's /etc/turnserver.conf as a user writes it: only its placeholders are filled in (this
   * internet's public address, the test's user). Returns the server strings as Peerfold's settings
   * take them.
   */
  async startCoturn(
    user = 'peerfold',
    password = 'relay-secret',
  ): Promise<{ stun: string; turn: string; proc: ChildProcess; log: () => string }> {
    const conf = join(this.net.dir, 'turnserver.conf');
    writeFileSync(
      conf,
      readmeCoturnConfig()
        .replace('external-ip=PUBLIC-IP', `external-ip=${CORE_ADDRESS}`)
        .replace('user=alice:secret', `user=${user}:${password}`),
    );
    const proc = this.net.spawn(this.core, 'turnserver', [
      '-c',
      conf,
      // the test's plumbing, not configuration: where it logs and keeps its files
      '--log-file',
      'stdout',
      '--simple-log',
      '--pidfile',
      join(this.net.dir, 'turnserver.pid'),
      '--userdb',
      join(this.net.dir, 'turndb.sqlite'),
    ]);
    let log = '';
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    await this.waitForTcp(this.core, CORE_ADDRESS, 3478, () => (proc.exitCode !== null ? `coturn exited: ${log}` : null));
    return {
      stun: `stun:${CORE_ADDRESS}:3478`,
      turn: `turn:${user}:${password}@${CORE_ADDRESS}:3478?transport=udp`,
      proc,
      log: () => log,
    };
  }

  /** Waits until something inside `ns` accepts TCP connections on host:port. */
  private async waitForTcp(ns: Netns, host: string, port: number, failed: () => string | null): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const why = failed();
      if (why) throw new Error(why);
      try {
        this.net.run(ns, process.execPath, [
          '-e',
          `const s=require('node:net').connect(${port},${JSON.stringify(host)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));`,
        ]);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} in ${ns.role} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  close(): Promise<void> {
    return this.net.close();
  }
}

/** The coturn configuration README.md tells a user to write to /etc/turnserver.conf, placeholders and all. */
export function readmeCoturnConfig(): string {
  const readme = readFileSync(join(repoRootDir(), 'README.md'), 'utf8');
  const block = /```ini\n(# \/etc\/turnserver\.conf\n[\s\S]*?)```/.exec(readme)?.[1];
  if (!block || !block.includes('external-ip=PUBLIC-IP') || !block.includes('user=alice:secret')) {
    throw new Error('README.md has no /etc/turnserver.conf block with external-ip=PUBLIC-IP and user=alice:secret');
  }
  return block;
}

function repoRootDir(): string {
  return new URL('..', import.meta.url).pathname;
}
