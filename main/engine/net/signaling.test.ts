import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { DialError, dial, listenSignaling, type HelloInfo, type SignalingListener } from './signaling.ts';
import { SIGNALING_PATH, SIGNALING_VERSION } from './signaling-messages.ts';
import { shutdownNet, type LinkOptions, type PeerLink } from './transport.ts';
import { captureLog, waitFor } from './test-support.ts';

const SHARE = '11'.repeat(32);
const OTHER = '22'.repeat(32);
const linkOpts: LinkOptions = { bindAddress: '127.0.0.1', log: captureLog().log };
const listenerLog = captureLog();
const hellos: HelloInfo[] = [];
const links: PeerLink[] = [];
let listener: SignalingListener;

before(async () => {
  listener = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    log: listenerLog.log,
    device: { deviceId: 'LISTENER', deviceName: 'listener' },
    accept: (hello) => {
      hellos.push(hello);
      return hello.discoveryIds.includes(SHARE) ? { discoveryIds: [SHARE] } : 'no shared share';
    },
    link: linkOpts,
    onLink: (l) => links.push(l),
  });
});

after(() => shutdownNet());

const dialer = (ids: string[]) => ({
  device: { deviceId: 'DIALER', deviceName: 'dialer' },
  discoveryIds: ids,
  link: linkOpts,
  log: captureLog().log,
});

/** Opens a raw signaling socket, sends `frames` (and `afterWelcome` once welcomed), resolves with
 *  the close code and the frames received. */
function rawSession(frames: (string | Buffer)[], afterWelcome: string[] = []): Promise<{ code: number; received: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${listener.port}${SIGNALING_PATH}`);
    const received: string[] = [];
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (d) => {
      received.push(String(d));
      if (String(d).includes('"welcome"')) for (const f of afterWelcome) ws.send(f);
    });
    ws.on('close', (code) => resolve({ code, received }));
    ws.on('error', (e) => {
      if (!/closed before/.test(e.message)) reject(e);
    });
  });
}

test('the listener on port 0 reports the port it got', () => {
  assert.ok(listener.port > 0);
});

test('dial succeeds when the listener holds a requested discovery id', async () => {
  const link = await dial('127.0.0.1', listener.port, { ...dialer([OTHER, SHARE]), listenPort: 9999 });
  assert.deepEqual(link.peer?.discoveryIds, [SHARE]);
  assert.equal(link.peer?.deviceId, 'LISTENER');
  const h = hellos[hellos.length - 1];
  assert.equal(h.deviceId, 'DIALER');
  assert.equal(h.remoteAddress, '127.0.0.1');
  assert.equal(h.listenPort, 9999);
  await waitFor(() => links.length === 1, 'the listener side');
  assert.deepEqual(links[0].peer?.discoveryIds, [SHARE]);
  await waitFor(() => listener.pendingSessions === 0, 'the signaling socket to close after connecting');
  link.close('done');
});

test('a dial is refused when the listener holds none of the discovery ids', async () => {
  await assert.rejects(dial('127.0.0.1', listener.port, dialer([OTHER])), (err: unknown) => {
    assert.ok(err instanceof DialError);
    assert.equal(err.code, 'refused');
    assert.match(err.message, /no shared share/);
    return true;
  });
});

test('dialing yourself is refused', async () => {
  await assert.rejects(
    dial('127.0.0.1', listener.port, { ...dialer([SHARE]), device: { deviceId: 'LISTENER', deviceName: 'me' } }),
    /this device itself/,
  );
});

test('malformed signaling frames close that socket with a logged reason; the listener lives on', async () => {
  const hello = { t: 'hello', v: SIGNALING_VERSION, id: '0123456789abcdef', deviceId: 'RAW', deviceName: 'raw', discoveryIds: [SHARE] };
  const cases: [string, (string | Buffer)[], RegExp][] = [
    ['not JSON', ['{"t":'], /not JSON/],
    ['not an object', ['[1,2,3]'], /not a JSON object/],
    ['unknown type', ['{"t":"launch"}'], /unknown frame type/],
    ['wrong field type', [JSON.stringify({ ...hello, discoveryIds: 'all' })], /discoveryIds must be an array/],
    ['bad discovery id', [JSON.stringify({ ...hello, discoveryIds: ['xyz'] })], /lowercase hex/],
    [
      'too many ids',
      [JSON.stringify({ ...hello, discoveryIds: Array.from({ length: 300 }, (_, i) => i.toString(16).padStart(64, '0')) })],
      /more than 256/,
    ],
    ['wrong version', [JSON.stringify({ ...hello, v: 99 })], /unsupported signaling version/],
    ['offer before hello', [JSON.stringify({ t: 'offer', sdp: 'v=0' })], /offer before welcome/],
    ['binary garbage', [Buffer.from([0xff, 0x00, 0x13])], /not JSON/],
    ['oversized frame', ['x'.repeat(100 * 1024)], /Max payload size exceeded/],
  ];
  for (const [what, frames, logged] of cases) {
    const before = listenerLog.lines.length;
    const { code } = await rawSession(frames);
    assert.ok(code === 1008 || code === 1009, `${what}: closed with ${code}`);
    await waitFor(() => listenerLog.lines.slice(before).some((l) => logged.test(l)), `${what}: logged reason`);
  }
  // a candidate flood after a valid hello is cut off too
  const flood = Array.from({ length: 100 }, () =>
    JSON.stringify({ t: 'candidate', candidate: 'a=candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' }),
  );
  const { received } = await rawSession([JSON.stringify({ ...hello, id: 'fedcba9876543210' })], flood);
  assert.match(received.join('\n'), /more than 64 candidates/);
  // still serving
  const link = await dial('127.0.0.1', listener.port, dialer([SHARE]));
  link.close('done');
});

test('a dial to a closed port fails with a clear error', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  await assert.rejects(dial('127.0.0.1', port, dialer([SHARE])), (err: unknown) => {
    assert.ok(err instanceof DialError);
    assert.equal(err.code, 'unreachable');
    assert.match(err.message, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}: connection refused`));
    return true;
  });
});

