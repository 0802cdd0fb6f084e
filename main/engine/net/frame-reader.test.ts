// The bulk streams' frame reader (bulk-tls.ts): frames split anywhere, read from a buffer the
// caller reuses, each big frame in memory of its own, and a lying length refused before anything
// is allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameError, FrameReader, MAX_FRAME_BYTES, frameHeader } from './bulk-tls.ts';
import { isPooledFrame, recycleFrame } from './frame-pool.ts';

/** A wire of frames with the given lengths (random contents), and the frames. */
function wireOf(lengths: number[]): { wire: Buffer; frames: Buffer[] } {
  const frames = lengths.map((n) => randomBytes(n));
  return { wire: Buffer.concat(frames.flatMap((f) => [frameHeader(f.length), f])), frames };
}

/** Feeds `wire` in pieces of the given sizes (cycled) through one reused buffer, as a socket's read buffer. */
function readThroughOneBuffer(reader: FrameReader, wire: Buffer, sizes: number[]): Buffer[] {
  const scratch = Buffer.alloc(Math.max(...sizes));
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < wire.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, wire.length - at);
    wire.copy(scratch, 0, at, at + n);
    out.push(...reader.push(scratch.subarray(0, n), true));
    scratch.fill(0xee); // what the next read would do to it
    at += n;
  }
  return out;
}

test('frames split anywhere, keepalives are empty, an oversized frame is an error', () => {
  const r = new FrameReader(100);
  const wire = Buffer.concat([frameHeader(3), Buffer.from('abc'), frameHeader(0), frameHeader(5), Buffer.from('hello')]);
  const got: string[] = [];
  for (let i = 0; i < wire.length; i++) for (const f of r.push(wire.subarray(i, i + 1))) got.push(f.toString());
  assert.deepEqual(got, ['abc', '', 'hello']);
  assert.throws(() => new FrameReader(100).push(frameHeader(101)), FrameError);
});

test('frames read through one reused buffer, split at odd places (TLS records), arrive whole and unchanged', () => {
  // big answers and small messages mixed, headers split across pieces
  const { wire, frames } = wireOf([262_000, 3, 75_001, 0, 4096, 4097, 1, 200_000, 16_384]);
  for (const sizes of [[16_384], [1], [7, 16_384, 3, 9000], [65_536], [wire.length]]) {
    const got = readThroughOneBuffer(new FrameReader(), wire, sizes);
    assert.equal(got.length, frames.length, `pieces of ${sizes}`);
    got.forEach((f, i) => assert.ok(f.equals(frames[i]!), `frame ${i} intact, pieces of ${sizes}`));
  }
});

test("a big frame is in memory of its own (a frame of the frame pool's), not a slice of a shared buffer", () => {
  const { wire } = wireOf([75_000, 100, 75_000]);
  const got = readThroughOneBuffer(new FrameReader(), wire, [16_384]);
  for (const f of [got[0]!, got[2]!]) assert.ok(isPooledFrame(f));
  const [a, c] = [got[0]!, got[2]!];
  assert.ok(a.byteOffset + a.length <= c.byteOffset || c.byteOffset + c.length <= a.byteOffset, 'apart');
  assert.ok(!isPooledFrame(got[1]!), 'a small frame is not');
  for (const f of [a, c]) recycleFrame(f);
});

test('a frame wholly inside a piece the reader may keep is a view into it (no copy)', () => {
  const { wire } = wireOf([10, 20_000]);
  const got = new FrameReader().push(wire);
  assert.equal(got.length, 2);
  for (const f of got) assert.equal(f.buffer, wire.buffer);
});

test('a lying length is refused from its header alone, before memory is set aside for it', () => {
  const r = new FrameReader();
  const head = frameHeader(MAX_FRAME_BYTES + 1);
  // the header split over two pieces: the first says nothing yet
  assert.deepEqual(r.push(head.subarray(0, 2), true), []);
  assert.throws(() => r.push(head.subarray(2), true), FrameError);
  assert.throws(() => new FrameReader().push(frameHeader(0xffffffff), true), /at most/);
});
