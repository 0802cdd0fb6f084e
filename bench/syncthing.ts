// Syncthing beside Peerfold: Debian's syncthing runs the same scenarios on the same machine in the
// same run, so every figure of issue 11 gets a ratio. Loopback only: each instance listens on
// 127.0.0.1, knows the others' addresses by hand, and has global and local discovery, relays, NAT
// traversal, STUN, usage and crash reports and upgrades turned off. Its file watcher keeps its
// default delay (10 s), as users get it. Skipped (with the reason) when syncthing is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fatal, sleep, waitUntil } from '../e2e/harness.ts';
import { makeTree } from './scan.ts';
import { cpuSecondsOf, dirBytes, fmt, KiB, mb, median, MiB, now, peakRssOf, writeRandomFile } from './lib.ts';

export type SyncthingPart = 'scan' | 'latency' | 'transfer' | 'delta' | 'rename' | 'many';

export interface SyncthingFigures {
  version: string;
  scan?: { files: number; dataBytes: number; seconds: number; MBps: number; peakRssMB: number; dbBytes: number };
  latency?: { files: number; medianMs: number; maxMs: number };
  transfer?: {
    bytes: number;
    /** from the receiver first needing the file to having it */
    pullSeconds: number;
    MBps: number;
    /** from the file appearing in the sender's folder (its scan included) */
    endToEndSeconds: number;
    senderCpuSeconds: number;
    receiverCpuSeconds: number;
  };
  delta?: { fileBytes: number; sentBytes: number; receivedBytes: number; seconds: number };
  rename?: { fileBytes: number; sentBytes: number; receivedBytes: number; seconds: number };
  many?: { files: number; liveSeconds: number; receiverCpuSeconds: number; joinSeconds: number; joinFiles: number };
  /** VmHWM of each instance after all the parts that ran */
  peakRssMB?: { sender: number; receiver: number };
}
export type SyncthingResult = SyncthingFigures | { skipped: string };

export interface SyncthingOptions {
  parts: Set<SyncthingPart>;
  files: number;
  bigBytes: number;
  transferBytes: number;
  deltaBytes: number;
  renameBytes: number;
  smallFiles: number;
  latencyFiles: number;
  log: (s: string) => void;
  /** called as each part ends */
  report?: (part: SyncthingPart, figures: object) => void;
}

export interface Instance {
  name: string;
  home: string;
  folder: string;
  /** the GUI/REST port where the instance runs (its namespace, or this machine) */
  guiPort: number;
  /** where this process reaches the REST API: guiPort, or a forward into the instance's namespace */
  apiPort: number;
  listenHost: string;
  listenPort: number;
  apiKey: string;
  deviceId: string;
  proc: ChildProcess | null;
  log: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Where the instances of a cluster run, when not all on this machine's loopback (bench/wan.ts: one
 * on each end of an emulated long link).
 */
