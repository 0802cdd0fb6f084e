import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dial, listenSignaling, type SignalingListener } from './signaling.ts';
import { createLink, heldNativeObjects, MAX_MESSAGE_BYTES, shutdownNet, type LinkOptions, type PeerLink } from './transport.ts';
import { DEFAULT_SENDER_LIMITS } from './channel-sender.ts';
import { captureLog, makeCert, tempDir, waitFor, type TestCert } from './test-support.ts';

const SHARE = 'aa'.repeat(32);
const tmp = tempDir();
const logA = captureLog();
const logB = captureLog();
let certA: TestCert;
let certB: TestCert;
let listener: SignalingListener;
let accepted: PeerLink[] = [];

const linkOpts = (c: TestCert, log = logA.log): LinkOptions => ({
  certPemFile: c.certPemFile,
  keyPemFile: c.keyPemFile,
  bindAddress: '127.0.0.1',
  log,
});

before(async () => {
  certA = makeCert(tmp.dir, 'a');
  certB = makeCert(tmp.dir, 'b');
  listener = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    log: logB.log,
    device: { deviceId: 'DEVICE-B', deviceName: 'bee' },
    accept: (hello) => (hello.discoveryIds.includes(SHARE) ? { discoveryIds: [SHARE] } : 'no shared share'),
    link: () => linkOpts(certB, logB.log),
    onLink: (link) => accepted.push(link),
  });
});

after(async () => {
  await shutdownNet();
  tmp.remove();
});

async function connectPair(): Promise<[PeerLink, PeerLink]> {
  accepted = [];
  const a = await dial('127.0.0.1', listener.port, {
    device: { deviceId: 'DEVICE-A', deviceName: 'ay' },
    discoveryIds: [SHARE],
    listenPort: 4242,
    via: 'manual',
    link: linkOpts(certA),
    log: logA.log,
  });
  await waitFor(() => accepted.length === 1, 'the listener side of the link');
  return [a, accepted[0]];
}

test('two links exchange messages on both channels, in order, both ways', async () => {
  const [a, b] = await connectPair();
  assert.ok(a.isOpen && b.isOpen);
  assert.equal(a.role, 'offerer');
  assert.equal(b.role, 'answerer');
  assert.equal(a.id, b.id, 'both sides name the link by the same connection id');
  assert.deepEqual(a.peer, { deviceId: 'DEVICE-B', deviceName: 'bee', discoveryIds: [SHARE], listenPort: listener.port });
  assert.deepEqual(b.peer, { deviceId: 'DEVICE-A', deviceName: 'ay', discoveryIds: [SHARE], listenPort: 4242 });
  assert.equal(a.via, 'manual');
  assert.equal(b.via, 'manual');

  // DTLS identities are the certificates we configured, seen the same way from both ends
  assert.equal(a.localFingerprint, certA.fingerprint);
  assert.equal(b.localFingerprint, certB.fingerprint);
  assert.equal(a.remoteFingerprint, certB.fingerprint);
  assert.equal(b.remoteFingerprint, certA.fingerprint);
  // bindAddress 127.0.0.1 gives a working loopback candidate pair
  assert.match(a.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);
  assert.match(b.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);

  const N = 200;
  const got: Record<string, number[]> = { aIndex: [], aData: [], bIndex: [], bData: [] };
  const seq = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  a.onMessage('index', (m) => got.aIndex.push(seq(m)));
  a.onMessage('data', (m) => got.aData.push(seq(m)));
  b.onMessage('index', (m) => got.bIndex.push(seq(m)));
  b.onMessage('data', (m) => got.bData.push(seq(m)));
  const msg = (i: number, size: number) => {
    const u = new Uint8Array(size);
    new DataView(u.buffer).setUint32(0, i);
    return u;
  };
  await Promise.all([
    (async () => {
      for (let i = 0; i < N; i++) await a.send('index', msg(i, 16));
    })(),
    (async () => {
      for (let i = 0; i < N; i++) await a.send('data', msg(i, 64 * 1024));
    })(),
    (async () => {
      for (let i = 0; i < N; i++) await b.send('index', msg(i, 100));
    })(),
    (async () => {
      for (let i = 0; i < N; i++) await b.send('data', msg(i, i === N - 1 ? MAX_MESSAGE_BYTES : 4096));
    })(),
  ]);
  await waitFor(() => Object.values(got).every((l) => l.length === N), 'all messages');
  const inOrder = Array.from({ length: N }, (_, i) => i);
  for (const [k, list] of Object.entries(got)) assert.deepEqual(list, inOrder, `${k} in order`);
  assert.equal(a.bytesOut, N * 16 + N * 64 * 1024);
  assert.equal(b.bytesIn, a.bytesOut);
  assert.equal(a.bytesIn, b.bytesOut);

  await assert.rejects(a.send('data', new Uint8Array(MAX_MESSAGE_BYTES + 1)), /exceeds the 262144-byte limit/);

  const closedB = new Promise<string>((r) => b.onClose(r));
  a.close('test over');
  assert.match(await closedB, /closed|lost/);
  await assert.rejects(b.send('index', msg(0, 4)), /link closed/);
  // closed links hand their native objects back once node-datachannel is done with them
  await waitFor(() => heldNativeObjects() === 0, 'native objects released');
});

