// Before each file it starts, a pull reads the path's records again (the index may have moved on
// since the need pass). For many small files those reads come a batch of paths per query, and a
// record written after the batch was read is still seen (IndexStore.writeStamp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openShareFixture, until } from './share-fixture.ts';

test('a pull of 300 small files reads their records a batch per query, not one query per file', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    await f.settled();
    const paths = Array.from({ length: 300 }, (_, i) => `d${i % 3}/f${i}.txt`);
    // the peer's entries are written first (each as a batch of its own, then all together)
    await f.peerIndex(paths.map((p) => f.peerWrites(p, `content of ${p}`)));
    let single = 0;
    let batched = 0;
    const one = f.store.entriesForPath.bind(f.store);
    const many = f.store.entriesForPaths.bind(f.store);
    f.store.entriesForPath = (...args) => (single++, one(...args));
    f.store.entriesForPaths = (...args) => (batched++, many(...args));
    await until('every file', () => paths.every((p) => f.local(p)));
    for (const p of paths) assert.equal(readFileSync(join(f.root, p), 'utf8'), `content of ${p}`);
    assert.ok(single + batched < 100, `${single} single and ${batched} batched reads for 300 files`);
  } finally {
    await f.close();
  }
});

test('a record written after the pull read ahead is what the pull acts on', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    await f.settled();
    // the peer's first version of b.txt is slow to come; a newer one arrives while a.txt is pulled
    f.source.delayMs = 300;
    await f.peerIndex([f.peerWrites('a.txt', 'a, first'), f.peerWrites('b.txt', 'b, first')]);
    await f.peerIndex([f.peerWrites('b.txt', 'b, second')]);
    await until('b.txt, second', () => {
      try {
        return readFileSync(join(f.root, 'b.txt'), 'utf8') === 'b, second';
      } catch {
        return false;
      }
    });
    await f.settled();
    assert.equal(readFileSync(join(f.root, 'b.txt'), 'utf8'), 'b, second');
    assert.equal(f.local('b.txt')!.size, 'b, second'.length);
  } finally {
    await f.close();
  }
});
