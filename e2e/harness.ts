// Real devices for end-to-end tests and benchmarks: each is a `peerfold daemon` process with its
// own home, driven through the same control API the CLI and the web UI use. Every packet stays on
// loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Method, Params, Result, ShareSummary, StatusResult } from '../shared/api.ts';
import { connectToDaemon, type ControlClient } from '../main/headless/client.ts';
import { readControlInfo, readToken } from '../main/headless/home-files.ts';
import type { Internet, Netns } from './netns.ts';

/** Extra node flags for the daemons, e.g. PEERFOLD_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
function daemonNodeArgs(): string[] {
  return (process.env.PEERFOLD_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const bin = join(repoRoot, 'bin', 'peerfold');

export const loopbackEnv = {
  PEERFOLD_LAN_TARGETS: '127.255.255.255',
  PEERFOLD_BIND_ADDRESS: '127.0.0.1',
  PEERFOLD_FROM_SOURCE: '1',
  PEERFOLD_ANNOUNCE_MS: '1000',
  PEERFOLD_RECONNECT_MS: '1000',
  PEERFOLD_RESCAN_MS: '15000',
  // never the shipped public trackers or STUN servers: only servers given as IP addresses
  PEERFOLD_NO_PUBLIC: '1',
  PEERFOLD_TRACKER_ANNOUNCE_MS: '1000',
};

/** What a harness device starts with: no internet servers at all (a test that wants a tracker sets its own). */
export const harnessSettings = { trackers: [], stunServers: [], turnServers: [] };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown inside a waitUntil condition: stop waiting at once. */
export class Fatal extends Error {}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Where a device's daemon runs: by default on this machine's loopback; with `netns`, inside a
 * network namespace of an e2e/netns.ts Internet (its control API reached through a forwarded port).
 */
export interface DeviceOptions {
  netns?: { net: Internet; ns: Netns };
}

export class Device {
  proc: ChildProcess | null = null;
  client: ControlClient | null = null;
  log = '';
  readonly home: string;
  private forwarded: { port: number; close: () => void } | null = null;

  constructor(
    readonly name: string,
    readonly base: string,
    private readonly env: Record<string, string> = {},
    readonly options: DeviceOptions = {},
  ) {
    this.home = join(base, `${name}-home`);
  }

  /** The folder this device keeps its share in (by convention of these tests). */
  get dir(): string {
    return join(this.base, folderName(this.name));
  }

  async start(): Promise<this> {
    const settingsFile = join(this.home, 'settings.json');
    if (!existsSync(settingsFile)) {
      mkdirSync(this.home, { recursive: true, mode: 0o700 });
      writeFileSync(settingsFile, JSON.stringify(harnessSettings));
    }
    const args = [...daemonNodeArgs(), bin, '--home', this.home, 'daemon', '--listen', '0', '--ui-port', '0'];
    const netns = this.options.netns;
    // inside a namespace the daemon uses every interface there and announces to its LAN's broadcast
    // address (both stay inside the namespaces); on the host, loopback only
    const env = { ...process.env, ...loopbackEnv, ...(netns ? { PEERFOLD_BIND_ADDRESS: '', PEERFOLD_LAN_TARGETS: '' } : {}), ...this.env };
    const proc = netns
      ? netns.net.spawn(netns.ns, process.execPath, args, { env })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.log += d));
    proc.stderr!.on('data', (d) => (this.log += d));
    if (netns && !this.forwarded) {
      // the daemon's control API listens on 127.0.0.1 of its namespace; the port is read at each
      // connection, so a restarted daemon is reached too
      this.forwarded = await netns.net.forward(netns.ns, '127.0.0.1', () => readControlInfo(this.home)?.port ?? 1);
    }
    this.client = await waitUntil(
      `${this.name}'s daemon to answer`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`daemon exited: ${this.log}`);
        return connectToDaemon(this.home, this.forwarded ? { port: this.forwarded.port } : {});
      },
      // a restarted daemon took over 60 s to answer at load 50-60 (e2e/links, kill -9 and restart)
      180_000,
      150,
    );
    const settings = await this.call('getSettings', {});
    if (settings.deviceName !== this.name) await this.call('setSettings', { deviceName: this.name });
    return this;
  }

  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    if (!this.client) throw new Error(`${this.name} is not running`);
    return this.client.call(method, params);
  }

  async status(): Promise<StatusResult> {
    return this.call('status', {});
  }

  async share(shareId: string): Promise<ShareSummary> {
    const s = (await this.status()).shares.find((x) => x.id === shareId);
    if (!s) throw new Error(`${this.name} has no share ${shareId}`);
    return s;
  }

  /** Graceful stop (SIGTERM: the database is flushed). */
  async stop(): Promise<void> {
    if (!this.proc) return;
    this.client?.close();
    this.client = null;
    const p = this.proc;
    this.proc = null;
    if (p.exitCode !== null) return;
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }

  /** kill -9: no chance to flush anything. */
  async kill9(): Promise<void> {
    if (!this.proc) return;
    this.client?.close();
    this.client = null;
    const p = this.proc;
    this.proc = null;
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
  }

  /**
   * The address that signs a browser in: the web UI address this run of the daemon printed ("web
   * UI  http://127.0.0.1:PORT/", without the token: the log is not a terminal) with the token
   * from its home, as a user would put them together. Waits for the line: the daemon answers its
   * API a moment before printing.
   */
  async webUrl(): Promise<string> {
    const origin = await waitUntil(
      `${this.name}'s web UI address`,
      () => {
        const found = [...this.log.matchAll(/web UI\s+(http:\/\/127\.0\.0\.1:\d+)\//g)];
        // after a restart the log holds several; the newest is this run's
        return found.length ? found[found.length - 1][1] : false;
      },
      30_000,
      100,
    );
    return `${origin}/?token=${readToken(this.home)}`;
  }

  async bytesIn(): Promise<number> {
    return (await this.call('peers', {})).reduce((n, p) => n + p.inBytes, 0);
  }
}

function folderName(device: string): string {
  return `${device}-folder`;
}

export class Cluster {
  readonly base: string;
  readonly devices: Device[] = [];

  constructor(prefix = 'peerfold-e2e-') {
    this.base = mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), prefix));
  }

  async add(deviceName: string, env: Record<string, string> = {}, options: DeviceOptions = {}): Promise<Device> {
    const d = new Device(deviceName, this.base, env, options);
    this.devices.push(d);
    mkdirSync(d.dir, { recursive: true });
    return d.start();
  }

  /** The first device shares its folder; the others join with its read-write code. */
  async shareAmong(devices: Device[]): Promise<string> {
    const [first, ...rest] = devices;
    const { share, codes } = await first.call('share', { path: first.dir });
    for (const d of rest) await d.call('join', { code: codes.readWrite!, path: d.dir });
    return share.id;
  }

  async close(): Promise<void> {
    for (const d of this.devices) await d.stop().catch(() => undefined);
    if (!process.env.PEERFOLD_KEEP_E2E) rmSync(this.base, { recursive: true, force: true });
  }

  logs(): string {
    return this.devices.map((d) => `----- ${d.name}\n${d.log}`).join('\n');
  }
}

