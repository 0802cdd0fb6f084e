// A received chunk counts only when its bytes hash to the index's hash, whichever thread hashed it
// (chunk-verify.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ChunkVerifier, OFF_THREAD_MIN_BYTES } from './chunk-verify.ts';
import { frameBuffer } from '../net/frame-pool.ts';

function received(bytes: Uint8Array): Buffer {
  // as a bulk stream's answer arrives: in the frame pool's shared memory
  const b = frameBuffer(bytes.length);
  b.set(bytes);
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

test('big chunks in shared memory are hashed by the worker: the right bytes pass, one flipped byte fails', async () => {
  const v = new ChunkVerifier(true);
  try {
    const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(OFF_THREAD_MIN_BYTES + i * 1000));
    const frames = chunks.map(received);
    assert.ok(frames[0]!.buffer instanceof SharedArrayBuffer);
    // a few corrupted in transit, among good ones verified in the same batches
    for (const i of [3, 17, 39]) frames[i]![100 + i] ^= 0x01;
    const verdicts = await Promise.all(frames.map((f, i) => v.verify(f, sha(chunks[i]!))));
    assert.deepEqual(
      verdicts.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0),
      [3, 17, 39],
    );
  } finally {
    await v.close();
  }
});

test('a chunk offered with another chunk’s hash fails, also when it is small or in memory of its own', async () => {
  const v = new ChunkVerifier(true);
  try {
    const a = randomBytes(64 * 1024);
    const b = randomBytes(64 * 1024);
    assert.equal(await v.verify(received(a), sha(b)), false);
    assert.equal(await v.verify(a, sha(b)), false);
    assert.equal(await v.verify(a, sha(a)), true);
    const small = randomBytes(100);
    assert.equal(await v.verify(received(small), sha(small)), true);
    assert.equal(await v.verify(received(small), sha(a)), false);
  } finally {
    await v.close();
  }
});

test('chunks the worker had when it was stopped are still hashed, never passed unchecked', async () => {
  const v = new ChunkVerifier(true);
  const good = randomBytes(256 * 1024);
  const bad = received(good);
  bad[0] ^= 0xff;
  const verdicts = [v.verify(received(good), sha(good)), v.verify(bad, sha(good))];
  await v.close();
  assert.deepEqual(await Promise.all(verdicts), [true, false]);
  // and after that it starts a worker again
  assert.equal(await v.verify(received(good), sha(good)), true);
  await v.close();
});
