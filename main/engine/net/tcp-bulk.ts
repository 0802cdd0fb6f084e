// Bulk streams over TCP: the fast path where the peer is directly reachable (the LAN, an address
// given by hand, any route without a relay). The same TLS 1.3 stream as over udx (bulk-tls.ts:
// both device certificates pinned, bound to the link by the offers' tokens); only the bytes under
// it differ. TCP is the kernel's job, so a 256 KiB message costs a few syscalls instead of ~180
// udx packet callbacks on the JS thread. See README.md, "Bulk streams over TCP and udx".
//
// The link's dialer connects to the port the other device offered; the listener learns which link
// a connection is for from the certificate it presented and the token it sends first (two links
// of one pair of devices live side by side for a moment when both dial at once), and binds it
// with that link's tokens. Anyone else who connects, a wrong certificate, bytes that are not
// TLS, or a peer too slow to finish, is cut without touching any link.

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { bindStream, type BulkStream, type StreamBinding } from './bulk-tls.ts';
import { errorMessage, guard, LogThrottle, type NetLog } from './log.ts';
import { trackResource, untrackResource, type NetResource } from './resources.ts';
import { normalizeFingerprint } from '../keys/device-id.ts';

/** A dial that has not connected by then gives up (a NAT or firewall swallowing the SYN). */
export const TCP_CONNECT_TIMEOUT_MS = Number(process.env.PEERFOLD_TCP_CONNECT_TIMEOUT_MS ?? 3_000);
/** TLS handshake and token swap, from the first byte: a slow or silent peer is cut then. */
export const TCP_BIND_TIMEOUT_MS = Number(process.env.PEERFOLD_TCP_BIND_TIMEOUT_MS ?? 10_000);
/** Connections the listener serves at once (handshaking or bound); more are refused. */
const MAX_CONNECTIONS = 64;
/**
 * Bytes a TCP stream takes into its buffers before send() waits: the kernel's socket buffer does
 * the pacing, this only keeps enough queued that it never runs dry between two event-loop turns.
 */
const TCP_HIGH_WATER = 4 * 1024 * 1024;

export interface TcpIdentity {
  certPem: string;
  keyPem: string;
}

/** A link waiting for its peer to connect. */
export interface TcpExpectation {
  /** what this device sent in its tcpOffer: the peer presents it first */
  token: Uint8Array;
  /** the binding, once the peer's offer is here (may wait for it); null: not any more */
  bind(): StreamBinding | null | Promise<StreamBinding | null>;
  /** a connection from the peer was bound to the link */
  accepted(stream: BulkStream): void;
}

export interface TcpListenerOptions {
  identity: TcpIdentity;
  /** Local address. Default: env PEERFOLD_BIND_ADDRESS, else 0.0.0.0. */
  bindAddress?: string;
  /** 0 = any free port */
  port?: number;
  bindTimeoutMs?: number;
  log: NetLog;
}

export class TcpBulkListener implements NetResource {
  private readonly expected = new Map<string, TcpExpectation[]>();
  private readonly sockets = new Set<net.Socket>();
  /**
   * The deadline of each connection not bound yet, by "address:port": node's handshakeTimeout is
   * an idle timeout, so a peer sending a byte now and then would hold a connection for ever.
   */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private readonly throttle: LogThrottle;
  private closed = false;

  private constructor(
    private readonly server: tls.Server,
    readonly host: string,
    readonly port: number,
    private readonly opts: TcpListenerOptions,
  ) {
    this.throttle = new LogThrottle(opts.log);
    trackResource(this);
  }

