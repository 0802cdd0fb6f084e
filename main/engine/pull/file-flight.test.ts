import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CHUNKS_AHEAD, MAX_FILES_IN_FLIGHT, MIN_CHUNK_DEMAND, chunkDemandBytes, mayAskChunk, mayStartFile } from './file-flight.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

test('small files start by the hundred, big ones one or two at a time: by bytes, not by a count', () => {
  const demand = chunkDemandBytes(2 * MiB);
  assert.equal(demand, 4 * MiB);
  // 4 KiB files: only the count cap stops them
  let running = 0;
  while (mayStartFile(running, running * 4 * KiB, 4 * KiB, demand)) running++;
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
