// Status shows this device's file counts several times a second; counting is a pass over every
// local entry, so the store counts once and then keeps the counts up to date as it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SELF, openShareFixture, until } from './share-fixture.ts';

test('the local counts follow pulls and scans, and asking again without a change reads nothing', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    // the counting query itself, wherever the counts are asked for
    let counted = 0;
    const db = (f.store as unknown as { db: { rows: (sql: string, params?: unknown) => unknown } }).db;
    const rows = db.rows.bind(db);
    db.rows = (sql, params) => {
      if (sql.includes('count(*)')) counted++;
      return rows(sql, params);
    };
    const counts = f.store.counts.bind(f.store);
    await f.peerIndex(['a.txt', 'b.txt', 'dir/c.txt'].map((p) => f.peerWrites(p, `of ${p}`)));
    await until('three files', () => f.folder.localCounts().files === 3);
    await f.settled();
    const before = counted;
    for (let i = 0; i < 20; i++) assert.deepEqual(f.folder.localCounts(), { files: 3, dirs: 1, symlinks: 0, bytes: 8 + 8 + 12 });
    assert.ok(counted - before <= 1, `counted ${counted - before} times without a change`);

    writeFileSync(join(f.root, 'new.txt'), 'twelve bytes');
    writeFileSync(join(f.root, 'b.txt'), 'longer than it was');
    await f.folder.requestScan(['new.txt', 'b.txt']);
    assert.deepEqual(f.folder.localCounts(), { files: 4, dirs: 1, symlinks: 0, bytes: 8 + 18 + 12 + 12 });
    assert.deepEqual(f.folder.localCounts(), counts(f.folder.id, SELF));
    const afterScan = counted;
    for (let i = 0; i < 20; i++) f.folder.localCounts();
    assert.equal(counted - afterScan, 0, 'the counts kept through the scan were counted again');
  } finally {
    await f.close();
  }
});
