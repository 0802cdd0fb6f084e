// Status shows this device's file counts several times a second; counting is a pass over every
// local entry, so the share counts again only after its own entries changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SELF, openShareFixture, until } from './share-fixture.ts';

test('the local counts follow pulls and scans, and asking again without a change reads nothing', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    let counted = 0;
    const counts = f.store.counts.bind(f.store);
    f.store.counts = (...args) => {
      counted++;
      return counts(...args);
    };
    await f.peerIndex(['a.txt', 'b.txt', 'dir/c.txt'].map((p) => f.peerWrites(p, `of ${p}`)));
    await until('three files', () => f.folder.localCounts().files === 3);
    await f.settled();
    const before = counted;
    for (let i = 0; i < 20; i++) assert.deepEqual(f.folder.localCounts(), { files: 3, dirs: 1, symlinks: 0, bytes: 8 + 8 + 12 });
    assert.equal(counted - before, 1, 'counted again without a change');

    writeFileSync(join(f.root, 'new.txt'), 'twelve bytes');
    writeFileSync(join(f.root, 'b.txt'), 'longer than it was');
    await f.folder.requestScan(['new.txt', 'b.txt']);
    assert.deepEqual(f.folder.localCounts(), { files: 4, dirs: 1, symlinks: 0, bytes: 8 + 18 + 12 + 12 });
    assert.deepEqual(f.folder.localCounts(), counts(f.folder.id, SELF));
  } finally {
    await f.close();
  }
});