test('a dial to something that is not a signaling listener fails clearly', async () => {
  const srv = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  try {
    await assert.rejects(dial('127.0.0.1', port, dialer([SHARE])), /is not a Peerfold signaling listener/);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('a taken port gives an error that says what to do', async () => {
  await assert.rejects(
    listenSignaling({
      port: listener.port,
      host: '127.0.0.1',
      device: { deviceId: 'X', deviceName: 'x' },
      accept: () => true,
      link: linkOpts,
      onLink: () => {},
    }),
    /already in use.*--listen 0/,
  );
});

test('connections that never start signaling are bounded per address and dropped early; refusals are logged', async () => {
  const log = captureLog();
  const l = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    log: log.log,
    maxConnectionsPerAddress: 3,
    upgradeTimeoutMs: 500,
    device: { deviceId: 'BOUNDED', deviceName: 'bounded' },
    accept: () => true,
    link: linkOpts,
    onLink: () => {},
  });
  try {
    const open = () => {
      const s = connect(l.port, '127.0.0.1');
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.on('error', () => {});
      return { s, closed };
    };
    const idle = [open(), open(), open()];
    await Promise.all(idle.map(({ s }) => new Promise((r) => s.once('connect', r))));
    const extra = open();
    await extra.closed; // the fourth from this address is dropped at once
    await waitFor(() => log.lines.some((x) => /turned away: 3 connections from that address/.test(x)), 'the refusal logged');
    await Promise.all(idle.map((c) => c.closed)); // and the idle ones when their time is up
    assert.ok(log.lines.some((x) => /no signaling request within 0.5 s; dropped/.test(x)));
    const link = await dial('127.0.0.1', l.port, dialer([SHARE])); // a real peer still gets in
    link.close('done');
  } finally {
    await l.close();
  }
});

test('idle WebSockets filling every session slot are evicted for a peer that says hello', async () => {
  const log = captureLog();
  const l = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    log: log.log,
    maxPendingSessions: 3,
    helloGraceMs: 200,
    maxConnectionsPerAddress: 10,
    device: { deviceId: 'FULL', deviceName: 'full' },
    accept: () => true,
    link: linkOpts,
    onLink: () => {},
  });
  try {
    const idle = Array.from({ length: 3 }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${l.port}${SIGNALING_PATH}`);
      ws.on('error', () => {});
      return { ws, closed: new Promise<number>((r) => ws.on('close', (code) => r(code))) };
    });
    await Promise.all(idle.map(({ ws }) => new Promise((r) => ws.once('open', r))));
    await waitFor(() => l.pendingSessions === 3, 'three idle sessions');
    await new Promise((r) => setTimeout(r, 300)); // past the grace period
    const link = await dial('127.0.0.1', l.port, dialer([SHARE]));
    link.close('done');
    assert.ok(
      log.lines.some((x) => /evicted: no hello/.test(x)),
      'the eviction is logged',
    );
    assert.equal(
      await Promise.race([idle[0].closed, new Promise((r) => setTimeout(() => r('open'), 5000))]),
      1008,
      'the oldest idle one made room',
    );
  } finally {
    await l.close();
  }
});

test('a dialer that goes away after the welcome leaves no unhandled rejection behind', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    const hello = { t: 'hello', v: SIGNALING_VERSION, id: 'aaaabbbbccccdddd', deviceId: 'GONE', deviceName: 'gone', discoveryIds: [SHARE] };
    const before = listenerLog.lines.length;
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${listener.port}${SIGNALING_PATH}`);
      ws.on('open', () => ws.send(JSON.stringify(hello)));
      ws.on('message', (d) => {
        if (String(d).includes('"welcome"')) ws.terminate();
      });
      ws.on('close', () => resolve());
      ws.on('error', (e) => {
        if (!/closed before/.test(e.message)) reject(e);
      });
    });
    await waitFor(() => listener.pendingSessions === 0, 'the session to end');
    // the listener's link for it closes before it ever opened; give its promise a few turns
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled.map(String), [], `listener log: ${listenerLog.lines.slice(before).join(' | ')}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