export interface SyncthingPlacement {
  /** spawns instance number `i` (in creation order) where it lives */
  spawn(i: number, cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** a local port that reaches 127.0.0.1:`port` where instance `i` lives */
  forward(i: number, port: number): Promise<number>;
  /** the address instance `i` listens on */
  host(i: number): string;
}

function configXml(self: Instance, all: Instance[], folderPaused: boolean, watcherDelayS: number, dial: Set<Instance> | null): string {
  const device = (
    d: Instance,
  ) => `    <device id="${d.deviceId}" name="${d.name}" compression="metadata" introducer="false" skipIntroductionRemovals="false" introducedBy="">
        <address>${dial && !dial.has(d) ? 'dynamic' : `tcp://${d.listenHost}:${d.listenPort}`}</address>
        <paused>false</paused>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>`;
  return `<configuration version="36">
    <folder id="bench" label="bench" path="${xml(self.folder)}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="${watcherDelayS}" ignorePerms="false" autoNormalize="true">
        <paused>${folderPaused}</paused>
${all.map((d) => `        <device id="${d.deviceId}" introducedBy=""></device>`).join('\n')}
    </folder>
${all.map(device).join('\n')}
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:${self.guiPort}</address>
        <apikey>${self.apiKey}</apikey>
        <theme>default</theme>
    </gui>
    <options>
        <listenAddress>tcp://${self.listenHost}:${self.listenPort}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <stunKeepaliveStartS>0</stunKeepaliveStartS>
        <stunKeepaliveMinS>0</stunKeepaliveMinS>
        <urAccepted>-1</urAccepted>
        <crashReportingEnabled>false</crashReportingEnabled>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <startBrowser>false</startBrowser>
        <announceLANAddresses>false</announceLANAddresses>
        <!-- Syncthing lowers its own priority by default (nice 11): on a loaded machine it then got
             a small share of the cores beside Peerfold's daemons at nice 0 -->
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
`;
}

export async function api<T>(inst: Instance, path: string, init: RequestInit = {}): Promise<T> {
  // a call that never answers (a forwarder into a namespace whose connection hangs) must fail, or
  // the waitUntil polling it never reaches its deadline and the whole bench hangs
  const res = await fetch(`http://127.0.0.1:${inst.apiPort}${path}`, {
    signal: AbortSignal.timeout(60_000),
    ...init,
    headers: { 'X-API-Key': inst.apiKey },
  });
  if (!res.ok) throw new Error(`syncthing ${inst.name} ${path}: HTTP ${res.status}`);
  const text = await res.text();
  return (text ? JSON.parse(text) : null) as T;
}

interface FolderStatus {
  state: string;
  needBytes: number;
  needFiles: number;
  localFiles: number;
  localBytes: number;
  globalFiles: number;
  globalBytes: number;
}

/**
 * The process that does the work: `syncthing serve` runs a monitor process that starts syncthing
 * again as its child (even with --no-restart); CPU and memory are the child's.
 */
export function pidOf(inst: Instance): number | undefined {
  const pid = inst.proc?.pid;
  if (!pid) return undefined;
  try {
    // Go forks from whichever thread runs: look at the children of every thread
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const child = Number(readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)[0]);
      if (child > 0) return child;
    }
  } catch {
    /* gone, or no /proc children lists */
  }
  return pid;
}

export const status = (inst: Instance) => api<FolderStatus>(inst, '/rest/db/status?folder=bench');

/** Bytes an instance has sent and received over all its connections. */
async function wireBytes(inst: Instance): Promise<{ in: number; out: number }> {
  const c = await api<{ total: { inBytesTotal: number; outBytesTotal: number } }>(inst, '/rest/system/connections');
  return { in: c.total.inBytesTotal, out: c.total.outBytesTotal };
}

export class SyncthingCluster {
  readonly insts: Instance[] = [];
  readonly env: NodeJS.ProcessEnv;

  /** `watcherDelayS`: the file watcher's delay (syncthing's default, 10 s, unless told) */
  constructor(
    readonly base: string,
    private readonly placement: SyncthingPlacement | null = null,
    private readonly watcherDelayS = 10,
  ) {
    this.env = { ...process.env, STNODEFAULTFOLDER: '1', STNOUPGRADE: '1', STNORESTART: '1', HOME: base };
  }

