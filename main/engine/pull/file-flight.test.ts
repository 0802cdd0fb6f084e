import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_CHUNKS_AHEAD, MAX_FILES_IN_FLIGHT, MIN_CHUNK_DEMAND, chunkDemandBytes, mayAskChunk, mayStartFile } from './file-flight.ts';
import { openShareFixture, until } from '../model/share-fixture.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

test('small files start by the hundred, big ones one or two at a time: by bytes, not by a count', () => {
  const demand = chunkDemandBytes(2 * MiB);
  assert.equal(demand, 4 * MiB);
  // 8 KiB files: only the count cap stops them
  let running = 0;
  while (mayStartFile(running, running * 8 * KiB, 8 * KiB, demand)) running++;
  assert.equal(running, MAX_FILES_IN_FLIGHT);
  // 100 MiB files: the first always starts, the second would only queue at the links
  assert.ok(mayStartFile(0, 0, 100 * MiB, demand));
  assert.ok(!mayStartFile(1, 100 * MiB, 100 * MiB, demand));
  // 1 MiB files: as many as the demand holds
  running = 0;
  while (mayStartFile(running, running * MiB, MiB, demand)) running++;
  assert.equal(running, 4);
});

test("one file asks for chunks ahead by twice the links' windows, at least MIN_CHUNK_DEMAND", () => {
  assert.equal(chunkDemandBytes(0), MIN_CHUNK_DEMAND);
  assert.equal(chunkDemandBytes(32 * MiB), 64 * MiB);
  assert.ok(mayAskChunk(0, 0, 256 * KiB, 1), 'the first chunk always goes');
  assert.ok(mayAskChunk(3 * MiB, 48, MiB, 4 * MiB));
  assert.ok(!mayAskChunk(3 * MiB + 1, 48, MiB, 4 * MiB));
  assert.ok(!mayAskChunk(0, MAX_CHUNKS_AHEAD, 1, 1024 * MiB), 'the count cap holds whatever the bytes');
});

test('a share pulls many small files at once across a slow peer, every byte right', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    // each answer takes 300 ms: a long round trip
    f.source.delayMs = 300;
    const files = Array.from({ length: 300 }, (_, i) => ({ path: `small/f${i}.txt`, content: randomBytes(100 + (i % 50) * 40) }));
    await f.peerIndex(files.map((x) => f.peerWrites(x.path, x.content)));
    await until('every file', () => files.every((x) => f.local(x.path)), 100_000);
    for (const x of files) assert.deepEqual(readFileSync(join(f.root, x.path)), x.content);
    // a fixed 16 files at once kept 16 round trips' worth in flight; by bytes it is the file cap
    assert.ok(f.source.peakInFlight >= 100, `at most ${f.source.peakInFlight} fetches at once`);
  } finally {
    await f.close();
  }
});

test('one big file asks for as many chunks at once as the windows hold, not a fixed 32', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    f.source.delayMs = 300;
    f.source.window = 16 * MiB;
    const content = randomBytes(12 * MiB);
    await f.peerIndex([f.peerWrites('big.bin', content)]);
    await until('the file', () => f.local('big.bin'), 100_000);
    assert.ok(readFileSync(join(f.root, 'big.bin')).equals(content));
    // ~190 chunks of ~64 KiB, a demand of 32 MiB: all of them at once
    assert.ok(f.source.peakInFlight >= 100, `at most ${f.source.peakInFlight} chunks at once`);
  } finally {
    await f.close();
  }
});
