import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { CallFrame } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import { apiUrlFor, createWsBridge, reconnectDelay, type ConnectionState, type SocketLike } from './ws-bridge.ts';

async function startServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  return { wss, url: `ws://127.0.0.1:${port}/api`, port };
}

const createSocket = (url: string) => new WebSocket(url) as unknown as SocketLike;

function waitFor(
  bridge: { onConnection(l: (s: ConnectionState) => void): () => void; connection: ConnectionState },
  phase: ConnectionState['phase'],
) {
  return new Promise<ConnectionState>((resolve) => {
    if (bridge.connection.phase === phase) return resolve(bridge.connection);
    const off = bridge.onConnection((s) => {
      if (s.phase === phase) {
        off();
        resolve(s);
      }
    });
  });
}

test('apiUrlFor follows the page origin and scheme', () => {
  assert.equal(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:8384' }), 'ws://127.0.0.1:8384/api');
  assert.equal(apiUrlFor({ protocol: 'https:', host: 'nas.local' }), 'wss://nas.local/api');
});

test('reconnectDelay doubles and caps', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((n) => reconnectDelay(n, 500, 4000)),
    [500, 1000, 2000, 4000, 4000],
  );
});

test('calls travel as CallFrames and resolve or reject from ReplyFrames; events reach listeners', async () => {
  const { wss, url } = await startServer();
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as CallFrame;
      if (frame.method === 'checkCode') ws.send(JSON.stringify({ id: frame.id, result: { ok: true, level: 'read-only', error: null } }));
      else ws.send(JSON.stringify({ id: frame.id, error: { code: 'not-found', message: 'no such share' } }));
    });
    ws.send(JSON.stringify({ event: 'shareSynced', data: { shareId: 's1', name: 'Photos' } }));
  });
  const bridge = createWsBridge({ url, createSocket });
  try {
    assert.deepEqual(bridge.capabilities, { pickFolder: false, dropPaths: false, openPath: false, startAtLogin: false });
    const synced = new Promise((resolve) => bridge.on('shareSynced', resolve));
    // issued before the socket is open: queued, then sent
    const check = await bridge.call('checkCode', { code: 'X' });
    assert.deepEqual(check, { ok: true, level: 'read-only', error: null });
    await assert.rejects(
      bridge.call('codes', { share: 'nope' }),
      (err: unknown) => err instanceof ApiError && err.code === 'not-found' && err.message === 'no such share',
    );
    assert.deepEqual(await synced, { shareId: 's1', name: 'Photos' });
  } finally {
    bridge.close();
    wss.close();
  }
});

test('a dropped connection rejects calls in flight, reports closed, and reconnects', async () => {
  const { wss, url } = await startServer();
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as CallFrame;
      if (frame.method === 'pause')
        ws.terminate(); // never answers
      else ws.send(JSON.stringify({ id: frame.id, result: { ok: true } }));
    });
  });
  const bridge = createWsBridge({ url, createSocket, initialDelayMs: 5, maxDelayMs: 20 });
  try {
    await waitFor(bridge, 'open');
    const closed = waitFor(bridge, 'closed');
    await assert.rejects(bridge.call('pause', {}), /dropped/);
    const c = await closed;
    assert.equal(c.everOpened, true);
    await waitFor(bridge, 'open');
    assert.deepEqual(await bridge.call('resume', {}), { ok: true });
    assert.equal(connections, 2);
  } finally {
    bridge.close();
    wss.close();
  }
});

test('a daemon that is not there leaves the bridge retrying, and a call waits for the connection', async () => {
  const { wss, port } = await startServer();
  await new Promise<void>((r) => wss.close(() => r()));
  const bridge = createWsBridge({ url: `ws://127.0.0.1:${port}/api`, createSocket, initialDelayMs: 5, maxDelayMs: 10 });
  let server: WebSocketServer | null = null;
  try {
    const first = await waitFor(bridge, 'closed');
    assert.equal(first.everOpened, false);
    assert.ok(first.attempts >= 1);
    const answer = bridge.call('rescan', {});
    server = new WebSocketServer({ host: '127.0.0.1', port });
    server.on('connection', (ws) =>
      ws.on('message', (raw) => ws.send(JSON.stringify({ id: (JSON.parse(String(raw)) as CallFrame).id, result: { ok: true } }))),
    );
    assert.deepEqual(await answer, { ok: true });
  } finally {
    bridge.close();
    server?.close();
  }
});