  /** Generates homes and keys; throws with syncthing's own words when it cannot. */
  async create(names: string[]): Promise<Instance[]> {
    const made: Instance[] = [];
    for (const name of names) {
      const home = join(this.base, `${name}-home`);
      const folder = join(this.base, `${name}-folder`);
      mkdirSync(join(folder, '.stfolder'), { recursive: true });
      const gen = spawnSync('syncthing', ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'], {
        encoding: 'utf8',
        env: this.env,
      });
      if (gen.status !== 0) throw new Error(`syncthing generate failed: ${gen.stderr || gen.stdout}`);
      const id = spawnSync('syncthing', ['serve', `--home=${home}`, '--device-id'], { encoding: 'utf8', env: this.env });
      const deviceId = id.stdout.trim();
      if (id.status !== 0 || !/^[A-Z0-9-]{50,}$/.test(deviceId))
        throw new Error(`cannot read the syncthing device ID: ${id.stderr || id.stdout}`);
      const where = this.placement;
      // inside a namespace of its own every port is free
      const guiPort = where ? 8384 : await freePort();
      const inst: Instance = {
        name,
        home,
        folder,
        guiPort,
        apiPort: guiPort,
        listenHost: where ? where.host(this.insts.length) : '127.0.0.1',
        listenPort: where ? 22000 : await freePort(),
        apiKey: randomBytes(16).toString('hex'),
        deviceId,
        proc: null,
        log: '',
      };
      this.insts.push(inst);
      made.push(inst);
    }
    return made;
  }

  /** `dial`: the peers this instance knows the address of (default: all of them). */
  configure(inst: Instance, peers: Instance[], folderPaused = false, dial?: Instance[]): void {
    writeFileSync(
      join(inst.home, 'config.xml'),
      configXml(inst, [inst, ...peers], folderPaused, this.watcherDelayS, dial ? new Set(dial) : null),
    );
  }

  async start(inst: Instance): Promise<void> {
    const args = ['serve', `--home=${inst.home}`, '--no-browser', '--no-restart', '--no-upgrade'];
    const i = this.insts.indexOf(inst);
    const proc = this.placement
      ? this.placement.spawn(i, 'syncthing', args, this.env)
      : spawn('syncthing', args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.placement) inst.apiPort = await this.placement.forward(i, inst.guiPort);
    inst.proc = proc;
    proc.stdout!.on('data', (d) => (inst.log = (inst.log + d).slice(-20_000)));
    proc.stderr!.on('data', (d) => (inst.log = (inst.log + d).slice(-20_000)));
    await waitUntil(
      `${inst.name} to answer`,
      async () => {
        if (proc.exitCode !== null) throw new Fatal(`syncthing exited: ${inst.log.slice(-2000)}`);
        return (await api<{ myID: string }>(inst, '/rest/system/status')).myID === inst.deviceId;
      },
      120_000,
      100,
    );
  }

  async connected(self: Instance, peer: Instance): Promise<void> {
    await waitUntil(
      `${self.name} to connect to ${peer.name}`,
      async () => {
        if (self.proc?.exitCode !== null) throw new Fatal(`syncthing exited: ${self.log.slice(-2000)}`);
        const c = await api<{ connections: Record<string, { connected: boolean }> }>(self, '/rest/system/connections');
        return c.connections[peer.deviceId]?.connected;
      },
      120_000,
      200,
    );
  }

  /** Waits until `to` holds `files` files (the folder's .stfolder marker is not counted), needs nothing and is idle, and so is `from`. */
  async synced(from: Instance, to: Instance, files: number, everyMs = 100, timeoutMs = 1_800_000): Promise<void> {
    await waitUntil(
      `${to.name} to hold ${files} files`,
      async () => {
        const [sa, sb] = [await status(from), await status(to)];
        return sa.state === 'idle' && sb.state === 'idle' && !sb.needFiles && sb.localFiles === files && sa.localFiles === files;
      },
      timeoutMs,
      everyMs,
    );
  }

  /** Graceful stop (SIGTERM: the database is flushed). */
  async stop(inst: Instance): Promise<void> {
    const p = inst.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  async close(): Promise<void> {
    for (const inst of this.insts) await this.stop(inst);
    await sleep(100);
    rmSync(this.base, { recursive: true, force: true });
  }
}

