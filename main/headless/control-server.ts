// The daemon's one HTTP server, on 127.0.0.1 only: the API contract over a WebSocket at /api, and
// the built renderer as static files. Everything needs the token (see auth.ts); a request without
// it gets the login page and nothing else.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ApiEvents, EventName, Method, Params, ReplyFrame, Result } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { eventNames, validateParams } from '../../shared/validate.ts';
import { isAuthorized, originAllowed, sessionCookie, tokenMatches } from './auth.ts';
import { lookupStatic } from './static-files.ts';
import { loginPage, placeholderPage } from './pages.ts';

export const DEFAULT_UI_PORT = 21121;
export const HOST = '127.0.0.1';
/** Largest WebSocket message accepted (an ignore file of 1 Mi characters, JSON-escaped, fits). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** A client that lets this much pile up unread stops receiving events (replies still go out). */
const EVENT_BACKLOG_LIMIT = 16 * 1024 * 1024;
const PING_INTERVAL_MS = 30_000;

/** What the server needs from the engine: the contract's call and on. The Engine satisfies it. */
export interface ApiHandler {
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void;
}

export interface ControlServerOptions {
  handler: ApiHandler;
  token: string;
  /** DEFAULT_UI_PORT when omitted; 0 picks any free port */
  port?: number;
  /** the built renderer (dist/renderer); when it holds no index.html, a placeholder page is served */
  rendererDir?: string | null;
}

export interface ControlServer {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** the address that signs a browser in: http://127.0.0.1:PORT/?token=… */
  readonly loginUrl: string;
  clientCount(): number;
  close(): Promise<void>;
}

