// Signaling over a small WebSocket listener on each device (`--listen PORT`): the dialer says
// hello with the discovery IDs it wants, the listener's engine decides whether it holds any, and
// then the two sides swap the SDP offer/answer and ICE candidates for a PeerLink (the dialer
// offers). Frames and limits: signaling-messages.ts. The socket closes once both links are open;
// the signaling socket never carries file data.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  HELLO_GRACE_MS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_UNUPGRADED_CONNECTIONS,
  UPGRADE_TIMEOUT_MS,
  admitConnection,
  admitSession,
} from './admission.ts';
import { LogThrottle, defaultNetLog, errorMessage, guard, type NetLog, type NetLogLevel } from './log.ts';
import { trackResource, untrackResource, type NetResource } from './resources.ts';
import {
  MAX_CANDIDATE_FRAMES,
  MAX_FRAME_BYTES,
  SIGNALING_PATH,
  SIGNALING_VERSION,
  encodeFrame,
  parseFrame,
  type HelloFrame,
  type SignalFrame,
  type SignalVia,
} from './signaling-messages.ts';
import { createLink, liveSctpBufferBytes, type LinkOptions, type LinkSignal, type LinkVia, type PeerLink } from './transport.ts';
import { sctpBufferBytes } from './sctp-buffer.ts';

export const DEFAULT_SIGNALING_PORT = 21120;
/** How long a dialer may take to say hello, and a listener to answer it. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Signaling sessions a listener runs at once; more are turned away until some finish. */
export const MAX_PENDING_SESSIONS = 32;

export interface LocalDevice {
  deviceId: string;
  deviceName: string;
}

/** A dialer's hello as the listener's engine sees it. */
export interface HelloInfo {
  connectionId: string;
  deviceId: string;
  deviceName: string;
  discoveryIds: string[];
  listenPort?: number;
  via?: SignalVia;
  /** IP address the signaling connection came from */
  remoteAddress: string;
}

/**
 * true: accept, holding every requested discovery ID; { discoveryIds }: accept, holding these;
 * false or a string: refuse (the string is the reason the dialer is told, e.g. "no shared share").
 */
export type AcceptDecision = boolean | string | { discoveryIds: string[] };

export interface ListenerOptions {
  /** TCP port; default 21120; 0 picks any free port (read it from listener.port). */
  port?: number;
  /** Address to listen on; default env PEERFOLD_BIND_ADDRESS, else every interface. */
  host?: string;
  device: LocalDevice | (() => LocalDevice);
  accept: (hello: HelloInfo) => AcceptDecision | Promise<AcceptDecision>;
  /** Options for the answering links (certificate, bind address, ...). */
  link: LinkOptions | (() => LinkOptions);
  /** Each link that opened (link.peer filled in). The engine owns it from here. */
  onLink: (link: PeerLink) => void;
  maxPendingSessions?: number;
  helloTimeoutMs?: number;
  /** admission limits (admission.ts); defaults there */
  maxConnectionsPerAddress?: number;
  upgradeTimeoutMs?: number;
  helloGraceMs?: number;
  /** Refusals and failed sessions are logged at 'warn', at most 20 lines per remote address a minute. */
  log?: NetLog;
}

export type DialErrorCode = 'unreachable' | 'refused' | 'protocol' | 'timeout' | 'connect-failed' | 'self';

/**
 * The link's SCTP buffers from the round trip signaling just measured, unless the caller fixed
 * them (sctp-buffer.ts). Signaling through a relay measures the relay's path, not the link's: the
 * size is then a guess in either direction, bounded the same way.
 */
function withSctpBuffer(opts: LinkOptions, rttMs: number | null): LinkOptions {
  if (opts.sctpBufferBytes !== undefined) return opts;
  // a fixed size for measurements (bench/README.md "WAN rows": 1048576 is the size before sizing)
  const fixed = Number(process.env.PEERFOLD_SCTP_BUFFER_BYTES);
  if (fixed > 0) return { ...opts, sctpBufferBytes: fixed };
  return { ...opts, sctpBufferBytes: sctpBufferBytes(rttMs, liveSctpBufferBytes()) };
}

