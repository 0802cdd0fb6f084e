// Choosing the carrier of a link's blocks (pure), the carrier's fallback, and requests sent again
// when a carrier lost them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BulkCarrier, type BulkStreamLike } from './bulk-carrier.ts';
import { planBulk, planTcp, tcpTarget, tlsRole } from './bulk-choice.ts';
import { BulkLink } from './bulk-link.ts';
import type { Channel } from './pipe.ts';
import { RequestTracker } from './request-tracker.ts';
import type { BlockRequest, TcpOffer, UdxOffer } from '../protocol/messages.ts';
import { createDeviceCertificate } from '../keys/cert.ts';
import { TcpBulkListener } from '../net/tcp-bulk.ts';
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

function fakeStream(): BulkStreamLike & { sent: string[]; deliver(s: string): void; failSends: boolean } {
  let handler: ((b: Uint8Array) => void) | null = null;
  const closers: ((r: string) => void)[] = [];
  const s = {
    closed: false,
    failSends: false,
    sent: [] as string[],
    send: async (b: Uint8Array) => {
      if (s.failSends) throw new Error('stream gone');
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

/** Two devices' BulkLinks for one link, their offers passed to each other; udx off, TCP as given. */
async function linkedPair(opts: { bTcp: boolean; closeBListener?: boolean }) {
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
  });
  links.push(a, b);
  if (opts.closeBListener) await lb!.close();
  a.start((m) => b.peerOffered(m));
  b.start((m) => a.peerOffered(m));
  return { a, b, dcA, dcB, logs };
}

test('two links with TCP on both ends carry their blocks over a TCP stream both ways, the data channel untouched', async () => {
  const { a, b, dcA, dcB, logs } = await linkedPair({ bTcp: true });
  await waitFor(() => a.transport === 'tcp' && b.transport === 'tcp', 'both ends on TCP');
  const atB: string[] = [];
  b.onMessage((m, replyOn) => {
    atB.push(Buffer.from(m).toString());
    void replyOn!.send(Buffer.from(`answer to ${Buffer.from(m).toString()}`));
  });
  const atA: string[] = [];
  a.onMessage((m) => atA.push(Buffer.from(m).toString()));
  await a.send(Buffer.from('request 1'));
  await waitFor(() => atA.length === 1, 'the answer');
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

test('a refused TCP port, or TCP off at the peer, leaves the blocks on the data channel (udx off too)', async () => {
  const refused = await linkedPair({ bTcp: true, closeBListener: true });
  await waitFor(
    () => refused.logs.a.some((l) => /no TCP stream on this link: cannot connect to 127\.0\.0\.1/.test(l)),
    'the dial to be refused',
  );
  assert.equal(refused.a.transport, 'datachannel');
  await refused.a.send(Buffer.from('r'));
  assert.deepEqual(refused.dcA.sent, ['r']);

  const off = await linkedPair({ bTcp: false });
  await waitFor(() => off.logs.a.some((l) => /the peer does not use TCP/.test(l)), 'alpha to learn');
  assert.equal(off.a.transport, 'datachannel');
  assert.equal(off.b.transport, 'datachannel');
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