const baseHeaders = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the login form's POST
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function csp(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function hostOf(req: IncomingMessage, port: number): string {
  const h = req.headers.host;
  // only used inside our own CSP header; fall back rather than echo something odd
  return h && /^[A-Za-z0-9.\-:[\]]+$/.test(h) ? h : `${HOST}:${port}`;
}

function sendHtml(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  html: string,
  port: number,
  extra: Record<string, string> = {},
): void {
  const body = Buffer.from(html);
  res.writeHead(status, {
    ...baseHeaders,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    'Content-Security-Policy': csp(hostOf(req, port)),
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(text + '\n');
  res.writeHead(status, {
    ...baseHeaders,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(body);
}

function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        resolve(null);
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = reason + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Parses one incoming frame; an unreadable one still gets a reply, with id -1 if it had none. */
function parseCall(data: RawData, isBinary: boolean): { id: number; method?: string; params?: unknown; error?: string } {
  if (isBinary) return { id: -1, error: 'frames must be JSON text' };
  let frame: unknown;
  try {
    frame = JSON.parse(data.toString());
  } catch {
    return { id: -1, error: 'frame is not valid JSON' };
  }
  if (!frame || typeof frame !== 'object' || Array.isArray(frame)) return { id: -1, error: 'a frame must be a JSON object' };
  const f = frame as Record<string, unknown>;
  if (typeof f.id !== 'number' || !Number.isSafeInteger(f.id)) return { id: -1, error: 'a call frame needs an integer "id"' };
  if (typeof f.method !== 'string') return { id: f.id, error: 'a call frame needs a "method" string' };
  return { id: f.id, method: f.method, params: f.params };
}

export function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { handler, token } = opts;
  const wantedPort = opts.port ?? DEFAULT_UI_PORT;
  let port = wantedPort;
  const clients = new Set<WebSocket>();
  const alive = new WeakSet<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });

  const signIn = (req: IncomingMessage, res: ServerResponse, location: string): void => {
    res.writeHead(req.method === 'POST' ? 303 : 302, {
      ...baseHeaders,
      'Set-Cookie': sessionCookie(port, token),
      Location: location,
      'Cache-Control': 'no-store',
      'Content-Length': 0,
    });
    res.end();
  };

  const serveStatic = (req: IncomingMessage, res: ServerResponse, pathname: string): void => {
    const dir = opts.rendererDir;
    const hit = dir ? lookupStatic(dir, pathname) : { kind: 'not-found' as const };
    if (hit.kind === 'bad-path') return sendText(res, 400, 'bad path');
    if (hit.kind === 'not-found') {
      // nothing built at all: say how to build it, on every page route
      const built = dir ? lookupStatic(dir, '/').kind === 'file' : false;
      if (!built && (pathname === '/' || !/\.[A-Za-z0-9]+$/.test(pathname))) return sendHtml(req, res, 200, placeholderPage(), port);
      return sendText(res, 404, 'not found');
    }
    const isHtml = hit.mime.startsWith('text/html');
    res.writeHead(200, {
      ...baseHeaders,
      'Content-Type': hit.mime,
      'Content-Length': hit.size,
      // the app shell must be revalidated so a rebuild shows up; vite's hashed assets may be cached
      'Cache-Control': isHtml || !pathname.startsWith('/assets/') ? 'no-cache' : 'private, max-age=31536000, immutable',
      ...(isHtml ? { 'Content-Security-Policy': csp(hostOf(req, port)) } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(hit.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${HOST}`);
    } catch {
      return sendText(res, 400, 'bad request');
    }
    const method = req.method ?? 'GET';

    if (url.pathname === '/login' && method === 'POST') {
      if (!originAllowed(req.headers)) return sendText(res, 403, 'forbidden origin');
      const body = await readBody(req, 4096);
      const given = body === null ? null : new URLSearchParams(body).get('token');
      if (tokenMatches(given?.trim(), token)) return signIn(req, res, '/');
      return sendHtml(req, res, 401, loginPage(given ? 'That token is not right. Check the address the daemon printed.' : undefined), port);
    }

    if (method !== 'GET' && method !== 'HEAD') {
      if (!isAuthorized(req.headers, token, port)) return sendHtml(req, res, 401, loginPage(), port);
      return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    }

    // the printed address: trade the token in the URL for a cookie, then drop it from the URL
    const queryToken = url.searchParams.get('token');
    if (queryToken !== null) {
      const good = tokenMatches(queryToken, token);
      if (!good && !isAuthorized(req.headers, token, port))
        return sendHtml(req, res, 401, loginPage('That address holds an old or wrong token.'), port);
      url.searchParams.delete('token');
      if (good) return signIn(req, res, url.pathname + url.search);
      // already signed in through an old bookmark: just drop the stale token from the address
      res.writeHead(302, { ...baseHeaders, Location: url.pathname + url.search, 'Cache-Control': 'no-store', 'Content-Length': 0 });
      return void res.end();
    }

    if (!isAuthorized(req.headers, token, port)) return sendHtml(req, res, 401, loginPage(), port);
    if (url.pathname === '/api') return sendText(res, 426, 'the API is a WebSocket', { Upgrade: 'websocket' });
    serveStatic(req, res, url.pathname);
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });

  const send = (ws: WebSocket, frame: ReplyFrame): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };

  const onMessage = async (ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> => {
    const call = parseCall(data, isBinary);
    if (call.error !== undefined || call.method === undefined) {
      return send(ws, { id: call.id, error: { code: 'bad-request', message: call.error ?? 'bad frame' } });
    }
    try {
      const params = validateParams(call.method, call.params);
      const result = await handler.call(call.method as Method, params);
      send(ws, { id: call.id, result: result === undefined ? null : result });
    } catch (err) {
      send(ws, { id: call.id, error: ApiError.from(err).toJSON() });
    }
  };

  wss.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (data, isBinary) => void onMessage(ws, data, isBinary));
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => ws.terminate());
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', `http://${HOST}`).pathname;
    } catch {
      return rejectUpgrade(socket, 400, 'Bad Request');
    }
    if (pathname !== '/api') return rejectUpgrade(socket, 404, 'Not Found');
    if (!originAllowed(req.headers)) return rejectUpgrade(socket, 403, 'Forbidden');
    if (!isAuthorized(req.headers, token, port)) return rejectUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  // engine events go to every connected (hence authenticated) client
  const unsubscribe = eventNames.map((event) =>
    handler.on(event, (data) => {
      if (clients.size === 0) return;
      const text = JSON.stringify({ event, data });
      for (const ws of clients) {
        if (ws.readyState === ws.OPEN && ws.bufferedAmount < EVENT_BACKLOG_LIMIT) ws.send(text);
      }
    }),
  );

  // a browser tab that vanished without closing its socket is noticed and dropped
  const pinger = setInterval(() => {
    for (const ws of clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(pinger);
      for (const off of unsubscribe) off();
      for (const ws of clients) ws.close(1001, 'daemon stopping');
      wss.close();
      server.close(() => resolve());
      server.closeAllConnections();
      // sockets that do not finish their closing handshake promptly are cut
      setTimeout(() => {
        for (const ws of clients) ws.terminate();
      }, 1000).unref();
    });
    return closing;
  };

  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearInterval(pinger);
      for (const off of unsubscribe) off();
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(`the web UI port ${wantedPort} on ${HOST} is already in use; pick another with --ui-port PORT (0 picks any free port)`),
        );
      } else reject(err);
    });
    server.listen(wantedPort, HOST, () => {
      const addr = server.address();
      port = typeof addr === 'object' && addr ? addr.port : wantedPort;
      const origin = `http://${HOST}:${port}`;
      server.on('error', () => {});
      resolve({
        port,
        origin,
        loginUrl: `${origin}/?token=${token}`,
        clientCount: () => clients.size,
        close,
      });
    });
  });
}
