// A typed shell over udx-native (reliable, congestion-controlled streams over UDP; CommonJS, no
// types): one UDP socket per device that carries both raw datagrams (path probes, STUN) and udx
// streams. Everything udx-native calls back into is guarded: an exception there must not stop the
// daemon. See README.md, "Bulk streams over TCP and udx".
//
// udx streams are streamx streams, not node:stream ones; `duplexOf` wraps one so node:tls can run
// over it (handed over raw, the TLS server stalls after the ClientHello).

import UDX, { type UdxAddress, type UdxSocket, type UdxStream } from 'udx-native';
import { randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Duplex } from 'node:stream';
import { defaultNetLog, errorMessage, guard, type NetLog } from './log.ts';
import { trackResource, untrackResource, type NetResource } from './resources.ts';
import { decodeProbe, encodeProbe, type ProbeDatagram } from './udx-probe.ts';
import { bindingRequest, looksLikeStun, newTransactionId, parseBindingResponse, transactionIdOf, type MappedAddress } from './stun.ts';
import { lookup } from 'node:dns/promises';
import { isLoopback } from './path.ts';

export type { UdxAddress, UdxStream };

/** An address a peer may reach this device's udx socket at: "ip:port" ("[ip]:port" for IPv6). */
export type UdxCandidate = string;

export interface UdxEndpointOptions {
  /** Local address to bind. Default: env PEERFOLD_BIND_ADDRESS, else 0.0.0.0 (every IPv4 interface). */
  bindAddress?: string;
  /** 0 = any free port */
  port?: number;
  log?: NetLog;
  /** test fault: every datagram that arrives is dropped, as a firewall that blocks UDP would */
  dropIncoming?: boolean;
}

/** Kernel buffer asked for the socket, each way (the kernel caps it at net.core.rmem_max/wmem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Bytes of udx packets gathered before they are handed on in one piece (see duplexOf). */
const COALESCE_BYTES = 256 * 1024;

type DatagramHandler = (p: ProbeDatagram, from: UdxAddress) => void;

let shared: UDX | null = null;

/** The one udx instance of this process (its native loop is shared by every socket). */
function udx(): UDX {
  shared ??= new UDX();
  return shared;
}

export function formatCandidate(host: string, port: number): UdxCandidate {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "ip:port" to its parts; null for anything that is not a literal IP address and a valid port. */
export function parseCandidate(c: string): { host: string; port: number; family: 4 | 6 } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(c);
  if (!m) return null;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (!(port > 0 && port < 65536)) return null;
  if (m[2] !== undefined) return isIPv4(host) ? { host, port, family: 4 } : null;
  return isIPv6(host) ? { host, port, family: 6 } : null;
}

export class UdxEndpoint implements NetResource {
  private readonly log: NetLog;
  private readonly socket: UdxSocket;
  private readonly handlers = new Map<number, DatagramHandler>();
  private readonly streams = new Set<UdxStream>();
  /** STUN requests waiting for their response, by transaction id (hex) */
  private readonly stunWaits = new Map<string, (a: MappedAddress) => void>();
  private readonly dropIncoming: boolean;
  private closed = false;
  readonly host: string;
  readonly port: number;

  private constructor(opts: UdxEndpointOptions) {
    this.log = opts.log ?? defaultNetLog;
    this.dropIncoming = opts.dropIncoming ?? false;
    this.socket = udx().createSocket();
    const host = opts.bindAddress ?? (process.env.PEERFOLD_BIND_ADDRESS || '0.0.0.0');
    this.socket.bind(opts.port ?? 0, host);
    this.host = host;
    this.port = this.socket.address().port;
    // the socket is drained by the JS thread: while it is busy, arriving packets wait in the
    // kernel's buffer, and the default (~200 KiB) overflows within milliseconds at LAN rates
    try {
      this.socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      this.socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    } catch {
      // capped by net.core.rmem_max / wmem_max: what the kernel allows is what we get
    }
    this.socket.on(
      'message',
      guard(this.log, 'udx datagram', (msg: Buffer, from: UdxAddress) => this.datagram(msg, from)),
    );
    this.socket.on(
      'error',
      guard(this.log, 'udx socket error', (err: Error) => this.log('warn', `udx socket: ${err.message}`)),
    );
    trackResource(this);
  }

  /** Binds the device's udx socket. Throws when the address cannot be bound (the caller goes on without udx). */
  static open(opts: UdxEndpointOptions = {}): UdxEndpoint {
    return new UdxEndpoint(opts);
  }

