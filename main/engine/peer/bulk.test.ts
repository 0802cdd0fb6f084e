// Choosing the carrier of a link's blocks (pure), the carrier's fallback, and requests sent again
// when a carrier lost them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BulkCarrier, leastAsked, type BulkStreamLike } from './bulk-carrier.ts';
import { MAX_TCP_STREAMS, forcedStripeCount, planBulk, planTcp, stripeCount, tcpTarget, tlsRole } from './bulk-choice.ts';
import { isLoopback } from '../net/path.ts';
import { BulkLink } from './bulk-link.ts';
import type { Channel } from './pipe.ts';
import { RequestTracker } from './request-tracker.ts';
import {
  decodeMessage,
  encodeMessage,
  type BlockRequest,
  type BlockResponse,
  type BulkOffer,
  type TcpOffer,
  type UdxOffer,
} from '../protocol/messages.ts';
import { createDeviceCertificate } from '../keys/cert.ts';
import { TcpBulkListener, dialTcpBulk } from '../net/tcp-bulk.ts';
import { waitFor } from '../net/test-support.ts';

const offer = (streamId: number, candidates: string[]): UdxOffer => ({ type: 'udxOffer', streamId, token: new Uint8Array(16), candidates });

test('planBulk: waits for both offers, stays on the data channel when either side is off or nothing is reachable, else probes', () => {
  const ours = { streamId: 5, family: 4 as const };
  assert.deepEqual(planBulk(null, null), { kind: 'wait' });
  assert.deepEqual(planBulk(ours, null), { kind: 'wait' });
  assert.deepEqual(planBulk(null, offer(9, ['10.0.0.2:4000'])), { kind: 'wait' });
  assert.equal(planBulk('off', offer(9, ['10.0.0.2:4000'])).kind, 'datachannel');
  assert.deepEqual(planBulk(null, offer(0, [])), { kind: 'datachannel', reason: 'the peer does not use udx' });
  const none = planBulk(ours, offer(9, ['[fd00::1]:4000', 'host.example:4000', '10.0.0.2:0']));
  assert.equal(none.kind, 'datachannel');
  assert.deepEqual(planBulk(ours, offer(9, ['10.0.0.2:4000', '[fd00::1]:4000', '10.0.0.2:4000', '192.168.1.4:4001'])), {
    kind: 'probe',
    targets: [
      { host: '10.0.0.2', port: 4000 },
      { host: '192.168.1.4', port: 4001 },
    ],
  });
  const many = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}:4000`);
  const plan = planBulk(ours, offer(9, many));
  assert.ok(plan.kind === 'probe' && plan.targets.length === 16, 'at most 16 addresses of a peer are probed');
  assert.equal(tlsRole('offerer'), 'client');
  assert.equal(tlsRole('answerer'), 'server');
});

test('planTcp: waits for both offers, off when either side is, the server listens, the client dials the path address', () => {
  const tcp = (port: number): TcpOffer => ({ type: 'tcpOffer', port, token: new Uint8Array(16) });
  assert.deepEqual(planTcp(null, null, 'client', '10.0.0.2'), { kind: 'wait' });
  assert.deepEqual(planTcp(true, null, 'client', '10.0.0.2'), { kind: 'wait' });
  assert.deepEqual(planTcp(false, tcp(4000), 'client', '10.0.0.2'), { kind: 'off', reason: 'TCP is off on this device' });
  assert.deepEqual(planTcp(null, tcp(0), 'server', null), { kind: 'off', reason: 'the peer does not use TCP' });
  assert.deepEqual(planTcp(true, tcp(4000), 'server', null), { kind: 'listen' });
  assert.deepEqual(planTcp(true, tcp(4000), 'client', '10.0.0.2'), { kind: 'dial', host: '10.0.0.2', port: 4000 });
  assert.equal(planTcp(true, tcp(4000), 'client', null).kind, 'off');
  const end = (address: string, type: string) => ({ address, port: 5, type });
  assert.equal(tcpTarget(null), null);
  assert.equal(tcpTarget({ local: end('192.168.1.3', 'host'), remote: end('192.168.1.4', 'host') }), '192.168.1.4');
  assert.equal(tcpTarget({ local: end('10.0.0.3', 'host'), remote: end('fd00::4', 'srflx') }), 'fd00::4');
  assert.equal(tcpTarget({ local: end('10.0.0.3', 'relay'), remote: end('203.0.113.9', 'srflx') }), null, 'relayed: no direct address');
  assert.equal(tcpTarget({ local: end('10.0.0.3', 'host'), remote: end('203.0.113.9', 'relay') }), null);
});

/** An in-memory channel that records what was sent. */
function recorder(): Channel & { sent: string[]; deliver(s: string): void } {
  let handler: ((b: Uint8Array) => void) | null = null;
  const sent: string[] = [];
  return {
    sent,
    send: async (b) => void sent.push(Buffer.from(b).toString()),
    onMessage: (h) => void (handler = h),
    deliver: (s) => handler!(Buffer.from(s)),
  };
}

function fakeStream(): BulkStreamLike & { sent: string[]; deliver(s: string): void; failSends: boolean; dyingSends: boolean } {
  let handler: ((b: Uint8Array) => void) | null = null;
  const closers: ((r: string) => void)[] = [];
  const s = {
    closed: false,
    failSends: false,
    /** a send fails because the stream is closing (closed, not yet reported) */
    dyingSends: false,
    sent: [] as string[],
    send: async (b: Uint8Array) => {
      if (s.failSends) throw new Error('stream gone');
      if (s.dyingSends) {
        s.closed = true;
        throw new Error('stream closing');
      }
      s.sent.push(Buffer.from(b).toString());
    },
    onMessage: (h: (b: Uint8Array) => void) => void (handler = h),
    onClose: (h: (r: string) => void) => void closers.push(h),
    close: (r: string) => {
      if (s.closed) return;
      s.closed = true;
      for (const c of closers) c(r);
    },
    deliver: (m: string) => handler!(Buffer.from(m)),
  };
  return s;
}

test('the carrier sends over the stream while it is up, answers go back the way they came, and a lost stream is reported once', async () => {
  const dc = recorder();
  const carrier = new BulkCarrier(dc);
  const heard: { msg: string; replyOn: Channel | undefined }[] = [];
  carrier.onMessage((b, replyOn) => heard.push({ msg: Buffer.from(b).toString(), replyOn }));
  const lost: string[] = [];
  carrier.onLost((r) => lost.push(r));

  await carrier.send(Buffer.from('r1'));
  assert.equal(carrier.transport, 'datachannel');
  const s = fakeStream();
  carrier.attach(s, 'udx');
  assert.equal(carrier.transport, 'udx');
  await carrier.send(Buffer.from('r2'));
  assert.deepEqual(dc.sent, ['r1']);
  assert.deepEqual(s.sent, ['r2']);

  dc.deliver('q-dc');
  s.deliver('q-udx');
  await heard[0]!.replyOn!.send(Buffer.from('a-dc'));
  await heard[1]!.replyOn!.send(Buffer.from('a-udx'));
  assert.deepEqual(dc.sent, ['r1', 'a-dc']);
  assert.deepEqual(s.sent, ['r2', 'a-udx']);

  // a send the stream refuses as it dies goes over the data channel instead
  s.failSends = true;
  await carrier.send(Buffer.from('r3'));
  assert.deepEqual(dc.sent, ['r1', 'a-dc', 'r3']);

  s.close('cut');
  assert.deepEqual(lost, ['cut']);
  assert.equal(carrier.transport, 'datachannel');
  // an answer to a request that came over the dead stream still reaches the peer
  await heard[1]!.replyOn!.send(Buffer.from('a-late'));
  assert.deepEqual(dc.sent, ['r1', 'a-dc', 'r3', 'a-late']);
  carrier.close('link closed');
  assert.deepEqual(lost, ['cut'], 'closing the link is not a loss');
});

test('a TCP stream takes over from a udx one: udx is closed, and what it had not delivered is sent again', async () => {
  const dc = recorder();
  const carrier = new BulkCarrier(dc);
  carrier.onMessage(() => {});
  const lost: string[] = [];
  carrier.onLost((r) => lost.push(r));
  const udx = fakeStream();
  carrier.attach(udx, 'udx');
  await carrier.send(Buffer.from('r1'));
  const tcp = fakeStream();
  carrier.attach(tcp, 'tcp');
  assert.equal(carrier.transport, 'tcp');
  assert.ok(udx.closed);
  assert.deepEqual(lost, ['replaced by a tcp stream'], 'requests the udx stream took are sent again (over TCP)');
  await carrier.send(Buffer.from('r2'));
  assert.deepEqual(udx.sent, ['r1']);
  assert.deepEqual(tcp.sent, ['r2']);
  tcp.close('cut');
  assert.equal(carrier.transport, 'datachannel');
  assert.deepEqual(lost, ['replaced by a tcp stream', 'cut']);
});

const listeners: TcpBulkListener[] = [];
const links: BulkLink[] = [];
after(async () => {
  for (const l of links) l.close('test over');
  for (const l of listeners) await l.close();
});

/** The reverse dial's waits in these tests (the daemon's: 5 s, then 15 s more; a 1.5 s wait was too short for the dial back and its TLS at load 50). */
const quickReverse = { afterMs: 300, waitMs: 8000 };

/** Two devices' BulkLinks for one link, their offers passed to each other; udx off, TCP as given. */
/** `a` sends "request 1", `b` answers it on the carrier it came by: what each end received. */
async function oneRequestAnswered(a: BulkLink, b: BulkLink): Promise<{ atA: string[]; atB: string[] }> {
  const atB: string[] = [];
  b.onMessage((m, replyOn) => {
    atB.push(Buffer.from(m).toString());
    void replyOn!.send(Buffer.from(`answer to ${Buffer.from(m).toString()}`));
  });
  const atA: string[] = [];
  a.onMessage((m) => atA.push(Buffer.from(m).toString()));
  await a.send(Buffer.from('request 1'));
  await waitFor(() => atA.length === 1, 'the answer');
  return { atA, atB };
}

async function linkedPair(opts: {
  bTcp: boolean;
  closeBListener?: boolean;
  closeAListener?: boolean;
  streams?: number;
  cutAAfter?: number;
}) {
  const [ca, cb] = [createDeviceCertificate(), createDeviceCertificate()];
  const open = async (c: typeof ca) => {
    const l = await TcpBulkListener.open({ identity: c, bindAddress: '127.0.0.1', log: () => undefined });
    listeners.push(l);
    return l;
  };
  const la = await open(ca);
  const lb = opts.bTcp ? await open(cb) : null;
  const logs = { a: [] as string[], b: [] as string[] };
  const [dcA, dcB] = [recorder(), recorder()];
  const a = new BulkLink({
    endpoint: null,
    tcp: la,
    peerHost: () => '127.0.0.1',
    role: 'offerer',
    remoteFingerprint: cb.fingerprint,
    identity: () => ca,
    dataChannel: dcA,
    log: (m) => logs.a.push(m),
    tcpStreams: opts.streams ?? null,
    tcpReverse: quickReverse,
    ...(opts.cutAAfter !== undefined ? { cutAfterBytes: opts.cutAAfter } : {}),
  });
  const b = new BulkLink({
    endpoint: null,
    tcp: lb,
    peerHost: () => '127.0.0.1',
    role: 'answerer',
    remoteFingerprint: ca.fingerprint,
    identity: () => cb,
    dataChannel: dcB,
    log: (m) => logs.b.push(m),
    tcpStreams: opts.streams ?? null,
    tcpReverse: quickReverse,
  });
  links.push(a, b);
  if (opts.closeBListener) await lb!.close();
  if (opts.closeAListener) await la.close();
  const offers = { a: [] as BulkOffer[], b: [] as BulkOffer[] };
  a.start((m) => (offers.a.push(m), b.peerOffered(m)));
  b.start((m) => (offers.b.push(m), a.peerOffered(m)));
  return { a, b, dcA, dcB, logs, lb, ca, cb, offers };
}

test('two links with TCP on both ends carry their blocks over a TCP stream both ways, the data channel untouched', async () => {
  const { a, b, dcA, dcB, logs } = await linkedPair({ bTcp: true });
  await waitFor(() => a.transport === 'tcp' && b.transport === 'tcp', 'both ends on TCP');
  const { atA, atB } = await oneRequestAnswered(a, b);
  assert.deepEqual(atB, ['request 1']);
  assert.deepEqual(atA, ['answer to request 1']);
  assert.deepEqual([dcA.sent, dcB.sent], [[], []]);
  assert.ok(a.stats().bytesOut > 0 && b.stats().bytesIn === a.stats().bytesOut);
  assert.ok(
    logs.a.some((l) => /blocks go over a TCP stream to 127\.0\.0\.1:\d+/.test(l)),
    logs.a.join('\n'),
  );
  assert.equal(a.current, 'superseded', 'udx is not tried once TCP carries the blocks');
  // udx is off here: the log says so without claiming the data channel carries the blocks
  for (const l of [...logs.a, ...logs.b]) assert.doesNotMatch(l, /data channel(?! until a TCP stream is up)/, l);
  assert.ok(
    logs.a.includes('udx: no udx stream on this link: udx is off on this device; blocks go over the data channel until a TCP stream is up'),
    logs.a.join('\n'),
  );
});

test('a TCP port refused both ways, or TCP off at the peer, leaves the blocks on the data channel (udx off too)', async () => {
  const refused = await linkedPair({ bTcp: true, closeBListener: true, closeAListener: true });
  await waitFor(() => refused.logs.b.some((l) => /the reverse dial failed \(cannot connect to 127\.0\.0\.1/.test(l)), 'bravo to try alpha');
  await waitFor(
    () =>
      refused.logs.a.some((l) =>
        /no TCP stream on this link: cannot connect to 127\.0\.0\.1:\d+ by TCP: .*, and the peer's dial to this device did not come/.test(
          l,
        ),
      ),
    'alpha to give up waiting',
  );
  assert.equal(refused.a.transport, 'datachannel');
  await refused.a.send(Buffer.from('r'));
  assert.deepEqual(refused.dcA.sent, ['r']);

  const off = await linkedPair({ bTcp: false });
  await waitFor(() => off.logs.a.some((l) => /the peer does not use TCP/.test(l)), 'alpha to learn');
  assert.equal(off.a.transport, 'datachannel');
  assert.equal(off.b.transport, 'datachannel');
});

test("reverse dial: when the dialer cannot reach the peer's TCP port but the peer can reach its, the peer dials and the blocks go over TCP both ways", async () => {
  const { a, b, logs, dcA, dcB } = await linkedPair({ bTcp: true, closeBListener: true });
  await waitFor(() => a.transport === 'tcp' && b.transport === 'tcp', 'both ends on TCP');
  assert.ok(
    logs.a.some((l) =>
      /tcp: cannot reach the peer's TCP port \(cannot connect to 127\.0\.0\.1.*\); waiting for the peer to dial this device/.test(l),
    ),
    logs.a.join('\n'),
  );
  assert.ok(
    logs.b.some((l) => /tcp: no TCP connection from the peer yet; dialing it at 127\.0\.0\.1:\d+ instead/.test(l)),
    logs.b.join('\n'),
  );
  const { atA, atB } = await oneRequestAnswered(a, b);
  assert.deepEqual([atB, atA], [['request 1'], ['answer to request 1']]);
  assert.deepEqual([dcA.sent, dcB.sent], [[], []]);
  assert.equal(a.streams, 1);
  assert.equal(b.streams, 1);
});

test('requests in flight are sent again, same id, when their carrier lost them; a second answer is ignored', async () => {
  const sent: BlockRequest[] = [];
  const tracker = new RequestTracker(async (m) => void sent.push(m));
  const ac = new AbortController();
  const hash = new Uint8Array(32);
  const p1 = tracker.fetchChunk('ab'.repeat(20), 'a', hash, 0, 4, ac.signal);
  const p2 = tracker.fetchChunk('ab'.repeat(20), 'b', hash, 0, 2, ac.signal);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    sent.map((m) => m.id),
    [1, 2],
  );
  tracker.answered({ type: 'response', id: 1, status: 'ok', data: new Uint8Array(4).fill(1) });
  assert.equal(tracker.resendPending(), 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    sent.map((m) => `${m.id}:${m.path}`),
    ['1:a', '2:b', '2:b'],
  );
  tracker.answered({ type: 'response', id: 2, status: 'ok', data: new Uint8Array(2).fill(2) });
  tracker.answered({ type: 'response', id: 2, status: 'ok', data: new Uint8Array(2).fill(9) });
  assert.deepEqual(await p1, new Uint8Array(4).fill(1));
  assert.deepEqual(await p2, new Uint8Array(2).fill(2));
  assert.equal(tracker.inFlight, 0);
});

// ---- stripes: several TCP streams of one link --------------------------------------------------

test('stripeCount: one stream on loopback and LAN round trips, a long path as many as its bandwidth-delay product needs windows, 2-4', () => {
  const mib4 = 4 * 1024 * 1024;
  assert.equal(stripeCount({ rttMs: 100, socketBufferBytes: mib4, loopback: true }), 1, 'loopback: the CPU is the limit');
  assert.equal(stripeCount({ rttMs: 0.2, socketBufferBytes: mib4 }), 1);
  assert.equal(stripeCount({ rttMs: 9.9, socketBufferBytes: mib4 }), 1, 'a LAN');
  assert.equal(stripeCount({ rttMs: Number.NaN, socketBufferBytes: mib4 }), 1, 'no measurement: one');
  // 1 Gbit/s x 20 ms = 2.5 MB: one 4 MiB buffer's window (~2.5 MB) holds it; the second is for loss
  assert.equal(stripeCount({ rttMs: 20, socketBufferBytes: mib4 }), 2);
  // x 50 ms = 6.25 MB: three windows
  assert.equal(stripeCount({ rttMs: 50, socketBufferBytes: mib4 }), 3);
  // x 100 ms = 12.5 MB: five windows, capped
  assert.equal(stripeCount({ rttMs: 100, socketBufferBytes: mib4 }), MAX_TCP_STREAMS);
  assert.equal(stripeCount({ rttMs: 300, socketBufferBytes: mib4 }), MAX_TCP_STREAMS);
  // a kernel that lets one socket buffer 32 MiB needs no more windows at 100 ms
  assert.equal(stripeCount({ rttMs: 100, socketBufferBytes: 32 * 1024 * 1024 }), 2);
  assert.equal(forcedStripeCount(undefined), null);
  assert.equal(forcedStripeCount(''), null);
  assert.equal(forcedStripeCount('3'), 3);
  assert.equal(forcedStripeCount('9'), MAX_TCP_STREAMS);
  assert.equal(forcedStripeCount('0'), null);
  assert.equal(forcedStripeCount('two'), null);
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.2'));
  assert.ok(!isLoopback('10.0.0.1') && !isLoopback('fe80::1'));
});

test('the carrier spreads requests over its streams by bytes asked and not answered; a lost stream names only its own requests', async () => {
  const dc = recorder();
  const carrier = new BulkCarrier(dc);
  carrier.onMessage(() => {});
  const lost: { reason: string; requests: number[] }[] = [];
  carrier.onLost((reason, requests) => lost.push({ reason, requests }));
  const [s1, s2, s3] = [fakeStream(), fakeStream(), fakeStream()];
  carrier.attach(s1, 'tcp');
  carrier.attach(s2, 'tcp');
  carrier.attach(s3, 'tcp');
  assert.equal(carrier.streams, 3);
  assert.ok(!s1.closed, 'a stripe of the same kind is added, not a replacement');
  await carrier.sendRequest(Buffer.from('q1'), 1, 100);
  await carrier.sendRequest(Buffer.from('q2'), 2, 100);
  await carrier.sendRequest(Buffer.from('q3'), 3, 50);
  // s3 has 50 bytes asked, the others 100: it takes the next
  await carrier.sendRequest(Buffer.from('q4'), 4, 40);
  assert.deepEqual([s1.sent, s2.sent, s3.sent], [['q1'], ['q2'], ['q3', 'q4']]);
  carrier.answered(1);
  await carrier.sendRequest(Buffer.from('q5'), 5, 10);
  assert.deepEqual(s1.sent, ['q1', 'q5'], 'the answered stream is the emptiest');
  s3.close('cut');
  assert.deepEqual(lost, [{ reason: 'cut', requests: [3, 4] }]);
  assert.equal(carrier.streams, 2);
  assert.equal(carrier.transport, 'tcp');
  // sent again: over a stream still up, never the data channel
  await carrier.sendRequest(Buffer.from('q3'), 3, 50);
  await carrier.sendRequest(Buffer.from('q4'), 4, 40);
  assert.deepEqual(dc.sent, []);
  assert.equal(s1.sent.length + s2.sent.length, 5);
  // a send a stream refuses as it closes goes over another stream
  s1.dyingSends = s2.dyingSends = true;
  await carrier.send(Buffer.from('answer'));
  assert.deepEqual(dc.sent, ['answer'], 'both refused it as they closed: the data channel took it');
  s1.dyingSends = false;
  (s1 as { closed: boolean }).closed = false;
  (s2 as { closed: boolean }).closed = false;
  s2.dyingSends = true;
  await carrier.send(Buffer.from('answer 2'));
  assert.ok(s1.sent.includes('answer 2'), 'the stream that refused it as it closed passed it on to the other');
  s1.close('gone');
  s2.close('gone');
  assert.equal(carrier.transport, 'datachannel');
  await carrier.sendRequest(Buffer.from('q6'), 6, 1);
  assert.deepEqual(dc.sent, ['answer', 'q6']);
  assert.equal(leastAsked([]), null);
});

/** Every request b gets is answered over the way it came with `size` bytes of `fill(id)`. */
function answerAll(b: BulkLink, fill: (id: number) => number) {
  const perStream = new Map<Channel, number>();
  b.onMessage((bytes, replyOn) => {
    const req = decodeMessage(bytes) as BlockRequest;
    perStream.set(replyOn!, (perStream.get(replyOn!) ?? 0) + 1);
    void replyOn!.send(encodeMessage({ type: 'response', id: req.id, status: 'ok', data: new Uint8Array(req.size).fill(fill(req.id)) }));
  });
  return perStream;
}

/** A tracker fetching from `a` as a device link does: requests by sendRequest, answers settled on the carrier, lost ones sent again. */
function trackerOn(a: BulkLink): RequestTracker {
  const tracker = new RequestTracker((m) => a.sendRequest(encodeMessage(m), m.id, m.size));
  a.onMessage((bytes) => {
    const res = decodeMessage(bytes) as BlockResponse;
    a.answered(res.id);
    tracker.answered(res);
  });
  a.onLost((_, requests) => tracker.resendPending(requests));
  return tracker;
}

test('three TCP streams of one link carry 24 MiB of requests and answers whole, spread over all three', async () => {
  const { a, b, dcA, dcB, logs } = await linkedPair({ bTcp: true, streams: 3 });
  await waitFor(() => a.streams === 3 && b.streams === 3, 'three streams at both ends');
  assert.ok(
    logs.a.some((l) => l === 'tcp: the blocks are striped over 3 TCP streams (PEERFOLD_TCP_STREAMS)'),
    logs.a.join('\n'),
  );
  const perStream = answerAll(b, (id) => id % 251);
  const tracker = trackerOn(a);
  const ac = new AbortController();
  const got = await Promise.all(
    Array.from({ length: 96 }, (_, i) => tracker.fetchChunk('ab'.repeat(20), 'f', new Uint8Array(32), i * 262144, 262144, ac.signal)),
  );
  for (const g of got) {
    assert.ok(g instanceof Uint8Array && g.length === 262144);
    // a 256 KiB chunk is two requests: each half filled by its own id
    const first = g[0]!;
    assert.ok(g.subarray(0, 1000).every((x) => x === first));
  }
  assert.equal(perStream.size, 3, 'every stream carried requests');
  for (const n of perStream.values()) assert.ok(n >= 10, `a stream carried only ${n} requests`);
  assert.deepEqual([dcA.sent, dcB.sent], [[], []], 'nothing over the data channel');
  assert.equal(a.transport, 'tcp');
});

test('a stream killed mid-transfer loses nothing: its requests go over the other stripes', async () => {
  // alpha's first stream is cut once 6 MiB came over it
  const { a, b, dcA, logs } = await linkedPair({ bTcp: true, streams: 3, cutAAfter: 6 * 1024 * 1024 });
  await waitFor(() => a.streams === 3 && b.streams === 3, 'three streams at both ends');
  const want = new Map<number, number>();
  answerAll(b, (id) => id % 253);
  const tracker = trackerOn(a);
  const ac = new AbortController();
  const fetches = Array.from({ length: 128 }, (_, i) =>
    tracker.fetchChunk('ab'.repeat(20), `f${i}`, new Uint8Array(32), 0, 200_000, ac.signal).then((g) => {
      assert.ok(g instanceof Uint8Array && g.length === 200_000, `chunk ${i}: ${String(g)}`);
      want.set(i, g[0]!);
    }),
  );
  await Promise.all(fetches);
  assert.equal(want.size, 128);
  await waitFor(
    () => logs.a.some((l) => /a TCP stream was lost \(fault injection.*\); its requests go over the other 2/.test(l)),
    'the cut',
  );
  assert.equal(a.streams, 2);
  assert.equal(a.transport, 'tcp');
  assert.deepEqual(dcA.sent, [], 'the other stripes, not the data channel, took the requests');
  assert.equal(tracker.inFlight, 0);
});

test('a stream that presents another device certificate is refused, even with the link tokens; the stripes stay', async () => {
  const { a, b, lb, cb, offers } = await linkedPair({ bTcp: true, streams: 2 });
  await waitFor(() => a.streams === 2 && b.streams === 2, 'two streams at both ends');
  const aOffer = offers.a.find((m): m is TcpOffer => m.type === 'tcpOffer')!;
  const bOffer = offers.b.find((m): m is TcpOffer => m.type === 'tcpOffer')!;
  const intruder = createDeviceCertificate();
  await assert.rejects(
    dialTcpBulk('127.0.0.1', lb!.port, {
      identity: intruder,
      binding: { remoteFingerprint: cb.fingerprint, ourToken: aOffer.token, peerToken: bOffer.token },
      bindTimeoutMs: 3_000,
      log: () => undefined,
    }),
  );
  assert.equal(b.streams, 2, 'no third stream was bound');
  assert.equal(a.streams, 2);
});