export class DialError extends Error {
  constructor(
    readonly code: DialErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

export interface DialOptions {
  device: LocalDevice;
  /** discovery IDs (lowercase hex) of the shares to sync with this peer */
  discoveryIds: string[];
  /** our own signaling port, so the peer can dial back later */
  listenPort?: number;
  via?: LinkVia;
  link: LinkOptions;
  /** limit for the WebSocket connect plus the welcome; the link has its own connect timeout */
  helloTimeoutMs?: number;
  log?: NetLog;
}

function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function closeReason(text: string): string {
  // a WebSocket close reason is at most 123 bytes
  const b = Buffer.from(text, 'utf8');
  return b.length <= 120
    ? text
    : b
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD+$/, '');
}

function send(ws: WebSocket, frame: SignalFrame): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame));
}

function signalToFrame(s: LinkSignal): SignalFrame {
  if (s.type === 'candidate') return { t: 'candidate', candidate: s.candidate, mid: s.mid };
  return s.kind === 'offer' ? { t: 'offer', sdp: s.sdp } : { t: 'answer', sdp: s.sdp };
}

// ---------------------------------------------------------------------------------------------
// Listener

export class SignalingListener implements NetResource {
  private readonly sessions = new Set<ListenerSession>();
  private closing: Promise<void> | null = null;
  /** open TCP connections per remote address, from accept to close */
  private readonly perAddress = new Map<string, number>();
  /** TCP connections that have not become a WebSocket yet, and their deadline timers */
  private readonly unupgraded = new Map<Duplex, NodeJS.Timeout>();
  private readonly throttle: LogThrottle;

  constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
    readonly opts: ListenerOptions,
    readonly log: NetLog,
  ) {
    this.throttle = new LogThrottle(log);
  }

  get pendingSessions(): number {
    return this.sessions.size;
  }

  /** Logs something about one remote address, throttled per address. */
  note(level: NetLogLevel, from: string, message: string): void {
    this.throttle.note(level, from, `signaling from ${from}: ${message}`);
  }

  /** Stops listening and drops signaling still in progress (open links are left to their owner). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      for (const s of [...this.sessions]) s.abort('listener closed');
      for (const ws of this.wss.clients) ws.terminate();
      for (const [socket, timer] of this.unupgraded) {
        clearTimeout(timer);
        socket.destroy();
      }
      this.unupgraded.clear();
      this.wss.close();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    untrackResource(this);
    return this.closing;
  }

  shutdown(): Promise<void> {
    return this.close();
  }

  /** @internal A TCP connection: admitted (and given a deadline to become a WebSocket) or dropped. */
  tcpConnected(socket: Socket): void {
    const from = plainAddress(socket.remoteAddress);
    if (this.closing) {
      socket.destroy();
      return;
    }
    const admission = admitConnection({
      fromAddress: this.perAddress.get(from) ?? 0,
      maxPerAddress: this.opts.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
      unupgraded: this.unupgraded.size,
      maxUnupgraded: MAX_UNUPGRADED_CONNECTIONS,
    });
    if (!admission.ok) {
      this.note('warn', from, `turned away: ${admission.reason}`);
      socket.destroy();
      return;
    }
    this.perAddress.set(from, (this.perAddress.get(from) ?? 0) + 1);
    const timeout = this.opts.upgradeTimeoutMs ?? UPGRADE_TIMEOUT_MS;
    const timer = setTimeout(
      guard(this.log, 'signaling upgrade timer', () => {
        if (!this.unupgraded.has(socket)) return;
        this.note('warn', from, `no signaling request within ${timeout / 1000} s; dropped`);
        socket.destroy();
      }),
      timeout,
    );
    timer.unref();
    this.unupgraded.set(socket, timer);
    socket.once('close', () => {
      this.upgraded(socket);
      const n = (this.perAddress.get(from) ?? 1) - 1;
      if (n > 0) this.perAddress.set(from, n);
      else this.perAddress.delete(from);
    });
  }

  /** @internal The connection asked for the WebSocket upgrade: its deadline is over. */
  upgraded(socket: Duplex): void {
    const timer = this.unupgraded.get(socket);
    if (timer) clearTimeout(timer);
    this.unupgraded.delete(socket);
  }

  /** @internal */
  accepted(ws: WebSocket, req: IncomingMessage): void {
    const from = plainAddress(req.socket.remoteAddress);
    ws.on(
      'error',
      guard(this.log, 'signaling socket error', (err: Error) => {
        this.note('warn', from, `${err.message}; closing`);
      }),
    );
    if (this.closing) {
      ws.terminate();
      return;
    }
    const now = Date.now();
    const views = [...this.sessions].map((s) => ({ session: s, saidHello: s.saidHello, startedAt: s.startedAt }));
    const admission = admitSession(
      views,
      this.opts.maxPendingSessions ?? MAX_PENDING_SESSIONS,
      now,
      this.opts.helloGraceMs ?? HELLO_GRACE_MS,
    );
    if (!admission.ok) {
      this.note('warn', from, `turned away: ${admission.reason}`);
      ws.close(1013, 'busy, try again later');
      return;
    }
    admission.evict?.abort('evicted: no hello while another device waited');
    const session = new ListenerSession(this, ws, from, now, () => this.sessions.delete(session));
    this.sessions.add(session);
  }
}