test('messages that arrive before a handler is set are held for it', async () => {
  const [a, b] = await connectPair();
  for (let i = 0; i < 5; i++) await a.send('index', new Uint8Array([i]));
  await waitFor(() => b.bytesIn === 5, 'five bytes at b');
  const seen: number[] = [];
  b.onMessage('index', (m) => seen.push(m[0]));
  await a.send('index', new Uint8Array([5]));
  await waitFor(() => seen.length === 6, 'held messages delivered');
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  a.close('test over');
});

test('a 200 MiB bulk send on data keeps bufferedAmount bounded and does not hold back index messages', async () => {
  const [a, b] = await connectPair();
  const TOTAL = 200 * 1024 * 1024;
  const CHUNK = 256 * 1024;
  let dataReceived = 0;
  let nextSeq = 0;
  let outOfOrder = 0;
  const indexArrivals: number[] = [];
  b.onMessage('data', (m) => {
    if (new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0) !== nextSeq++) outOfOrder++;
    dataReceived += m.byteLength;
  });
  b.onMessage('index', () => indexArrivals.push(dataReceived));

  let maxBuffered = 0;
  const chunk = new Uint8Array(CHUNK);
  const view = new DataView(chunk.buffer);
  for (let i = 0, sent = 0; sent < TOTAL; i++, sent += CHUNK) {
    view.setUint32(0, i);
    await a.send('data', chunk); // resolved = handed over, so reusing the buffer is safe
    maxBuffered = Math.max(maxBuffered, a.bufferedAmount('data'));
    if (sent === 10 * 1024 * 1024) {
      // a few index messages in the middle of the bulk transfer
      for (let k = 0; k < 5; k++) await a.send('index', new Uint8Array([k]));
    }
  }
  await waitFor(() => dataReceived === TOTAL, 'the whole bulk transfer', 120_000);
  assert.equal(outOfOrder, 0);
  assert.equal(indexArrivals.length, 5);
  for (const at of indexArrivals) assert.ok(at < TOTAL, `index message arrived after ${at} of ${TOTAL} bulk bytes`);
  const bound = DEFAULT_SENDER_LIMITS.highWater + MAX_MESSAGE_BYTES;
  assert.ok(maxBuffered <= bound, `bufferedAmount reached ${maxBuffered}`);
  assert.ok(a.maxBufferedSeen('data') <= bound, `bufferedAmount reached ${a.maxBufferedSeen('data')}`);
  const stats = a.stats();
  assert.equal(stats.bytesOut, TOTAL + 5);
  assert.equal(b.stats().bytesIn, TOTAL + 5);
  a.close('test over');
});

test('a link that gets no answer closes with a clear timeout error', async () => {
  const log = captureLog();
  const link = createLink('offerer', { bindAddress: '127.0.0.1', connectTimeoutMs: 300, log: log.log }, () => {});
  await assert.rejects(link.whenOpen(), /not established within/);
  assert.equal(link.closed, true);
  assert.match(link.closeReason ?? '', /not established within/);
});

test('a bad signal closes the link instead of throwing', async () => {
  const link = createLink('answerer', { bindAddress: '127.0.0.1', log: captureLog().log }, () => {});
  link.handleSignal({ type: 'description', kind: 'answer', sdp: 'v=0' });
  assert.match(link.closeReason ?? '', /expects an offer/);
  const link2 = createLink('answerer', { bindAddress: '127.0.0.1', log: captureLog().log }, () => {});
  link2.handleSignal({ type: 'description', kind: 'offer', sdp: 'v=0\r\nnonsense' });
  assert.match(link2.closeReason ?? '', /no a=fingerprint:sha-256/);
});

test('a link with larger SCTP buffers says so in its description, and still closes on a message over 256 KiB', async () => {
  const bigBuffers = 4 * 1024 * 1024;
  const received: PeerLink[] = [];
  const wide = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    log: logB.log,
    device: { deviceId: 'DEVICE-W', deviceName: 'wide' },
    accept: () => ({ discoveryIds: [SHARE] }),
    link: () => ({ ...linkOpts(certB, logB.log), sctpBufferBytes: bigBuffers }),
    onLink: (link) => received.push(link),
  });
  try {
    const a = await dial('127.0.0.1', wide.port, {
      device: { deviceId: 'DEVICE-A', deviceName: 'ay' },
      discoveryIds: [SHARE],
      via: 'manual',
      link: { ...linkOpts(certA), sctpBufferBytes: bigBuffers },
      log: logA.log,
    });
    await waitFor(() => received.length === 1, 'the listener side of the link');
    const b = received[0];
    assert.equal(a.sctpBufferBytes, bigBuffers);
    // the native side: libdatachannel sizes the association's buffers from max-message-size
    const native = a as unknown as {
      pc: { localDescription(): { sdp: string } };
      channels: { data: { dc: { sendMessageBinary(b: Uint8Array): boolean } } };
    };
    assert.match(native.pc.localDescription().sdp, new RegExp(`a=max-message-size:${bigBuffers}`));
    let closedWith = '';
    b.onClose((reason) => (closedWith = reason));
    // a hostile peer ignores the protocol's limit; the SDP would let this through
    native.channels.data.dc.sendMessageBinary(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    await waitFor(() => closedWith !== '', 'the receiving link to close');
    assert.match(closedWith, /limit is 262144/);
    a.close('test done');
  } finally {
    await wide.close();
  }
});
