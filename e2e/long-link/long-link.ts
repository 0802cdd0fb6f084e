// An emulated long link for tests and benchmarks: two network namespaces, each with one TUN
// device, joined by delay-line.c (the one-way delay, a rate limit with a drop-tail queue, random
// loss; see that file). Programs run inside a namespace through `side.command()` and reach each
// other at `side.address`; the caller, outside both, reaches a namespace's loopback ports through
// `side.forward(port)`. Needs root (namespaces, /dev/net/tun) and gcc (the delay line is compiled
// on first use into the temp folder). Everything is removed by close(), and also when the process
// exits or is interrupted; namespaces left by a process that was killed are removed by the next
// openLongLink().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface LinkShape {
  /** round trip: each direction is delayed by half of it */
  rttMs: number;
  rateMbit: number;
  /** random loss per packet, each direction: 0.01 = 1 % */
  loss?: number;
  /** the bottleneck's drop-tail queue; default: what the link sends in one RTT (at least 64 KiB) */
  queueBytes?: number;
  seed?: number;
  /** the largest TCP send/receive buffer inside both namespaces (net.ipv4.tcp_wmem/tcp_rmem max);
   *  default: the kernel's default for a new namespace (4 MiB send, 6 MiB receive) */
  tcpBufferBytes?: number;
}

export interface DirectionCounters {
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  /** dropped by the random loss */
  lost: number;
  /** dropped because the queue was full */
  queueDrops: number;
  ringDrops: number;
  writeErrors: number;
}
export interface LinkCounters {
  /** the delay line's monotonic clock, ms */
  atMs: number;
  aToB: DirectionCounters;
  bToA: DirectionCounters;
}

export interface LinkSide {
  readonly netns: string;
  /** this side's address on the link */
  readonly address: string;
  /** the other side's address */
  readonly peerAddress: string;
  /** `cmd args` run inside this namespace */
  command(cmd: string, args: string[]): { cmd: string; args: string[] };
  /** a port on the caller's 127.0.0.1 that leads to 127.0.0.1:`port` inside this namespace */
  forward(port: number): Promise<number>;
}

const ADDRESS = { a: '10.77.0.1', b: '10.77.0.2' } as const;
const DEVICE = 'wan0';
const PREFIX = 'pfl-';

/** Why a long link cannot be made here (the caller skips, saying so), or null when it can. */
export function longLinkUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the emulated long link needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the emulated long link needs root (network namespaces, /dev/net/tun)';
  if (spawnSync('ip', ['-V']).error) return 'the emulated long link needs iproute2 (`ip`)';
  if (!existsSync('/dev/net/tun')) return 'the emulated long link needs /dev/net/tun';
  const probe = `${PREFIX}${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `network namespaces are not allowed here: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

/** The delay line's binary, compiled from delay-line.c on first use (cached by the source's hash). */
export function delayLineBinary(): string {
  const src = join(here, 'delay-line.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'peerfold-delay-line');
  const bin = join(dir, `delay-line-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const part = `${bin}.${process.pid}.part`;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', part, src], { encoding: 'utf8' });
  if (r.error) throw new Error('gcc is needed to build the emulated long link (apt-get install -y gcc)');
  if (r.status !== 0) throw new Error(`compiling ${src} failed:\n${r.stderr}`);
  renameSync(part, bin); // atomic: concurrent first uses each compile, one wins
  return bin;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the namespaces of long links whose process is gone (killed before it could clean up). */
function removeStaleNamespaces(): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of r.stdout?.split('\n') ?? []) {
    const m = /^(pfl-(\d+)-\S+)/.exec(line);
    if (m && !isAlive(Number(m[2]))) spawnSync('ip', ['netns', 'del', m[1]]);
  }
}

/** Resolves with the child's first stdout line; rejects if it exits first. */
function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onData = (d: Buffer) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        resolve(out.slice(0, nl));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${err.trim()}`)));
    child.once('error', reject);
  });
}

const open = new Set<LongLink>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const l of open) l.closeSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const l of open) l.closeSync();
      // nobody else handles it: end as the signal would have
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

let counter = 0;

class Side implements LinkSide {
  readonly address: string;
  readonly peerAddress: string;
  private bridge: ChildProcess | null = null;
  private bridgeReady: Promise<string> | null = null;
  private readonly servers = new Map<number, Promise<{ server: Server; port: number }>>();

  constructor(
    readonly netns: string,
    readonly which: 'a' | 'b',
    private readonly socketDir: string,
  ) {
    this.address = ADDRESS[which];
    this.peerAddress = ADDRESS[which === 'a' ? 'b' : 'a'];
  }

  command(cmd: string, args: string[]) {
    return { cmd: 'ip', args: ['netns', 'exec', this.netns, cmd, ...args] };
  }