class ListenerSession {
  private state: 'hello' | 'deciding' | 'signaling' | 'open' | 'done' = 'hello';
  private link: PeerLink | null = null;
  private candidates = 0;
  private timer: NodeJS.Timeout | null;
  private helloRttMs: number | null = null;

  constructor(
    private readonly listener: SignalingListener,
    private readonly ws: WebSocket,
    private readonly from: string,
    readonly startedAt: number,
    private readonly onDone: () => void,
  ) {
    const log = listener.log;
    this.timer = setTimeout(
      guard(log, 'signaling hello timer', () => this.fail('no hello in time')),
      listener.opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS,
    );
    this.timer.unref();
    ws.on(
      'message',
      guard(log, 'signaling message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary)),
    );
    ws.on(
      'close',
      guard(log, 'signaling close', () => this.onSocketClosed()),
    );
  }

  abort(reason: string): void {
    this.fail(reason);
  }

  /** past the hello: a real dialer, not an idle socket */
  get saidHello(): boolean {
    return this.state !== 'hello';
  }

  private get log(): NetLog {
    return this.listener.log;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'done') return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const parsed = parseFrame(isBinary ? bytes : bytes.toString('utf8'));
    if (!parsed.ok) {
      this.fail(`malformed frame: ${parsed.error}`);
      return;
    }
    const f = parsed.frame;
    switch (f.t) {
      case 'hello':
        if (this.state !== 'hello') return this.fail('second hello');
        // the dialer says hello as soon as our upgrade answer reaches it: about one round trip
        this.helloRttMs = Date.now() - this.startedAt;
        this.state = 'deciding';
        void this.decide(f);
        return;
      case 'offer':
        if (this.state !== 'signaling' || !this.link) return this.fail('offer before welcome');
        this.link.handleSignal({ type: 'description', kind: 'offer', sdp: f.sdp });
        return;
      case 'candidate':
        if ((this.state !== 'signaling' && this.state !== 'open') || !this.link) return this.fail('candidate before welcome');
        if (++this.candidates > MAX_CANDIDATE_FRAMES) return this.fail(`more than ${MAX_CANDIDATE_FRAMES} candidates`);
        this.link.handleSignal({ type: 'candidate', candidate: f.candidate, mid: f.mid });
        return;
      case 'connected':
        return; // the dialer closes the socket; nothing to do
      case 'error':
        this.listener.note('info', this.from, `peer gave up: ${f.reason}`);
        this.finish(`peer gave up: ${f.reason}`, false);
        return;
      default:
        this.fail(`unexpected ${f.t} frame`);
    }
  }