/** path -> content fingerprint ("f:<sha256>", "l:<target>", "d") of a share folder, .peerfold left out. */
export function treeOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === '.peerfold' || n.startsWith('.pftmp-')) continue;
      const st = lstatSync(join(dir, r));
      if (st.isSymbolicLink()) out.set(r, `l:${readlinkSync(join(dir, r))}`);
      else if (st.isDirectory()) {
        out.set(r, 'd');
        walk(r);
      } else out.set(r, `f:${sha(readFileSync(join(dir, r)))}`);
    }
  };
  walk('');
  return out;
}

/** Every file content anywhere under a folder, the archive and conflict copies included. */
export function contentsUnder(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (p: string) => {
    for (const n of readdirSync(p)) {
      const full = join(p, n);
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile()) out.add(sha(readFileSync(full)));
    }
  };
  walk(dir);
  return out;
}

export function sha(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Waits until every device is idle with nothing left to pull and all folders hold the same tree. */
export async function converged(devices: Device[], shareId: string, timeoutMs = 120_000): Promise<Map<string, string>> {
  try {
    return await convergedOrThrow(devices, shareId, timeoutMs);
  } catch (err) {
    // say what differs, so a failure can be understood from the test output alone
    const lines = [(err as Error).message];
    const trees = devices.map((d) => treeOf(d.dir));
    const paths = new Set(trees.flatMap((t) => [...t.keys()]));
    for (const p of [...paths].sort()) {
      const vals = trees.map((t) => t.get(p) ?? '-');
      if (new Set(vals).size > 1) lines.push(`  ${p}: ${vals.map((v, i) => `${devices[i].name}=${v.slice(0, 12)}`).join(' ')}`);
    }
    for (const d of devices) {
      const s = await d.share(shareId).catch(() => null);
      lines.push(
        `  ${d.name}: ${s ? JSON.stringify({ state: s.state, need: s.needFiles, pulling: s.pulling.length, errors: s.errors, peers: s.peersConnected }) : 'not running'}`,
      );
      lines.push(
        d.log
          .split('\n')
          .filter((l) => l.trim() && !/^\s+(home|device ID|name|sync port|web UI)\s/.test(l))
          .slice(-12)
          .map((l) => `    ${l}`)
          .join('\n'),
      );
    }
    throw new Error(lines.join('\n'), { cause: err });
  }
}

async function convergedOrThrow(devices: Device[], shareId: string, timeoutMs: number): Promise<Map<string, string>> {
  return waitUntil(
    'the devices to converge',
    async () => {
      for (const d of devices) {
        const crash = /unhandled promise rejection|unexpected error/.exec(d.log);
        if (crash) throw new Fatal(`${d.name}'s daemon reported an ${crash[0]}:\n${d.log.slice(crash.index, crash.index + 1500)}`);
      }
      for (const d of devices) {
        const s = await d.share(shareId);
        if (s.state !== 'idle' || s.needFiles !== 0 || s.pulling.length) return false;
      }
      const trees = devices.map((d) => treeOf(d.dir));
      const first = JSON.stringify([...trees[0]].sort());
      return trees.every((t) => JSON.stringify([...t].sort()) === first) ? trees[0] : false;
    },
    timeoutMs,
    250,
  );
}

export function removeQuietly(p: string): void {
  rmSync(p, { recursive: true, force: true });
}