export async function benchSyncthing(opts: SyncthingOptions): Promise<SyncthingResult> {
  const v = spawnSync('syncthing', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return { skipped: 'syncthing is not installed (flock /tmp/apt.lock apt-get install -y syncthing)' };
  const out: SyncthingFigures = { version: v.stdout.trim().split(' ').slice(0, 2).join(' ') };
  const report = (part: SyncthingPart, r: object) => opts.report?.(part, r);
  if (opts.parts.has('scan')) {
    const c = new SyncthingCluster(mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), 'peerfold-bench-syncthing-')));
    try {
      report('scan', (out.scan = await scan(c, opts)));
    } finally {
      await c.close();
    }
  }
  const syncParts = (['latency', 'transfer', 'delta', 'rename', 'many'] as const).filter((p) => opts.parts.has(p));
  if (!syncParts.length) return out;
  const c = new SyncthingCluster(mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), 'peerfold-bench-syncthing-')));
  try {
    const [a, b, n] = (await c.create(['st-sender', 'st-receiver', 'st-newcomer'])) as [Instance, Instance, Instance];
    c.configure(a, [b, n]);
    c.configure(b, [a, n]);
    c.configure(n, [a, b]);
    await c.start(a);
    await c.start(b);
    opts.log('syncthing: two instances on loopback, waiting for them to connect');
    await c.connected(a, b);
    await c.connected(b, a);
    await c.synced(a, b, 0, 200, 120_000);
    for (const part of syncParts) {
      if (part === 'latency') report(part, (out.latency = await latency(a, b, opts)));
      if (part === 'transfer') report(part, (out.transfer = await transfer(c, a, b, opts)));
      if (part === 'delta') report(part, (out.delta = await delta(c, a, b, opts)));
      if (part === 'rename') report(part, (out.rename = await rename(c, a, b, opts)));
      if (part === 'many') report(part, (out.many = await many(c, a, b, n, opts)));
    }
    out.peakRssMB = { sender: peakRssOf(pidOf(a)) / 1e6, receiver: peakRssOf(pidOf(b)) / 1e6 };
    return out;
  } catch (err) {
    if (process.env.PEERFOLD_BENCH_LOGS) for (const inst of c.insts) console.error(`--- ${inst.name}\n${inst.log}`);
    throw err;
  } finally {
    await c.close();
  }
}

/** One instance scans the same kind of tree as Peerfold's scan part: from unpausing its folder until it is idle with every file. */
async function scan(c: SyncthingCluster, opts: SyncthingOptions): Promise<NonNullable<SyncthingFigures['scan']>> {
  const [s] = (await c.create(['st-scan'])) as [Instance];
  opts.log(`syncthing/scan: generating ${opts.files} files + ${opts.bigBytes / MiB} MiB`);
  const dataBytes = makeTree(s.folder, opts.files, opts.bigBytes);
  const files = opts.files + (opts.bigBytes > 0 ? 1 : 0);
  c.configure(s, [], true);
  await c.start(s);
  const t0 = now();
  await api(s, '/rest/config/folders/bench', { method: 'PATCH', body: JSON.stringify({ paused: false }) });
  await waitUntil(
    'syncthing to scan the folder',
    async () => {
      const st = await status(s);
      return st.state === 'idle' && st.localFiles >= files;
    },
    1_800_000,
    250,
  );
  const seconds = (now() - t0) / 1000;
  const peakRssMB = peakRssOf(pidOf(s)) / 1e6;
  await c.stop(s);
  const dbBytes = readdirSync(s.home)
    .filter((f) => f.startsWith('index-'))
    .reduce((n, f) => n + dirBytes(join(s.home, f)), 0);
  return { files, dataBytes, seconds, MBps: mb(dataBytes) / seconds, peakRssMB, dbBytes };
}

async function latency(a: Instance, b: Instance, opts: SyncthingOptions): Promise<NonNullable<SyncthingFigures['latency']>> {
  // each change waits out the watcher's 10 s delay: fewer samples than Peerfold's
  const files = Math.min(opts.latencyFiles, 5);
  opts.log(`syncthing/latency: writing ${files} small files one at a time`);
  mkdirSync(join(a.folder, 'latency'));
  const samples: number[] = [];
  for (let i = 0; i < files; i++) {
    const data = randomBytes(200 + i * 37);
    const rel = join('latency', `note-${i}.txt`);
    const t0 = now();
    writeFileSync(join(a.folder, rel), data);
    await waitUntil(
      `${rel} to arrive`,
      () => {
        try {
          return statSync(join(b.folder, rel)).size === data.length;
        } catch {
          return false;
        }
      },
      120_000,
      5,
    );
    samples.push(now() - t0);
    await sleep(300);
  }
  rmSync(join(a.folder, 'latency'), { recursive: true });
  await waitUntil('the latency files to be gone', () => !existsSync(join(b.folder, 'latency')), 120_000, 200);
  return { files, medianMs: median(samples), maxMs: Math.max(...samples) };
}