  private async decide(f: HelloFrame): Promise<void> {
    const opts = this.listener.opts;
    const me = typeof opts.device === 'function' ? opts.device() : opts.device;
    const hello: HelloInfo = {
      connectionId: f.id,
      deviceId: f.deviceId,
      deviceName: f.deviceName,
      discoveryIds: f.discoveryIds,
      remoteAddress: this.from,
    };
    if (f.listenPort !== undefined) hello.listenPort = f.listenPort;
    if (f.via !== undefined) hello.via = f.via;
    if (f.deviceId === me.deviceId) return this.refuse('that address is this device itself');
    let decision: AcceptDecision;
    try {
      decision = await opts.accept(hello);
    } catch (err) {
      this.log('error', `signaling accept callback threw: ${errorMessage(err)}`);
      return this.refuse('internal error');
    }
    if (this.state !== 'deciding') return; // the socket went away meanwhile
    if (decision === false) return this.refuse('refused');
    if (typeof decision === 'string') return this.refuse(decision);
    const wanted = new Set(f.discoveryIds);
    const shared = decision === true ? f.discoveryIds : decision.discoveryIds.filter((id) => wanted.has(id));
    if (shared.length === 0 && f.discoveryIds.length > 0) return this.refuse('no shared share');

    let link: PeerLink;
    try {
      const linkOpts = typeof opts.link === 'function' ? opts.link() : opts.link;
      link = createLink(
        'answerer',
        withSctpBuffer({ log: this.log, ...linkOpts }, this.helloRttMs),
        (s) => send(this.ws, signalToFrame(s)),
        f.id,
      );
    } catch (err) {
      this.log('error', `cannot create a link: ${errorMessage(err)}`);
      return this.refuse('internal error');
    }
    link.via = f.via ?? 'lan';
    link.peer = { deviceId: f.deviceId, deviceName: f.deviceName, discoveryIds: shared };
    if (f.listenPort !== undefined) link.peer.listenPort = f.listenPort;
    this.link = link;
    this.state = 'signaling';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    send(this.ws, {
      t: 'welcome',
      v: SIGNALING_VERSION,
      deviceId: me.deviceId,
      deviceName: me.deviceName,
      discoveryIds: shared,
      listenPort: this.listener.port,
    });

    link.onClose((reason) => {
      if (this.state === 'signaling') this.fail(reason);
    });
    link.whenOpen().then(
      () => {
        if (this.state !== 'signaling') return;
        this.state = 'open';
        send(this.ws, { t: 'connected' });
        // the dialer closes the socket once it is open too; don't wait forever if it doesn't
        this.timer = setTimeout(
          guard(this.log, 'signaling linger timer', () => this.finish('done', true)),
          HELLO_TIMEOUT_MS,
        );
        this.timer.unref();
        try {
          this.listener.opts.onLink(link);
        } catch (err) {
          this.log('error', `onLink handler threw: ${errorMessage(err)}`);
        }
      },
      () => {
        /* onClose above reports it */
      },
    );
  }

  private refuse(reason: string): void {
    this.listener.note('warn', this.from, `refused: ${reason}`);
    this.finish(reason, true);
  }

  private fail(reason: string): void {
    if (this.state === 'done') return;
    this.listener.note('warn', this.from, `${reason}; closing`);
    this.finish(reason, true);
  }

  /** Ends the session; a link that is not open yet dies with it. */
  private finish(reason: string, tellPeer: boolean): void {
    if (this.state === 'done') return;
    const wasOpen = this.state === 'open';
    this.state = 'done';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!wasOpen) this.link?.close(reason);
    try {
      if (tellPeer && !wasOpen) send(this.ws, { t: 'error', reason });
      this.ws.close(wasOpen ? 1000 : 1008, closeReason(wasOpen ? 'done' : reason));
    } catch {
      this.ws.terminate();
    }
    this.onDone();
  }

  private onSocketClosed(): void {
    if (this.state === 'done') return;
    if (this.state === 'open') this.finish('done', false);
    else this.finish('signaling socket closed before the connection was established', false);
  }
}

