// An emulated long link for tests and benchmarks: two network namespaces (an e2e/netns.ts
// Internet), each with one TUN device, joined by delay-line.c (the one-way delay, a rate limit
// with a drop-tail queue, random loss; see that file). Programs run inside a side's namespace
// through `link.net` (spawn, forward) and reach each other at `side.address`. Needs root
// (namespaces, /dev/net/tun) and gcc (the delay line is compiled on first use into the temp
// folder). close() removes everything; so do process exit, SIGINT and SIGTERM, and the next run
// after one that was killed (netns.ts).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Internet, netnsUnavailable, type Netns } from '../netns.ts';

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
  readonly ns: Netns;
  /** this side's address on the link */
  readonly address: string;
  /** the other side's address */
  readonly peerAddress: string;
}

const ADDRESS = { a: '10.77.0.1', b: '10.77.0.2' } as const;
const DEVICE = 'wan0';

/** Why a long link cannot be made here (the caller skips, saying so), or null when it can. */
export function longLinkUnavailable(): string | null {
  const reason = netnsUnavailable();
  if (reason) return reason;
  if (!existsSync('/dev/net/tun')) return 'the emulated long link needs /dev/net/tun';
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
  });
}

export class LongLink {
  readonly a: LinkSide;
  readonly b: LinkSide;
  private readonly waiting: ((line: string) => void)[] = [];

  private constructor(
    readonly shape: LinkShape,
    /** the namespaces: spawn programs in them, forward ports out of them */
    readonly net: Internet,
    nsA: Netns,
    nsB: Netns,
    private readonly line: ChildProcess,
  ) {
    this.a = { ns: nsA, address: ADDRESS.a, peerAddress: ADDRESS.b };
    this.b = { ns: nsB, address: ADDRESS.b, peerAddress: ADDRESS.a };
    let buf = '';
    line.stdout!.on('data', (d: Buffer) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.waiting.shift()?.(l);
      }
    });
  }

  static async open(shape: LinkShape): Promise<LongLink> {
    const unavailable = longLinkUnavailable();
    if (unavailable) throw new Error(unavailable);
    const bin = delayLineBinary();
    const net = new Internet();
    try {
      const nsA = net.namespace('wan_a');
      const nsB = net.namespace('wan_b');
      for (const ns of [nsA, nsB])
        if (shape.tcpBufferBytes)
          for (const key of ['net.ipv4.tcp_wmem', 'net.ipv4.tcp_rmem'])
            net.run(ns, 'sysctl', ['-q', '-w', `${key}=4096 131072 ${shape.tcpBufferBytes}`]);
      const rateKbit = shape.rateMbit * 1000;
      const queueBytes = shape.queueBytes ?? Math.max(65536, Math.round((rateKbit * 125 * shape.rttMs) / 1000));
      const args = [
        ...['--a', `${nsA.name}:${DEVICE}`, '--b', `${nsB.name}:${DEVICE}`],
        ...['--delay-us', String(Math.round((shape.rttMs * 1000) / 2)), '--rate-kbit', String(rateKbit)],
        ...['--queue-bytes', String(queueBytes), '--loss', String(shape.loss ?? 0), '--seed', String(shape.seed ?? 1)],
      ];
      // it makes each TUN device inside its namespace itself (setns), so where it starts does not
      // matter; started through the Internet, it is killed with the rest
      const line = net.spawn(nsA, bin, args);
      await firstLine(line, 'the delay line');
      for (const [ns, self, peer] of [
        [nsA, ADDRESS.a, ADDRESS.b],
        [nsB, ADDRESS.b, ADDRESS.a],
      ] as const) {
        net.ip(ns, ['addr', 'add', self, 'peer', peer, 'dev', DEVICE]);
        // the default 1000 packets drops bursts silently, before the delay line sees them
        net.ip(ns, ['link', 'set', DEVICE, 'mtu', '1500', 'txqueuelen', '10000', 'up']);
      }
      return new LongLink(shape, net, nsA, nsB, line);
    } catch (err) {
      await net.close();
      throw err;
    }
  }

  /** The delay line's counters (both directions) at this moment. */
  counters(): Promise<LinkCounters> {
    if (this.line.exitCode !== null || this.line.signalCode !== null) return Promise.reject(new Error('the delay line has stopped'));
    return new Promise((resolve) => {
      this.waiting.push((l) => {
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

  /** Stops everything running in the namespaces and removes them. */
  close(): Promise<void> {
    return this.net.close();
  }
}

export const openLongLink = (shape: LinkShape) => LongLink.open(shape);