  private socketPath(): Promise<string> {
    if (!this.bridgeReady) {
      const path = join(this.socketDir, `${this.which}.sock`);
      const c = this.command(process.execPath, [join(here, 'ns-bridge.mjs'), path]);
      const child = spawn(c.cmd, c.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.bridge = child;
      this.bridgeReady = firstLine(child, `the bridge into ${this.netns}`).then(() => path);
    }
    return this.bridgeReady;
  }

  forward(port: number): Promise<number> {
    let s = this.servers.get(port);
    if (!s) {
      s = this.socketPath().then(
        (path) =>
          new Promise((resolve, reject) => {
            const server = createServer((client) => {
              const inner = createConnection(path, () => {
                inner.write(`${port}\n`);
                client.pipe(inner);
                inner.pipe(client);
              });
              inner.on('error', () => client.destroy());
              client.on('error', () => inner.destroy());
              inner.on('close', () => client.destroy());
              client.on('close', () => inner.destroy());
            });
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
          }),
      );
      this.servers.set(port, s);
    }
    return s.then((x) => x.port);
  }

  stop(): void {
    for (const s of this.servers.values()) void s.then((x) => x.server.close()).catch(() => undefined);
    this.servers.clear();
    this.bridge?.stdin?.end();
    this.bridge?.kill('SIGTERM');
    this.bridge = null;
  }
}

export class LongLink {
  readonly a: LinkSide;
  readonly b: LinkSide;
  private readonly sides: Side[];
  private closed = false;
  private readonly lines: ((line: string) => void)[] = [];

  private constructor(
    readonly shape: LinkShape,
    private readonly line: ChildProcess,
    private readonly names: string[],
    private readonly socketDir: string,
  ) {
    this.sides = [new Side(names[0], 'a', socketDir), new Side(names[1], 'b', socketDir)];
    [this.a, this.b] = this.sides;
    let buf = '';
    line.stdout!.on('data', (d: Buffer) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.shift()?.(l);
      }
    });
  }

  static async open(shape: LinkShape): Promise<LongLink> {
    const unavailable = longLinkUnavailable();
    if (unavailable) throw new Error(unavailable);
    const bin = delayLineBinary();
    removeStaleNamespaces();
    hookExit();
    const id = `${PREFIX}${process.pid}-${counter++}`;
    const names = [`${id}-a`, `${id}-b`];
    const socketDir = join(tmpdir(), id);
    mkdirSync(socketDir, { recursive: true });
    const made: string[] = [];
    let child: ChildProcess | null = null;
    try {
      for (const n of names) {
        ip(['netns', 'add', n]);
        made.push(n);
        ip(['-n', n, 'link', 'set', 'lo', 'up']);
        if (shape.tcpBufferBytes) {
          for (const key of ['net.ipv4.tcp_wmem', 'net.ipv4.tcp_rmem']) {
            const r = spawnSync('ip', ['netns', 'exec', n, 'sysctl', '-q', '-w', `${key}=4096 131072 ${shape.tcpBufferBytes}`]);
            if (r.status !== 0) throw new Error(`cannot set ${key} in ${n}: ${r.stderr}`);
          }
        }
      }
      const rateKbit = shape.rateMbit * 1000;
      const queueBytes = shape.queueBytes ?? Math.max(65536, Math.round((rateKbit * 125 * shape.rttMs) / 1000));
      const args = [
        ...['--a', `${names[0]}:${DEVICE}`, '--b', `${names[1]}:${DEVICE}`],
        ...['--delay-us', String(Math.round((shape.rttMs * 1000) / 2)), '--rate-kbit', String(rateKbit)],
        ...['--queue-bytes', String(queueBytes), '--loss', String(shape.loss ?? 0), '--seed', String(shape.seed ?? 1)],
      ];
      child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      await firstLine(child, 'the delay line');
      for (const [n, which] of [
        [names[0], 'a'],
        [names[1], 'b'],
      ] as const) {
        const [self, peer] = which === 'a' ? [ADDRESS.a, ADDRESS.b] : [ADDRESS.b, ADDRESS.a];
        ip(['-n', n, 'addr', 'add', self, 'peer', peer, 'dev', DEVICE]);
        // the default 1000 packets drops bursts silently, before the delay line sees them
        ip(['-n', n, 'link', 'set', DEVICE, 'mtu', '1500', 'txqueuelen', '10000', 'up']);
      }
      const link = new LongLink(shape, child, names, socketDir);
      open.add(link);
      return link;
    } catch (err) {
      child?.kill('SIGKILL');
      for (const n of made) spawnSync('ip', ['netns', 'del', n]);
      rmSync(socketDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The delay line's counters (both directions) at this moment. */
  counters(): Promise<LinkCounters> {
    if (this.closed) return Promise.reject(new Error('the long link is closed'));
    return new Promise((resolve) => {
      this.lines.push((l) => {
        const { ns, ...rest } = JSON.parse(l) as { ns: number; aToB: DirectionCounters; bToA: DirectionCounters };
        resolve({ atMs: ns / 1e6, ...rest });
      });
      this.line.kill('SIGUSR1');
    });
  }

  /** CPU time the delay line has used so far (user + system), in seconds. */
  cpuSeconds(): number {
    try {
      const fields = readFileSync(`/proc/${this.line.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const exited = this.line.exitCode === null ? new Promise((r) => this.line.once('exit', r)) : null;
    this.closeSync();
    await exited;
  }

  /** Everything, synchronously (also from an exit handler). */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    open.delete(this);
    for (const s of this.sides as Side[]) s.stop();
    this.line.stdin?.end();
    this.line.kill('SIGTERM');
    for (const n of this.names) spawnSync('ip', ['netns', 'del', n]);
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}

export const openLongLink = (shape: LinkShape) => LongLink.open(shape);
