// The memory of received big frames, used again once their chunk is written (frame-pool.ts): no
// memory is ever handed out twice at once, whatever is handed back and how often.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameBuffer, freeFrameBytes, isPooledFrame, recycleFrame } from './frame-pool.ts';

test('memory handed back takes the next frame of its size class; memory still out is never handed out again', () => {
  const a = frameBuffer(70_000);
  const b = frameBuffer(70_000);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(a.length, 70_000);
  // a view into the frame (an answer's data after its header) hands the whole frame back
  recycleFrame(a.subarray(9));
  assert.ok(!isPooledFrame(a));
  const c = frameBuffer(80_000); // same class (96 KiB)
  assert.equal(c.buffer, a.buffer);
  assert.notEqual(c.buffer, b.buffer);
  const d = frameBuffer(70_000);
  assert.notEqual(d.buffer, c.buffer);
  assert.notEqual(d.buffer, b.buffer);
});

test("handing back twice, or memory that is not a frame's, changes nothing", () => {
  const before = freeFrameBytes();
  const a = frameBuffer(200_000);
  recycleFrame(a);
  recycleFrame(a);
  assert.equal(freeFrameBytes(), before + a.buffer.byteLength, 'kept once');
  const x = frameBuffer(200_000);
  const y = frameBuffer(200_000);
  assert.notEqual(x.buffer, y.buffer, 'the memory handed back twice is handed out once');
  recycleFrame(Buffer.alloc(200_000));
  recycleFrame(new Uint8Array(5));
  assert.equal(freeFrameBytes(), before);
});

test('the free memory kept is bounded: a burst of frames handed back at once is mostly left to the collector', () => {
  const many = Array.from({ length: 200 }, () => frameBuffer(250_000));
  for (const f of many) recycleFrame(f);
  assert.ok(freeFrameBytes() <= 8 * 1024 * 1024, `${freeFrameBytes()} bytes kept`);
});