/** Times one big file from a to b, as Peerfold's timeBigFile does. */
async function timeBigFile(c: SyncthingCluster, a: Instance, b: Instance, name: string, bytes: number) {
  const staging = join(c.base, `staging-${name}`);
  writeRandomFile(staging, bytes);
  const cpu0 = [cpuSecondsOf(pidOf(a)), cpuSecondsOf(pidOf(b))];
  const t0 = now();
  renameSync(staging, join(a.folder, name));
  let tNeed = 0;
  await waitUntil(
    `${name} to arrive`,
    async () => {
      const s = await status(b);
      if (!tNeed && (s.needBytes > 0 || s.state === 'syncing')) tNeed = now();
      if (s.state !== 'idle' || s.needFiles > 0) return false;
      try {
        return statSync(join(b.folder, name)).size === bytes;
      } catch {
        return false;
      }
    },
    1_800_000,
    50,
  );
  const tDone = now();
  return {
    pullSeconds: (tDone - (tNeed || t0)) / 1000,
    endToEndSeconds: (tDone - t0) / 1000,
    senderCpuSeconds: cpuSecondsOf(pidOf(a)) - cpu0[0]!,
    receiverCpuSeconds: cpuSecondsOf(pidOf(b)) - cpu0[1]!,
  };
}

/** Deletes a file on a and waits until b has deleted it too and both are idle (versioning is off: no copy is kept). */
async function remove(a: Instance, b: Instance, name: string): Promise<void> {
  rmSync(join(a.folder, name));
  await waitUntil(
    `${name} to be deleted`,
    async () => !existsSync(join(b.folder, name)) && (await status(a)).state === 'idle' && (await status(b)).state === 'idle',
    600_000,
    100,
  );
}

async function transfer(c: SyncthingCluster, a: Instance, b: Instance, opts: SyncthingOptions) {
  opts.log(`syncthing/transfer: ${opts.transferBytes / MiB} MiB from one to the other`);
  const t = await timeBigFile(c, a, b, 'big-transfer.bin', opts.transferBytes);
  await remove(a, b, 'big-transfer.bin');
  return { bytes: opts.transferBytes, ...t, MBps: mb(opts.transferBytes) / t.pullSeconds };
}

/** Bytes a sent and b received while `change` runs and b then catches up (checked by `arrived`). */
async function bytesFor(a: Instance, b: Instance, change: () => void, arrived: () => boolean) {
  const [sa0, sb0] = [await wireBytes(a), await wireBytes(b)];
  const t0 = now();
  change();
  await waitUntil(
    'the change to arrive',
    async () => {
      const s = await status(b);
      return s.state === 'idle' && !s.needFiles && arrived();
    },
    600_000,
    50,
  );
  const seconds = (now() - t0) / 1000;
  const [sa1, sb1] = [await wireBytes(a), await wireBytes(b)];
  return { sentBytes: sa1.out - sa0.out, receivedBytes: sb1.in - sb0.in, seconds };
}

async function delta(c: SyncthingCluster, a: Instance, b: Instance, opts: SyncthingOptions) {
  opts.log(`syncthing/delta: a ${opts.deltaBytes / MiB} MiB file, then one byte inserted in its middle`);
  const name = 'big-delta.bin';
  await timeBigFile(c, a, b, name, opts.deltaBytes);
  const old = readFileSync(join(a.folder, name));
  const mid = old.length >> 1;
  const edited = Buffer.concat([old.subarray(0, mid), Buffer.from('!'), old.subarray(mid)]);
  const staging = join(c.base, 'staging-delta');
  writeFileSync(staging, edited);
  const r = await bytesFor(
    a,
    b,
    () => renameSync(staging, join(a.folder, name)),
    () => {
      try {
        return statSync(join(b.folder, name)).size === edited.length;
      } catch {
        return false;
      }
    },
  );
  if (!readFileSync(join(b.folder, name)).equals(edited)) throw new Error('syncthing: the edited file arrived with different content');
  await remove(a, b, name);
  return { fileBytes: edited.length, ...r };
}

