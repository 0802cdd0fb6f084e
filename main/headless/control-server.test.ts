import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ApiEvents, EventName, Method, Params, Result, StatusResult } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { startControlServer, type ApiHandler, type ControlServer } from './control-server.ts';
import { cookieName } from './auth.ts';

const token = 'A'.repeat(43);

/** A stand-in for the engine: records calls, answers a few, and can emit events. */
function tinyHandler() {
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  const calls: { method: string; params: unknown }[] = [];
  const handler: ApiHandler = {
    async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      calls.push({ method, params });
      if (method === 'codes') throw new ApiError('not-found', 'no share "x"; list shares with `peerfold shares`');
      if (method === 'pause') throw new Error('boom');
      return { ok: true } as Result<M>;
    },
    on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (data: unknown) => void);
      return () => set.delete(listener as (data: unknown) => void);
    },
  };
  const emit = <E extends EventName>(event: E, data: ApiEvents[E]) => {
    for (const l of listeners.get(event) ?? []) l(data);
  };
  return { handler, calls, emit, listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0) };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function openWs(port: number, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The next frame, parsed (typed loosely: the tests compare whole frames or read one field). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reply's shape is what each test asserts
function nextMessage(ws: WebSocket): Promise<any> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
}

let dir: string;
let renderer: string;
let server: ControlServer;
let tiny: ReturnType<typeof tinyHandler>;
let cookie: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'peerfold-cs-'));
  renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>app</title><div id=root></div>');
  writeFileSync(join(renderer, 'assets', 'app-123.js'), 'console.log(1)');
  writeFileSync(join(renderer, 'assets', 'app-123.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets', 'link.txt'));
  tiny = tinyHandler();
  server = await startControlServer({ handler: tiny.handler, token, port: 0, rendererDir: renderer });
  cookie = `${cookieName(server.port)}=${token}`;
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('listens on 127.0.0.1 and prints a login URL with the token', () => {
  assert.ok(server.port > 0);
  assert.equal(server.origin, `http://127.0.0.1:${server.port}`);
  assert.equal(server.loginUrl, `http://127.0.0.1:${server.port}/?token=${token}`);
});

test('no token: 401 and the login page, for every path', async () => {
  for (const path of ['/', '/assets/app-123.js', '/api', '/index.html', '/anything']) {
    const r = await http(server.port, path);
    assert.equal(r.status, 401, path);
    assert.match(r.body, /<form method="post" action="\/login">/);
    assert.doesNotMatch(r.body, /id=root|console\.log/);
  }
});

test('wrong token in the URL, cookie or header: 401', async () => {
  const wrong = 'B'.repeat(43);
  assert.equal((await http(server.port, `/?token=${wrong}`)).status, 401);
  assert.equal((await http(server.port, '/', { headers: { cookie: `${cookieName(server.port)}=${wrong}` } })).status, 401);
  assert.equal((await http(server.port, '/', { headers: { authorization: `Bearer ${wrong}` } })).status, 401);
  assert.equal((await http(server.port, '/', { headers: { authorization: `Bearer ${token.slice(1)}` } })).status, 401);
  // the right token under another daemon's cookie name does not count
  assert.equal((await http(server.port, '/', { headers: { cookie: `${cookieName(server.port + 1)}=${token}` } })).status, 401);
});