  /**
   * Where a peer on a network this device is on can reach the socket: the bound address, or for a
   * wildcard bind every non-internal interface address of the same family (loopback only when
   * there is nothing else).
   */
  hostCandidates(): UdxCandidate[] {
    if (this.host !== '0.0.0.0' && this.host !== '::') return [formatCandidate(this.host, this.port)];
    const out: UdxCandidate[] = [];
    const internal: UdxCandidate[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.family !== 'IPv4' && this.host === '0.0.0.0') continue;
        if (a.family === 'IPv6' && a.scopeid) continue; // link-local needs a zone id: not an address to hand out
        (a.internal ? internal : out).push(formatCandidate(a.address, this.port));
      }
    }
    return out.length ? out : internal;
  }

  /** The address family of the socket: a candidate of the other family cannot be reached from it. */
  get family(): 4 | 6 {
    return isIPv6(this.host) ? 6 : 4;
  }

  /** Routes probe datagrams addressed to `streamId` to `handler` until the returned function is called. */
  listen(streamId: number, handler: DatagramHandler): () => void {
    this.handlers.set(streamId, handler);
    return () => {
      if (this.handlers.get(streamId) === handler) this.handlers.delete(streamId);
    };
  }

  /** A stream id no session of this socket uses (never 0: udxOffer's "no stream"). */
  freeStreamId(): number {
    for (;;) {
      const id = randomInt(1, 0xffffffff);
      if (!this.handlers.has(id)) return id;
    }
  }

  sendProbe(p: ProbeDatagram, host: string, port: number): void {
    if (this.closed) return;
    try {
      this.socket.trySend(encodeProbe(p), port, host);
    } catch (err) {
      this.log('debug', `udx: cannot send to ${formatCandidate(host, port)}: ${errorMessage(err)}`);
    }
  }

  /** A udx stream on this socket, connected to the peer's stream `remoteId` at host:port. */
  connectStream(localId: number, remoteId: number, host: string, port: number): UdxStream {
    if (this.closed) throw new Error('the udx socket is closed');
    const stream = udx().createStream(localId);
    this.streams.add(stream);
    stream.on(
      'close',
      guard(this.log, 'udx stream close', () => this.streams.delete(stream)),
    );
    stream.connect(this.socket, remoteId, port, host);
    return stream;
  }

  private datagram(msg: Buffer, from: UdxAddress): void {
    if (this.closed || this.dropIncoming) return;
    const p = decodeProbe(msg);
    if (p) {
      this.handlers.get(p.to)?.(p, from);
      return;
    }
    if (!looksLikeStun(msg)) return;
    const wait = this.stunWaits.get(transactionIdOf(msg));
    const mapped = wait && parseBindingResponse(msg);
    if (mapped) wait(mapped);
  }

  /**
   * The address a STUN server sees this socket at (behind a NAT: the NAT's public mapping), asked
   * from this very socket so the mapping is the one peers can punch through to. `server` is
   * "stun:HOST[:PORT]" (port 3478 by default). Null when it does not answer within `timeoutMs`.
   */
  async reflexiveAddress(server: string, timeoutMs = 2_000): Promise<MappedAddress | null> {
    const m = /^stun:(?:\[([^\]]+)\]|([^:/?]+))(?::(\d{1,5}))?$/.exec(server.trim());
    if (!m || this.closed) return null;
    const port = Number(m[3] ?? 3478);
    let host: string;
    try {
      host = (await lookup(m[1] ?? m[2]!, { family: this.family })).address;
    } catch {
      return null;
    }
    const tx = newTransactionId();
    const key = Buffer.from(tx).toString('hex');
    return new Promise<MappedAddress | null>((resolve) => {
      const done = (a: MappedAddress | null) => {
        clearInterval(again);
        clearTimeout(giveUp);
        this.stunWaits.delete(key);
        resolve(a);
      };
      this.stunWaits.set(key, done);
      const send = () => {
        if (this.closed) return done(null);
        try {
          this.socket.trySend(bindingRequest(tx), port, host);
        } catch {
          done(null);
        }
      };
      // UDP loses packets: the request goes again every 500 ms until answered
      const again = setInterval(guard(this.log, 'stun retransmit', send), 500);
      const giveUp = setTimeout(
        guard(this.log, 'stun timeout', () => done(null)),
        timeoutMs,
      );
      again.unref();
      giveUp.unref();
      send();
    });
  }

  private reflexive: { servers: string; at: number; found: Promise<UdxCandidate[]> } | null = null;

  /**
   * What to offer a peer: the host candidates, then the server-reflexive ones the STUN servers
   * report (asked at most once a minute; links coming up meanwhile share one lookup).
   */
  async candidates(stunServers: readonly string[], now = Date.now()): Promise<UdxCandidate[]> {
    const host = this.hostCandidates();
    // a socket bound to loopback cannot reach a STUN server on another machine: no lookup at all
    if (!stunServers.length || isLoopback(this.host)) return host;
    const key = stunServers.join(',');
    if (!this.reflexive || this.reflexive.servers !== key || now - this.reflexive.at > 60_000)
      this.reflexive = { servers: key, at: now, found: this.reflexiveCandidates(stunServers, 1_500) };
    return [...host, ...(await this.reflexive.found)];
  }

  /** Server-reflexive candidates from every STUN server that answers (none answer: none). */
  async reflexiveCandidates(servers: readonly string[], timeoutMs = 2_000): Promise<UdxCandidate[]> {
    const found = await Promise.all(servers.slice(0, 4).map((s) => this.reflexiveAddress(s, timeoutMs).catch(() => null)));
    const own = new Set(this.hostCandidates());
    const out: UdxCandidate[] = [];
    for (const a of found) {
      if (!a || a.family !== this.family) continue;
      const c = formatCandidate(a.host, a.port);
      if (!own.has(c) && !out.includes(c)) out.push(c);
    }
    return out;
  }

  shutdown(reason: string): void {
    void this.close(reason);
  }

  async close(reason = 'closed'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    untrackResource(this);
    this.handlers.clear();
    for (const s of this.streams) s.destroy(new Error(reason));
    this.streams.clear();
    try {
      await this.socket.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The device's udx socket as the engine wants it: off with PEERFOLD_UDX=0; bound to
 * PEERFOLD_BIND_ADDRESS when set; PEERFOLD_FAULT_UDX_BLOCK=1 (tests) drops every datagram that
 * arrives, as a firewall blocking UDP would. A socket that cannot be bound is logged, and the
 * device goes on without udx (blocks over the data channel).
 */
export function openUdxEndpoint(log: (message: string) => void): UdxEndpoint | null {
  if (process.env.PEERFOLD_UDX === '0') return null;
  try {
    return UdxEndpoint.open({
      dropIncoming: process.env.PEERFOLD_FAULT_UDX_BLOCK === '1',
      log: (level, m) => (level === 'warn' || level === 'error') && log(m),
    });
  } catch (err) {
    log(`udx: cannot open a UDP socket (${errorMessage(err)}); file data goes over the WebRTC data channel only`);
    return null;
  }
}

/**
 * A node:stream Duplex over a udx stream, with backpressure both ways: udx's 'data' is paused
 * while the Duplex's reader is full, and a write waits for udx's 'drain'. udx hands over each
 * packet (~1.4 KB) on its own; they are gathered and passed on once per turn of the event loop
 * (or every 256 KiB), so TLS decrypts large pieces instead of one call per packet.
 */
export function duplexOf(stream: UdxStream, log: NetLog = defaultNetLog): Duplex {
  let waitingDrain: (() => void) | null = null;
  const d = new Duplex({
    // node's default of 16 KiB would pause udx every few packets
    readableHighWaterMark: COALESCE_BYTES * 4,
    writableHighWaterMark: COALESCE_BYTES,
    read() {
      stream.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (stream.destroyed) return cb(new Error('the udx stream is closed'));
      if (stream.write(chunk)) return cb();
      waitingDrain = () => cb();
    },
    final(cb) {
      stream.end();
      cb();
    },
    destroy(err, cb) {
      stream.destroy();
      cb(err);
    },
  });
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  let scheduled = false;
  const handOn = () => {
    scheduled = false;
    if (!gathered.length || d.destroyed) return;
    const piece = gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    if (!d.push(piece)) stream.pause();
  };
  stream.on(
    'data',
    guard(log, 'udx stream data', (data: Buffer) => {
      gathered.push(data);
      gatheredBytes += data.length;
      if (gatheredBytes >= COALESCE_BYTES) handOn();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(guard(log, 'udx stream hand-on', handOn));
      }
    }),
  );
  stream.on(
    'drain',
    guard(log, 'udx stream drain', () => {
      const w = waitingDrain;
      waitingDrain = null;
      w?.();
    }),
  );
  stream.on(
    'end',
    guard(log, 'udx stream end', () => {
      handOn();
      d.push(null);
    }),
  );
  stream.on(
    'error',
    guard(log, 'udx stream error', (err: Error) => d.destroy(err)),
  );
  stream.on(
    'close',
    guard(log, 'udx stream closed', () => {
      const w = waitingDrain;
      waitingDrain = null;
      if (!d.destroyed) d.destroy(new Error('the udx stream closed'));
      w?.();
    }),
  );
  return d;
}