/** Starts the signaling listener. Rejects with an explanatory error when the port is taken. */
export function listenSignaling(opts: ListenerOptions): Promise<SignalingListener> {
  const log = opts.log ?? defaultNetLog;
  const port = opts.port ?? DEFAULT_SIGNALING_PORT;
  const host = opts.host ?? (process.env.PEERFOLD_BIND_ADDRESS || undefined);
  return new Promise((resolve, reject) => {
    // our own HTTP server (not ws's), so that TCP connections are seen and bounded before any upgrade
    const server = createServer(
      guard(log, 'signaling request', (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
        res.end('this is a Peerfold signaling listener: WebSocket only\n');
      }),
    );
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
    let listener: SignalingListener | null = null;
    server.on(
      'connection',
      guard(log, 'signaling connection', (socket: Socket) => {
        if (listener) listener.tcpConnected(socket);
        else socket.destroy();
      }),
    );
    server.on(
      'upgrade',
      guard(log, 'signaling upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        listener?.upgraded(socket);
        socket.on('error', () => socket.destroy());
        if (!listener || new URL(req.url ?? '/', 'http://x').pathname !== SIGNALING_PATH) {
          socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
          return;
        }
        const l = listener;
        wss.handleUpgrade(
          req,
          socket,
          head,
          guard(log, 'signaling session', (ws: WebSocket) => l.accepted(ws, req)),
        );
      }),
    );
    server.on(
      'error',
      guard(log, 'signaling server error', (err: NodeJS.ErrnoException) => {
        if (!listener) {
          server.close();
          const where = `${host ?? '*'}:${port}`;
          reject(
            err.code === 'EADDRINUSE'
              ? new Error(
                  `signaling port ${where} is already in use (another Peerfold running?); choose another with --listen PORT, or --listen 0 for any free port`,
                )
              : new Error(`cannot listen for signaling on ${where}: ${err.message}`),
          );
          return;
        }
        log('error', `signaling listener: ${err.message}`);
      }),
    );
    server.listen(
      port,
      host,
      guard(log, 'signaling listening', () => {
        const actual = (server.address() as AddressInfo).port;
        listener = new SignalingListener(server, wss, actual, opts, log);
        trackResource(listener);
        resolve(listener);
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Dialer

function describeConnectError(host: string, port: number, err: NodeJS.ErrnoException): DialError {
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new DialError('unreachable', `cannot reach ${where}: connection refused (is Peerfold running there, listening on that port?)`);
    case 'ETIMEDOUT':
      return new DialError('timeout', `cannot reach ${where}: timed out (wrong address, or a firewall in the way?)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new DialError('unreachable', `cannot reach ${where}: no route to that host`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DialError('unreachable', `cannot resolve host name ${host}`);
    default:
      return new DialError('unreachable', `cannot reach ${where}: ${err.message}`);
  }
}

/**
 * Dials a device's signaling listener and builds a PeerLink to it (this side offers). Resolves
 * once both data channels are open (link.peer says who answered); rejects with a DialError.
 */
export function dial(host: string, port: number, opts: DialOptions): Promise<PeerLink> {
  const log = opts.log ?? defaultNetLog;
  const where = `${host}:${port}`;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const helloTimeout = opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
  const connectionId = randomBytes(8).toString('hex');

  return new Promise<PeerLink>((resolve, reject) => {
    let done = false;
    let link: PeerLink | null = null;
    let helloSentAt = Date.now();
    let localOpen = false;
    let remoteConnected = false;
    let candidates = 0;
    let ws: WebSocket;
    let timer: NodeJS.Timeout | null = null;

    // a pending dial is a resource too: shutdownNet() must be able to stop it
    const resource: NetResource = { shutdown: (reason) => fail(new DialError('connect-failed', `dial to ${where} aborted: ${reason}`)) };
    trackResource(resource);

    const fail = (err: DialError): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      untrackResource(resource);
      link?.close(err.message);
      try {
        if (ws.readyState === WebSocket.OPEN) {
          send(ws, { t: 'error', reason: err.message });
          ws.close(1008, closeReason(err.message));
        } else {
          ws.terminate();
        }
      } catch {
        // nothing left to close
      }
      reject(err);
    };
    const maybeDone = (): void => {
      if (done || !localOpen || !remoteConnected || !link) return;
      done = true;
      if (timer) clearTimeout(timer);
      untrackResource(resource);
      try {
        ws.close(1000, 'done');
      } catch {
        ws.terminate();
      }
      resolve(link);
    };

    try {
      ws = new WebSocket(`ws://${urlHost}:${port}${SIGNALING_PATH}`, {
        handshakeTimeout: helloTimeout,
        maxPayload: MAX_FRAME_BYTES,
        perMessageDeflate: false,
      });
    } catch (err) {
      untrackResource(resource);
      reject(new DialError('unreachable', `cannot dial ${where}: ${errorMessage(err)}`));
      return;
    }
    timer = setTimeout(
      guard(log, 'dial hello timer', () =>
        fail(new DialError('timeout', `no answer from ${where} within ${Math.round(helloTimeout / 1000)} s`)),
      ),
      helloTimeout,
    );
    timer.unref();

    ws.on(
      'error',
      guard(log, 'dial socket error', (err: NodeJS.ErrnoException) => {
        if (err.message.includes('Opening handshake has timed out')) fail(new DialError('timeout', `cannot reach ${where}: timed out`));
        else if (/Unexpected server response: (\d+)/.test(err.message)) {
          fail(new DialError('protocol', `${where} is not a Peerfold signaling listener (${err.message})`));
        } else if (link === null) fail(describeConnectError(host, port, err));
        else fail(new DialError('connect-failed', `signaling with ${where} failed: ${err.message}`));
      }),
    );
    ws.on(
      'open',
      guard(log, 'dial open', () => {
        const hello: HelloFrame = {
          t: 'hello',
          v: SIGNALING_VERSION,
          id: connectionId,
          deviceId: opts.device.deviceId,
          deviceName: opts.device.deviceName,
          discoveryIds: opts.discoveryIds,
        };
        if (opts.listenPort !== undefined) hello.listenPort = opts.listenPort;
        if (opts.via !== undefined) hello.via = opts.via;
        helloSentAt = Date.now();
        send(ws, hello);
      }),
    );
    ws.on(
      'close',
      guard(log, 'dial close', (code: number, reason: Buffer) => {
        if (done) return;
        const why = reason.toString('utf8');
        fail(
          new DialError(
            'connect-failed',
            `${where} closed signaling before the connection was established` + (why ? `: ${why}` : ` (code ${code})`),
          ),
        );
      }),
    );
    ws.on(
      'message',
      guard(log, 'dial message', (data: RawData, isBinary: boolean) => {
        if (done) return;
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        const parsed = parseFrame(isBinary ? bytes : bytes.toString('utf8'));
        if (!parsed.ok) {
          log('warn', `signaling with ${where}: malformed frame: ${parsed.error}; closing`);
          fail(new DialError('protocol', `${where} sent a malformed signaling frame: ${parsed.error}`));
          return;
        }
        const f = parsed.frame;
        switch (f.t) {
          case 'welcome': {
            if (link) return fail(new DialError('protocol', `${where} sent a second welcome`));
            if (f.deviceId === opts.device.deviceId) return fail(new DialError('self', `${where} is this device itself`));
            const asked = new Set(opts.discoveryIds);
            const shared = f.discoveryIds.filter((id) => asked.has(id));
            if (timer) clearTimeout(timer);
            timer = null;
            try {
              link = createLink(
                'offerer',
                withSctpBuffer({ log, ...opts.link }, Date.now() - helloSentAt),
                (s) => send(ws, signalToFrame(s)),
                connectionId,
              );
            } catch (err) {
              return fail(new DialError('connect-failed', `cannot create a link: ${errorMessage(err)}`));
            }
            link.via = opts.via ?? 'manual';
            link.peer = { deviceId: f.deviceId, deviceName: f.deviceName, discoveryIds: shared };
            if (f.listenPort !== undefined) link.peer.listenPort = f.listenPort;
            const l = link;
            l.onClose((reason) =>
              fail(new DialError(/within \d+ s/.test(reason) ? 'timeout' : 'connect-failed', `connection to ${where} failed: ${reason}`)),
            );
            l.whenOpen().then(
              () => {
                if (done) return;
                localOpen = true;
                send(ws, { t: 'connected' });
                maybeDone();
              },
              () => {
                /* onClose reports it */
              },
            );
            return;
          }
          case 'answer':
            if (!link) return fail(new DialError('protocol', `${where} sent an answer before its welcome`));
            link.handleSignal({ type: 'description', kind: 'answer', sdp: f.sdp });
            return;
          case 'candidate':
            if (!link) return fail(new DialError('protocol', `${where} sent a candidate before its welcome`));
            if (++candidates > MAX_CANDIDATE_FRAMES)
              return fail(new DialError('protocol', `${where} sent more than ${MAX_CANDIDATE_FRAMES} candidates`));
            link.handleSignal({ type: 'candidate', candidate: f.candidate, mid: f.mid });
            return;
          case 'connected':
            remoteConnected = true;
            maybeDone();
            return;
          case 'error':
            return fail(new DialError(link ? 'connect-failed' : 'refused', `${where} refused: ${f.reason}`));
          default:
            return fail(new DialError('protocol', `${where} sent an unexpected ${f.t} frame`));
        }
      }),
    );
  });
}