test('the printed URL sets an HttpOnly SameSite=Strict cookie and redirects to /', async () => {
  const r = await http(server.port, `/?token=${token}`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/');
  const setCookie = String(r.headers['set-cookie']);
  assert.match(setCookie, new RegExp(`^${cookieName(server.port)}=${token};`));
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Path=\//);
  // a signed-in browser opening an old address is not thrown out
  const stale = await http(server.port, `/?token=${'D'.repeat(43)}`, { headers: { cookie } });
  assert.equal(stale.status, 302);
  assert.equal(stale.headers['set-cookie'], undefined);
  const page = await http(server.port, '/', { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(page.body, /id=root/);
  assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
});

test('the login form signs in with the right token only', async () => {
  const bad = await http(server.port, '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=nope',
  });
  assert.equal(bad.status, 401);
  assert.match(bad.body, /not right/);
  assert.equal(bad.headers['set-cookie'], undefined);
  const good = await http(server.port, '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  assert.equal(good.status, 303);
  assert.equal(good.headers.location, '/');
  assert.match(String(good.headers['set-cookie']), /HttpOnly/);
  // what a browser sends for the form on the page the server gave it
  const sameOrigin = await http(server.port, '/login', {
    method: 'POST',
    headers: { origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  assert.equal(sameOrigin.status, 303);
  const foreign = await http(server.port, '/login', {
    method: 'POST',
    headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  assert.equal(foreign.status, 403);
});

test('static files: mime types, SPA fallback, 404 for missing assets', async () => {
  const headers = { authorization: `Bearer ${token}` };
  const js = await http(server.port, '/assets/app-123.js', { headers });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.body, 'console.log(1)');
  assert.equal((await http(server.port, '/assets/app-123.css', { headers })).headers['content-type'], 'text/css; charset=utf-8');
  const route = await http(server.port, '/shares/abc', { headers });
  assert.equal(route.status, 200);
  assert.match(route.body, /id=root/);
  assert.equal((await http(server.port, '/assets/missing.js', { headers })).status, 404);
  const head = await http(server.port, '/assets/app-123.js', { headers, method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('path traversal is refused, encoded or not, and symlinks cannot lead outside', async () => {
  const headers = { cookie };
  for (const path of [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00',
    '/%E0%A4%A',
    '/assets/link.txt',
    '/.hidden',
  ]) {
    const r = await http(server.port, path, { headers });
    assert.ok(r.status === 400 || r.status === 404, `${path} -> ${r.status}`);
    assert.doesNotMatch(r.body, /outside/, path);
  }
});

test('other methods are not allowed', async () => {
  assert.equal((await http(server.port, '/', { method: 'PUT', headers: { cookie } })).status, 405);
  assert.equal((await http(server.port, '/', { method: 'DELETE' })).status, 401);
});

test('WebSocket without auth, with a foreign origin, or on another path is refused', async () => {
  await assert.rejects(openWs(server.port, {}), /HTTP 401/);
  await assert.rejects(openWs(server.port, { cookie: `${cookieName(server.port)}=${'C'.repeat(43)}` }), /HTTP 401/);
  await assert.rejects(openWs(server.port, { cookie, origin: 'http://evil.example' }), /HTTP 403/);
  await assert.rejects(openWs(server.port, { cookie, origin: `http://127.0.0.1:${server.port + 1}` }), /HTTP 403/);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/other`, { headers: { cookie } });
      ws.once('open', resolve);
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    /HTTP 404/,
  );
});

test('WebSocket calls: validated, answered, errors carried as ApiErrorShape', async () => {
  const ws = await openWs(server.port, { cookie, origin: server.origin });
  try {
    ws.send(JSON.stringify({ id: 1, method: 'rescan', params: { share: 'abc' } }));
    assert.deepEqual(await nextMessage(ws), { id: 1, result: { ok: true } });
    assert.deepEqual(tiny.calls.at(-1), { method: 'rescan', params: { share: 'abc' } });

    const before = tiny.calls.length;
    ws.send(JSON.stringify({ id: 2, method: 'share', params: { path: 3 } }));
    const bad = await nextMessage(ws);
    assert.equal(bad.id, 2);
    assert.equal(bad.error.code, 'bad-request');
    assert.match(bad.error.message, /bad parameter "path" for share/);
    ws.send(JSON.stringify({ id: 3, method: 'rm -rf', params: {} }));
    assert.match((await nextMessage(ws)).error.message, /unknown method/);
    assert.equal(tiny.calls.length, before, 'invalid calls never reach the handler');

    ws.send(JSON.stringify({ id: 4, method: 'codes', params: { share: 'x' } }));
    assert.deepEqual(await nextMessage(ws), {
      id: 4,
      error: { code: 'not-found', message: 'no share "x"; list shares with `peerfold shares`' },
    });
    ws.send(JSON.stringify({ id: 5, method: 'pause', params: {} }));
    assert.deepEqual(await nextMessage(ws), { id: 5, error: { code: 'internal', message: 'boom' } });

    ws.send('not json');
    assert.deepEqual(await nextMessage(ws), { id: -1, error: { code: 'bad-request', message: 'frame is not valid JSON' } });
    ws.send(JSON.stringify({ method: 'status' }));
    assert.equal((await nextMessage(ws)).id, -1);
  } finally {
    ws.close();
  }
});

test('engine events reach every authenticated client', async () => {
  const a = await openWs(server.port, { authorization: `Bearer ${token}` });
  const b = await openWs(server.port, { cookie });
  try {
    const status: StatusResult = {
      device: { id: 'DEV', name: 'box', listenPort: 1, version: '0' },
      paused: false,
      shares: [],
      error: null,
      trackers: [],
    };
    const got = Promise.all([nextMessage(a), nextMessage(b)]);
    tiny.emit('status', status);
    for (const frame of await got) assert.deepEqual(frame, { event: 'status', data: status });
  } finally {
    a.close();
    b.close();
  }
});

test('without a built renderer, a signed-in user gets the build placeholder', async () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const other = await startControlServer({ handler: tinyHandler().handler, token, port: 0, rendererDir: empty });
  try {
    const r = await http(other.port, '/', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    assert.match(r.body, /npm run build/);
    assert.equal((await http(other.port, '/')).status, 401);
  } finally {
    await other.close();
  }
});

test('a busy port gives a message that says what to do; close unsubscribes from the engine', async () => {
  const t = tinyHandler();
  await assert.rejects(startControlServer({ handler: t.handler, token, port: server.port }), /already in use; pick another with --ui-port/);
  assert.equal(t.listenerCount(), 0);
  const s = await startControlServer({ handler: t.handler, token, port: 0, rendererDir: null });
  assert.equal(t.listenerCount(), 6);
  const ws = await openWs(s.port, { cookie: `${cookieName(s.port)}=${token}` });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await s.close();
  assert.equal(await closed, 1001);
  assert.equal(t.listenerCount(), 0);
});
