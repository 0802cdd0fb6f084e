// Raw node-datachannel throughput on loopback: two PeerConnections, one reliable ordered data
// channel, ~1 GiB of binary messages with bufferedAmount flow control (the same marks PeerLink
// uses). This is the ceiling Peerfold's own transfers are compared against.
//
// By default sender and receiver run in two processes, like two daemons (libdatachannel does its
// SCTP work on a per-process thread, so one process holding both ends measures less).
//
//   node --import tsx bench/raw-datachannel.ts [--bytes N] [--sizes 65536,262144] [--same-process]
//
// Prints one JSON line: { bench, bytes, processes, results: [{ messageBytes, seconds, MBps }], MBps }
// where MB = 1,000,000 bytes and the top-level MBps is the best of the message sizes.

import nodeDataChannel from 'node-datachannel';
import type { DataChannel, PeerConnection } from 'node-datachannel';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const BIND = process.env.PEERFOLD_BIND_ADDRESS || '127.0.0.1';

type Signal = { kind: 'description'; sdp: string; type: string } | { kind: 'candidate'; candidate: string; mid: string };
type Wire = { sig: Signal } | { ready: true } | { done: true; bytes: number } | { go: { bytes: number; messageBytes: number } };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Every end ever made stays referenced until cleanup(): node-datachannel keeps raw pointers to
 *  its wrappers, and one collected before its channel reported closed crashes cleanup(). */
const keep: End[] = [];

/** One end of the connection. Native callbacks never throw (an exception there aborts node). */
class End {
  readonly pc: PeerConnection;
  dc: DataChannel | null = null;
  private haveRemote = false;
  private readonly pending: { candidate: string; mid: string }[] = [];
  /** the offerer sends its candidates only once it has the answer (see PeerLink for why) */
  private readonly held: Signal[] = [];

  constructor(
    readonly role: 'offerer' | 'answerer',
    private readonly send: (s: Signal) => void,
    private readonly onChannel: (dc: DataChannel) => void,
  ) {
    this.pc = new nodeDataChannel.PeerConnection(`bench-${role}`, { iceServers: [], bindAddress: BIND, maxMessageSize: 262144 });
    this.pc.onLocalDescription((sdp, type) => {
      try {
        this.send({ kind: 'description', sdp, type });
      } catch (e) {
        console.error(e);
      }
    });
    this.pc.onLocalCandidate((candidate, mid) => {
      try {
        if (this.role === 'offerer' && !this.haveRemote) this.held.push({ kind: 'candidate', candidate, mid });
        else this.send({ kind: 'candidate', candidate, mid });
      } catch (e) {
        console.error(e);
      }
    });
    if (role === 'offerer') this.makeChannel();
    keep.push(this);
  }

  private makeChannel(): void {
    this.dc = this.pc.createDataChannel('data', { negotiated: true, id: 1 });
    this.onChannel(this.dc);
  }

  signal(s: Signal): void {
    try {
      if (s.kind === 'description') {
        this.pc.setRemoteDescription(s.sdp, s.type as 'offer' | 'answer');
        this.haveRemote = true;
        if (this.role === 'answerer') this.makeChannel();
        for (const c of this.pending.splice(0)) this.pc.addRemoteCandidate(c.candidate, c.mid);
        for (const c of this.held.splice(0)) this.send(c);
      } else if (this.haveRemote) {
        this.pc.addRemoteCandidate(s.candidate, s.mid);
      } else {
        this.pending.push(s);
      }
    } catch (e) {
      console.error('bench signal failed:', e);
    }
  }

  close(): void {
    try {
      this.dc?.close();
    } catch {
      /* closed */
    }
    try {
      this.pc.close();
    } catch {
      /* closed */
    }
  }
}

/** Sends `bytes` in `messageBytes` messages as fast as flow control allows. */
function blast(dc: DataChannel, bytes: number, messageBytes: number): void {
  const msg = new Uint8Array(messageBytes);
  let sent = 0;
  const pump = () => {
    try {
      while (sent < bytes && dc.bufferedAmount() < HIGH_WATER) {
        const n = Math.min(messageBytes, bytes - sent);
        dc.sendMessageBinary(n === messageBytes ? msg : msg.subarray(0, n));
        sent += n;
      }
    } catch (e) {
      console.error('bench send failed:', e);
    }
  };
  dc.setBufferedAmountLowThreshold(LOW_WATER);
  dc.onBufferedAmountLow(pump);
  pump();
}

