// Bulk streams over TCP on loopback: TLS with both certificates pinned and the link's tokens,
// bytes both ways, and what the listener refuses (a certificate no link expects, a wrong token,
// bytes that are not TLS, a peer too slow to finish) without harm to the streams it serves.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { createDeviceCertificate } from '../keys/cert.ts';
import type { BulkStream, StreamBinding } from './bulk-tls.ts';
import { TcpBulkListener, dialTcpBulk } from './tcp-bulk.ts';
import { waitFor } from './test-support.ts';
import { frameArenaStats, frameBuffer, recycleFrame } from './frame-pool.ts';
import { encodeMessage, hasFrameRoom, responseBuffer } from '../protocol/messages.ts';

const log = () => undefined;
const certA = createDeviceCertificate();
const certB = createDeviceCertificate();
const tokA = randomBytes(16);
const tokB = randomBytes(16);

const listeners: TcpBulkListener[] = [];
after(async () => {
  for (const l of listeners) await l.close();
});

async function listener(bindTimeoutMs = 8_000): Promise<TcpBulkListener> {
  const l = await TcpBulkListener.open({ identity: certB, bindAddress: '127.0.0.1', bindTimeoutMs, log });
  listeners.push(l);
  return l;
}

/** B listens, expecting A: the streams B binds arrive in `accepted`. */
function expectA(l: TcpBulkListener, binding: StreamBinding = { remoteFingerprint: certA.fingerprint, ourToken: tokB, peerToken: tokA }) {
  const accepted: BulkStream[] = [];
  const stop = l.expect(certA.fingerprint, { token: binding.ourToken, bind: () => binding, accepted: (s) => accepted.push(s) });
  return { accepted, stop };
}

const dialA = (port: number, over: Partial<StreamBinding> & { identity?: { certPem: string; keyPem: string } } = {}) =>
  dialTcpBulk('127.0.0.1', port, {
    identity: over.identity ?? certA,
    binding: { remoteFingerprint: certB.fingerprint, ourToken: tokA, peerToken: tokB, ...over },
    bindTimeoutMs: 8_000,
    log,
  });

test('a TCP bulk stream with both certificates pinned carries messages both ways, in order, large ones whole', async () => {
  const l = await listener();
  const { accepted } = expectA(l);
  const sa = await dialA(l.port);
  await waitFor(() => accepted.length === 1, 'the listener to bind the stream');
  const sb = accepted[0]!;
  assert.match(sa.remoteAddress ?? '', new RegExp(`^127\\.0\\.0\\.1:${l.port}$`));
  const sent = Array.from({ length: 64 }, (_, i) => randomBytes(((i * 37) % 64) * 4096 + 1));
  sent.push(randomBytes(256 * 1024));
  const got: Buffer[] = [];
  sb.onMessage((m) => got.push(Buffer.from(m)));
  for (const m of sent) await sa.send(m);
  await waitFor(() => got.length === sent.length, 'every message');
  for (let i = 0; i < sent.length; i++) assert.ok(got[i]!.equals(sent[i]!), `message ${i} arrived whole`);
  const back = new Promise<Uint8Array>((resolve) => sa.onMessage(resolve));
  await sb.send(Buffer.from('pong'));
  assert.equal(Buffer.from(await back).toString(), 'pong');
  assert.ok(sa.bytesOut >= 256 * 1024 && sb.bytesIn === sa.bytesOut);
  const closed = new Promise<string>((resolve) => sb.onClose(resolve));
  sa.close('done here');
  assert.match(await closed, /closed|ended/);
});

