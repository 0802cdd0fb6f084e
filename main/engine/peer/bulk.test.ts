// Choosing the carrier of a link's blocks (pure), the carrier's fallback, and requests sent again
// when a carrier lost them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulkCarrier, type BulkStreamLike } from './bulk-carrier.ts';
import { planBulk, tlsRole } from './bulk-choice.ts';
import type { Channel } from './pipe.ts';
import { RequestTracker } from './request-tracker.ts';
import type { BlockRequest, UdxOffer } from '../protocol/messages.ts';

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
  carrier.attach(s);
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