function counter(dc: DataChannel, bytes: number, done: () => void): void {
  let got = 0;
  dc.onMessage((m) => {
    try {
      got += typeof m === 'string' ? Buffer.byteLength(m) : (m as ArrayBuffer).byteLength;
      if (got === bytes) done();
    } catch (e) {
      console.error(e);
    }
  });
}

// ---- two processes: the parent sends, a forked child receives ----

async function receiverChild(): Promise<void> {
  const send = (w: Wire) => process.send!(w);
  let end: End | null = null;
  let total = 0;
  let channel: DataChannel | null = null;
  const arm = () => {
    if (channel && total) counter(channel, total, () => send({ done: true, bytes: total }));
  };
  process.on('message', (w: Wire) => {
    if ('go' in w) {
      total = w.go.bytes;
      end = new End(
        'answerer',
        (sig) => send({ sig }),
        (dc) => {
          channel = dc;
          arm();
        },
      );
      send({ ready: true });
    } else if ('sig' in w) {
      end?.signal(w.sig);
    }
  });
  process.on('disconnect', () => {
    end?.close();
    nodeDataChannel.cleanup();
  });
}

async function runTwoProcesses(bytes: number, messageBytes: number): Promise<number> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--receiver'], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const send = (w: Wire) => child.send(w);
  try {
    return await new Promise<number>((resolve, reject) => {
      let end: End | null = null;
      let started = 0;
      child.on('exit', (code) => reject(new Error(`receiver exited early (${code})`)));
      child.on('message', (w: Wire) => {
        if ('ready' in w) {
          end = new End(
            'offerer',
            (sig) => send({ sig }),
            (dc) => {
              dc.onOpen(() => {
                started = performance.now();
                blast(dc, bytes, messageBytes);
              });
            },
          );
        } else if ('sig' in w) {
          end?.signal(w.sig);
        } else if ('done' in w) {
          const seconds = (performance.now() - started) / 1000;
          end?.close();
          resolve(seconds);
        }
      });
      send({ go: { bytes, messageBytes } });
    });
  } finally {
    child.removeAllListeners('exit');
    child.disconnect();
    // the child exits once it has cleaned up; never let a stuck one hang the benchmark
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(killer);
  }
}

// ---- one process holding both ends ----

function runSameProcess(bytes: number, messageBytes: number): Promise<number> {
  return new Promise((resolve) => {
    let a: End | null = null;
    let started = 0;
    const b: End = new End(
      'answerer',
      (sig) => setImmediate(() => a!.signal(sig)),
      (dc) => {
        counter(dc, bytes, () => {
          const seconds = (performance.now() - started) / 1000;
          a!.close();
          b.close();
          resolve(seconds);
        });
      },
    );
    a = new End(
      'offerer',
      (sig) => setImmediate(() => b.signal(sig)),
      (dc) => {
        dc.onOpen(() => {
          started = performance.now();
          blast(dc, bytes, messageBytes);
        });
      },
    );
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--receiver')) return receiverChild();
  const bytes = Number(arg('--bytes') ?? 1024 * 1024 * 1024);
  const sizes = (arg('--sizes') ?? '65536,262144').split(',').map(Number);
  const same = process.argv.includes('--same-process');
  for (const s of sizes) if (!(s > 0 && s <= 262144)) throw new Error(`message size ${s} must be 1..262144`);
  const results: { messageBytes: number; seconds: number; MBps: number }[] = [];
  for (const messageBytes of sizes) {
    const seconds = same ? await runSameProcess(bytes, messageBytes) : await runTwoProcesses(bytes, messageBytes);
    results.push({ messageBytes, seconds: +seconds.toFixed(3), MBps: +(bytes / 1e6 / seconds).toFixed(1) });
  }
  console.log(
    JSON.stringify({
      bench: 'raw-datachannel',
      bytes,
      processes: same ? 1 : 2,
      highWater: HIGH_WATER,
      lowWater: LOW_WATER,
      results,
      MBps: Math.max(...results.map((r) => r.MBps)),
    }),
  );
  nodeDataChannel.cleanup();
}

main().catch((err) => {
  console.error(err);
  nodeDataChannel.cleanup();
  process.exitCode = 1;
});
