import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelSender, type SenderLimits } from './channel-sender.ts';

/** A native channel stand-in whose buffer only drains when the test says so. */
class FakeChannel {
  buffered = 0;
  sent: Uint8Array[] = [];
  closed = false;
  sendMessageBinary(b: Uint8Array): boolean {
    if (this.closed) throw new Error('DataChannel is closed');
    this.sent.push(b);
    this.buffered += b.byteLength;
    return false;
  }
  bufferedAmount(): number {
    return this.buffered;
  }
}

const limits: SenderLimits = { highWater: 100, lowWater: 20, maxQueuedBytes: 200, maxMessageBytes: 60 };
const flush = () => new Promise((r) => setImmediate(r));

test('sends immediately under the high-water mark, waits above it, in order', async () => {
  const ch = new FakeChannel();
  const s = new ChannelSender(ch, 'data', limits);
  const done: number[] = [];
  const sends = [0, 1, 2, 3].map((i) => s.send(new Uint8Array(50).fill(i)).then(() => done.push(i)));
  await flush();
  assert.deepEqual(done, [0, 1]); // 100 bytes buffered = high water: the rest wait
  assert.equal(ch.sent.length, 2);
  assert.equal(s.queuedBytes, 100);
  ch.buffered = 10;
  s.onBufferedAmountLow();
  await Promise.all(sends);
  assert.deepEqual(done, [0, 1, 2, 3]);
  assert.deepEqual(
    ch.sent.map((b) => b[0]),
    [0, 1, 2, 3],
  );
  assert.equal(s.bytesSent, 200);
  assert.ok(s.maxBufferedSeen <= limits.highWater + limits.maxMessageBytes);
});

test('rejects oversized messages and a full queue, with a message that says what to do', async () => {
  const ch = new FakeChannel();
  const s = new ChannelSender(ch, 'data', limits);
  await assert.rejects(s.send(new Uint8Array(61)), /exceeds the 60-byte limit/);
  ch.buffered = 1000;
  const waiting = [s.send(new Uint8Array(60)), s.send(new Uint8Array(60)), s.send(new Uint8Array(60))];
  await assert.rejects(s.send(new Uint8Array(60)), /queue full.*await send/);
  s.fail(new Error('link closed'));
  for (const w of waiting) await assert.rejects(w, /link closed/);
  await assert.rejects(s.send(new Uint8Array(1)), /link closed/);
});

test('a native send that throws fails the sender instead of escaping', async () => {
  const ch = new FakeChannel();
  ch.closed = true;
  const s = new ChannelSender(ch, 'index', limits);
  await assert.rejects(s.send(new Uint8Array(1)), /send failed: DataChannel is closed/);
  await assert.rejects(s.send(new Uint8Array(1)), /send failed/);
});