async function rename(c: SyncthingCluster, a: Instance, b: Instance, opts: SyncthingOptions) {
  opts.log(`syncthing/rename: a ${opts.renameBytes / MiB} MiB file, then renamed`);
  const [name, renamed] = ['big-rename.bin', 'big-renamed.bin'];
  await timeBigFile(c, a, b, name, opts.renameBytes);
  const r = await bytesFor(
    a,
    b,
    () => renameSync(join(a.folder, name), join(a.folder, renamed)),
    () =>
      !existsSync(join(b.folder, name)) &&
      existsSync(join(b.folder, renamed)) &&
      statSync(join(b.folder, renamed)).size === opts.renameBytes,
  );
  await remove(a, b, renamed);
  return { fileBytes: opts.renameBytes, ...r };
}

async function many(c: SyncthingCluster, a: Instance, b: Instance, n: Instance, opts: SyncthingOptions) {
  opts.log(`syncthing/many: ${opts.smallFiles} small files written on one instance`);
  const before = (await status(a)).localFiles;
  const dirs = Math.ceil(opts.smallFiles / 100);
  const cpu0 = cpuSecondsOf(pidOf(b));
  const t0 = now();
  for (let i = 0; i < opts.smallFiles; i++) {
    const dir = join(a.folder, 'many', `dir${i % dirs}`);
    if (i < dirs) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file-${i}.txt`), randomBytes(100 + ((i * 7919) % (4 * KiB))));
  }
  const total = before + opts.smallFiles; // localFiles counts files only
  await c.synced(a, b, total, 500);
  const liveSeconds = (now() - t0) / 1000;
  const receiverCpuSeconds = cpuSecondsOf(pidOf(b)) - cpu0;

  opts.log('syncthing/many: a third instance starts and gets them all');
  const t1 = now();
  await c.start(n);
  await c.synced(a, n, total, 500);
  const joinSeconds = (now() - t1) / 1000;
  return { files: opts.smallFiles, liveSeconds, receiverCpuSeconds, joinSeconds, joinFiles: total };
}

export function printSyncthing(r: SyncthingResult): void {
  if ('skipped' in r) {
    console.log(`syncthing: skipped: ${r.skipped}`);
    return;
  }
  console.log(`syncthing (${r.version}), the same scenarios over loopback TCP+TLS`);
  if (r.scan)
    console.log(`  scan                   ${fmt(r.scan.MBps)} MB/s (${fmt(r.scan.seconds, 2)} s), peak RSS ${fmt(r.scan.peakRssMB)} MB`);
  if (r.latency)
    console.log(`  write -> arrival       median ${fmt(r.latency.medianMs, 0)} ms of ${r.latency.files} (max ${fmt(r.latency.maxMs, 0)})`);
  if (r.transfer)
    console.log(
      `  transfer               ${fmt(r.transfer.MBps)} MB/s (${fmt(r.transfer.pullSeconds, 2)} s from need to file in place; ${fmt(r.transfer.endToEndSeconds, 2)} s end to end); CPU sender ${fmt(r.transfer.senderCpuSeconds, 2)} s, receiver ${fmt(r.transfer.receiverCpuSeconds, 2)} s`,
    );
  if (r.delta)
    console.log(
      `  1-byte insert          ${fmt(r.delta.sentBytes / KiB)} KiB sent, ${fmt(r.delta.receivedBytes / KiB)} KiB received; ${fmt(r.delta.seconds, 2)} s`,
    );
  if (r.rename) console.log(`  rename                 ${fmt(r.rename.sentBytes / KiB)} KiB sent; ${fmt(r.rename.seconds, 2)} s`);
  if (r.many)
    console.log(
      `  ${r.many.files} small files    ${fmt(r.many.liveSeconds, 1)} s written live (receiver CPU ${fmt(r.many.receiverCpuSeconds, 2)} s); a new device ${fmt(r.many.joinSeconds, 1)} s`,
    );
  if (r.peakRssMB) console.log(`  peak RSS               sender ${fmt(r.peakRssMB.sender)} MB, receiver ${fmt(r.peakRssMB.receiver)} MB`);
}