test('answers encoded in place in pooled frames go out whole among small and big messages, in order, and their frames come back', async () => {
  const l = await listener();
  const { accepted } = expectA(l);
  const sa = await dialA(l.port);
  await waitFor(() => accepted.length === 1, 'the listener to bind the stream');
  const sb = accepted[0]!;
  const outBefore = frameArenaStats().out;
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 120; i++) {
    if (i % 3 === 0) {
      // as the block server answers: a chunk read into a frame, its response encoded around it
      const data = responseBuffer(20_000 + i * 1000, frameBuffer);
      data.set(randomBytes(data.length));
      const msg = encodeMessage({ type: 'response', id: i, status: 'ok', data });
      assert.ok(hasFrameRoom(msg));
      sent.push(msg);
    } else sent.push(randomBytes(i % 3 === 1 ? 10 + i : 5000 + i * 500));
  }
  const copies = sent.map((m) => Buffer.from(m));
  const got: Buffer[] = [];
  sb.onMessage((m) => {
    got.push(Buffer.from(m));
    // the receiving end (in this process too) takes its big frames from the pool: done with them
    recycleFrame(m);
  });
  // all handed over in one turn (as the answers one read lets out): small ones gathered, big ones one write each
  await Promise.all(sent.map((m) => sa.send(m)));
  await waitFor(() => got.length === sent.length, 'every message');
  for (let i = 0; i < sent.length; i++) assert.ok(got[i]!.equals(copies[i]!), `message ${i} arrived whole`);
  await waitFor(() => frameArenaStats().out === outBefore, 'the frames back in the pool once written');
  sa.close('done here');
});

test('a dial to a port nobody listens on is refused at once, with where it tried', async () => {
  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  await assert.rejects(dialA(free), new RegExp(`cannot connect to 127\\.0\\.0\\.1:${free} by TCP`));
});

test('the listener refuses a device no link expects, and the dialer refuses a server with the wrong certificate', async () => {
  const l = await listener();
  const { accepted } = expectA(l);
  // a valid device certificate, but not the one of the device on the link
  const stranger = createDeviceCertificate();
  await assert.rejects(dialA(l.port, { identity: stranger }), /closed|ended|reset|failed/);
  // A expects a different certificate than the one B presents
  await assert.rejects(
    dialA(l.port, { remoteFingerprint: createDeviceCertificate().fingerprint }),
    /certificate on the TCP stream is not the one/,
  );
  assert.equal(accepted.length, 0);
});

test('two links of one device wait at once (both dialed): each connection is bound to the link whose token it presents', async () => {
  const l = await listener();
  const first = expectA(l);
  const tok2 = randomBytes(16);
  const second = expectA(l, { remoteFingerprint: certA.fingerprint, ourToken: tok2, peerToken: tokA });
  const s2 = await dialA(l.port, { peerToken: tok2 });
  await waitFor(() => second.accepted.length === 1, 'the second link to bind it');
  assert.equal(first.accepted.length, 0);
  second.stop();
  const s1 = await dialA(l.port);
  await waitFor(() => first.accepted.length === 1, 'the first link to bind it');
  s1.close('done');
  s2.close('done');
});

test('a peer that presents the right certificate but not the link token is cut', async () => {
  const l = await listener();
  const { accepted } = expectA(l);
  await assert.rejects(dialA(l.port, { peerToken: randomBytes(16) }), /closed|ended|reset|failed/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(accepted.length, 0);
});

test('garbage, silence and a byte at a time are cut; the listener goes on serving the device on the link', async () => {
  const l = await listener(800);
  const { accepted } = expectA(l);
  const closedAt = (s: net.Socket) => new Promise<void>((resolve) => s.once('close', () => resolve()));
  const raw = (first?: Buffer) => {
    const s = net.connect(l.port, '127.0.0.1');
    s.on('error', () => undefined);
    if (first) s.write(first);
    return s;
  };
  const garbage = raw(randomBytes(4096));
  const silent = raw();
  const drip = raw();
  // a TLS record header, then one byte every 100 ms: never a whole handshake
  const dripTimer = setInterval(() => drip.writable && drip.write(Buffer.from([0x16])), 100);
  try {
    await Promise.all([closedAt(garbage), closedAt(silent), closedAt(drip)]);
  } finally {
    clearInterval(dripTimer);
  }
  const sa = await dialA(l.port);
  await waitFor(() => accepted.length === 1, 'the listener to bind the good stream');
  const got = new Promise<Uint8Array>((resolve) => accepted[0]!.onMessage(resolve));
  await sa.send(Buffer.from('still here'));
  assert.equal(Buffer.from(await got).toString(), 'still here');
  sa.close('done');
});
