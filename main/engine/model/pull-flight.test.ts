// The puller against a real share (folder, index, puller) and a slow pretend peer: how much it
// keeps in flight (pull/file-flight.ts), with every byte checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openShareFixture, until } from './share-fixture.ts';

const MiB = 1024 * 1024;

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

test(
  'an index that arrives in pages is pulled page after page without waiting for the files of the first in flight',
  { timeout: 120_000 },
  async () => {
    const f = await openShareFixture();
    try {
      // a long round trip: every fetch takes 5 s
      f.source.delayMs = 5_000;
      const page = (from: number) => Array.from({ length: 40 }, (_, i) => ({ path: `p/f${from + i}.txt`, content: randomBytes(200 + i) }));
      const first = page(0);
      const second = page(40);
      await f.peerIndex(first.map((x) => f.peerWrites(x.path, x.content)));
      await until('the first page in flight', () => f.source.inFlight >= first.length);
      await f.peerIndex(second.map((x) => f.peerWrites(x.path, x.content)));
      // the second page's files start while the first page's are still on their way
      await until('both pages in flight at once', () => f.source.peakInFlight >= first.length + second.length, 100_000).catch(() =>
        assert.fail(`at most ${f.source.peakInFlight} fetches at once: the second page waited for the first`),
      );
      await until('every file', () => [...first, ...second].every((x) => f.local(x.path)), 100_000);
      for (const x of [...first, ...second]) assert.deepEqual(readFileSync(join(f.root, x.path)), x.content);
    } finally {
      await f.close();
    }
  },
);