  static open(opts: TcpListenerOptions): Promise<TcpBulkListener> {
    const host = opts.bindAddress ?? (process.env.PEERFOLD_BIND_ADDRESS || '0.0.0.0');
    const timeout = opts.bindTimeoutMs ?? TCP_BIND_TIMEOUT_MS;
    const server = tls.createServer({
      cert: opts.identity.certPem,
      key: opts.identity.keyPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      // the certificate is checked against the link's, not against a CA (bulk-tls.ts)
      rejectUnauthorized: false,
      handshakeTimeout: timeout,
      noDelay: true,
    });
    server.maxConnections = MAX_CONNECTIONS;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        const l = new TcpBulkListener(server, host, (server.address() as net.AddressInfo).port, opts);
        l.wire(timeout);
        resolve(l);
      });
    });
  }

  /**
   * Connections from the device whose certificate is `fingerprint` that present `e.token` are
   * bound with `e` until the returned function is called.
   */
  expect(fingerprint: string, e: TcpExpectation): () => void {
    const fp = normalizeFingerprint(fingerprint);
    if (!fp || this.closed) return () => {};
    this.expected.set(fp, [...(this.expected.get(fp) ?? []), e]);
    return () => {
      const rest = (this.expected.get(fp) ?? []).filter((x) => x !== e);
      if (rest.length) this.expected.set(fp, rest);
      else this.expected.delete(fp);
    };
  }

  /**
   * Whether a connection from `host` is still in its handshake (connected, not bound yet): a link
   * waiting for its peer's connection does not dial the peer instead while one is on its way.
   */
  handshaking(host: string): boolean {
    for (const s of this.sockets) if (s.remoteAddress === host && this.deadlines.has(`${s.remoteAddress}:${s.remotePort}`)) return true;
    return false;
  }

  /** The expectation of the device of that certificate that sent that token. */
  private find(fingerprint: string, token: Buffer | undefined): TcpExpectation | null {
    if (!token) return null;
    for (const e of this.expected.get(fingerprint) ?? []) if (e.token.length === token.length && timingSafeEqual(e.token, token)) return e;
    return null;
  }

  shutdown(reason: string): void {
    void this.close(reason);
  }

  async close(_reason = 'closed'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    untrackResource(this);
    this.expected.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wire(timeout: number): void {
    const log = this.opts.log;
    const refused = (from: string | undefined, why: string) => {
      const key = from ?? 'unknown';
      this.throttle.note('debug', key, `tcp bulk: refused a connection from ${key}: ${why}`);
    };
    this.server.on(
      'connection',
      guard(log, 'tcp bulk connection', (raw: net.Socket) => {
        this.sockets.add(raw);
        const key = `${raw.remoteAddress}:${raw.remotePort}`;
        const deadline = setTimeout(() => {
          refused(raw.remoteAddress, `not bound within ${timeout} ms`);
          raw.destroy();
        }, timeout);
        deadline.unref();
        this.deadlines.set(key, deadline);
        raw.once('close', () => {
          this.sockets.delete(raw);
          clearTimeout(deadline);
          if (this.deadlines.get(key) === deadline) this.deadlines.delete(key);
        });
        // no error on a raw socket may go unhandled (a reset during the handshake)
        raw.on('error', () => undefined);
      }),
    );
    this.server.on(
      'tlsClientError',
      guard(log, 'tcp bulk tls error', (err: Error, sock: tls.TLSSocket) => refused(sock?.remoteAddress, err.message)),
    );
    this.server.on(
      'error',
      guard(log, 'tcp bulk listener error', (err: Error) => log('warn', `tcp bulk listener: ${err.message}`)),
    );
    this.server.on(
      'secureConnection',
      guard(log, 'tcp bulk secure connection', (sock: tls.TLSSocket) => {
        const from = sock.remoteAddress;
        let expectation: TcpExpectation | null = null;
        bindStream(sock, {
          role: 'server',
          over: 'TCP',
          secured: true,
          tokenOrder: 'second',
          timeoutMs: timeout,
          highWater: TCP_HIGH_WATER,
          log,
          bind: (peerFingerprint, peerToken) => {
            expectation = this.find(peerFingerprint, peerToken);
            return expectation ? expectation.bind() : null;
          },
        }).then(
          (stream) => {
            const key = `${sock.remoteAddress}:${sock.remotePort}`;
            clearTimeout(this.deadlines.get(key));
            this.deadlines.delete(key);
            // the expectation decides: its link may have closed meanwhile
            if (expectation) expectation.accepted(stream);
            else stream.close('no link wants it');
          },
          (err) => refused(from, errorMessage(err)),
        );
      }),
    );
  }
}

export interface DialOptions {
  identity: TcpIdentity;
  binding: StreamBinding;
  connectTimeoutMs?: number;
  bindTimeoutMs?: number;
  /** told how long the TCP connection took (SYN to SYN-ACK: one round trip of the path), in ms */
  connected?: (ms: number) => void;
  log: NetLog;
}

/** Connects to a peer's TCP bulk port and binds the stream to the link; rejects with why not. */
export function dialTcpBulk(host: string, port: number, opts: DialOptions): Promise<BulkStream> {
  const where = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise<net.Socket>((resolve, reject) => {
    const started = performance.now();
    const raw = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      raw.destroy();
      reject(new Error(`no TCP connection to ${where} within ${opts.connectTimeoutMs ?? TCP_CONNECT_TIMEOUT_MS} ms`));
    }, opts.connectTimeoutMs ?? TCP_CONNECT_TIMEOUT_MS);
    timer.unref();
    raw.once('connect', () => {
      clearTimeout(timer);
      opts.connected?.(performance.now() - started);
      resolve(raw);
    });
    raw.once('error', (err) => {
      clearTimeout(timer);
      raw.destroy();
      reject(new Error(`cannot connect to ${where} by TCP: ${err.message}`));
    });
  }).then((raw) => {
    raw.on('error', () => undefined); // reported through the TLS socket
    const sock = tls.connect({
      socket: raw,
      cert: opts.identity.certPem,
      key: opts.identity.keyPem,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    });
    sock.once('close', () => raw.destroy());
    return bindStream(sock, {
      role: 'client',
      over: 'TCP',
      timeoutMs: opts.bindTimeoutMs ?? TCP_BIND_TIMEOUT_MS,
      highWater: TCP_HIGH_WATER,
      log: opts.log,
      bind: () => opts.binding,
    });
  });
}

/** Fallback for the kernel's per-socket send buffer cap where /proc does not say (Linux's default). */
const DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024;

/**
 * The most a TCP socket here may buffer for sending (net.ipv4.tcp_wmem's maximum, this network
 * namespace's): what caps one stream's window, so what decides how many streams a long path needs.
 */
export function tcpSendBufferMax(): number {
  try {
    const max = Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
    return Number.isFinite(max) && max > 0 ? max : DEFAULT_SOCKET_BUFFER;
  } catch {
    return DEFAULT_SOCKET_BUFFER;
  }
}

/**
 * The device's TCP bulk listener as the engine wants it: off with PEERFOLD_TCP=0; bound to
 * PEERFOLD_BIND_ADDRESS when set. A port that cannot be bound is logged, and the device goes on
 * without TCP (udx or the data channel carry the blocks).
 */
export async function openTcpListener(identity: TcpIdentity, log: (message: string) => void): Promise<TcpBulkListener | null> {
  if (process.env.PEERFOLD_TCP === '0') return null;
  try {
    return await TcpBulkListener.open({
      identity,
      log: (level, m) => (level === 'warn' || level === 'error') && log(m),
    });
  } catch (err) {
    log(`tcp: cannot listen for bulk streams (${errorMessage(err)}); file data goes over udx or the WebRTC data channel`);
    return null;
  }
}
