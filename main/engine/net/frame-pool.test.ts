// The memory of big frames (frame-pool.ts): no memory is ever handed out twice at once, whatever is
// handed back and how often; a full arena gives memory of a frame's own instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arenaOffset, frameArena, frameArenaStats, frameBuffer, isPooledFrame, recycleFrame } from './frame-pool.ts';

const span = (b: Buffer): [number, number] => [b.byteOffset, b.byteOffset + b.length];
const overlap = (a: Buffer, b: Buffer) => span(a)[0] < span(b)[1] && span(b)[0] < span(a)[1];

test('frames out at once never share memory; a frame handed back takes the next one that fits', () => {
  const a = frameBuffer(70_000);
  const b = frameBuffer(70_000);
  assert.equal(a.buffer, frameArena());
  assert.equal(b.buffer, frameArena());
  assert.ok(!overlap(a, b));
  assert.equal(a.length, 70_000);
  // a view into the middle of the frame (an answer among several in one message) hands the whole frame back
  recycleFrame(a.subarray(40_000));
  assert.ok(!isPooledFrame(a));
  assert.equal(arenaOffset(a), -1);
  const c = frameBuffer(80_000); // fits where a was (first fit)
  assert.equal(c.byteOffset, a.byteOffset);
  assert.ok(!overlap(c, b));
  const d = frameBuffer(70_000);
  assert.ok(!overlap(d, c) && !overlap(d, b));
  for (const f of [b, c, d]) recycleFrame(f);
});

test("handing back twice, or memory that is not a frame's, changes nothing", () => {
  const before = frameArenaStats().out;
  const a = frameBuffer(200_000);
  assert.equal(frameArenaStats().out, before + 1);
  recycleFrame(a);
  recycleFrame(a);
  assert.equal(frameArenaStats().out, before);
  const x = frameBuffer(200_000);
  const y = frameBuffer(200_000);
  assert.ok(!overlap(x, y), 'the memory handed back twice is handed out once');
  recycleFrame(Buffer.alloc(200_000));
  recycleFrame(new Uint8Array(5));
  assert.equal(frameArenaStats().out, before + 2);
  recycleFrame(x);
  recycleFrame(y);
});

test('a full arena gives frames memory of their own; what comes back makes room again', () => {
  const { bytes, missed } = frameArenaStats();
  const many: Buffer[] = [];
  for (let i = 0; i * 256 * 1024 < bytes; i++) many.push(frameBuffer(250_000));
  assert.equal(frameArenaStats().missed, missed);
  const extra = frameBuffer(250_000);
  assert.notEqual(extra.buffer, frameArena());
  assert.ok(!isPooledFrame(extra));
  assert.equal(frameArenaStats().missed, missed + 1);
  for (let i = 0; i < many.length; i++) for (let j = i + 1; j < Math.min(many.length, i + 3); j++) assert.ok(!overlap(many[i]!, many[j]!));
  recycleFrame(many[7]!);
  assert.equal(frameBuffer(250_000).byteOffset, many[7]!.byteOffset);
  for (const f of many) recycleFrame(f);
  assert.equal(frameArenaStats().out, 0);
});
