// The share's loop with a real folder, index and scanner and a pretend peer: its states, and
// scans, pulls and a peer's index entries taking turns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openShareFixture, SELF, until } from './share-fixture.ts';

test(
  "a joined share waits for a peer's index and is never idle before it, even when the peer's index is empty",
  { timeout: 60_000 },
  async () => {
    const f = await openShareFixture({ joined: true });
    try {
      await f.settled();
      assert.equal(f.folder.state, 'waiting');
      assert.ok(!f.states.includes('idle'), `states so far: ${f.states.join(' -> ')}`);
      await f.peerIndex([]);
      await f.settled();
      assert.equal(f.folder.state, 'idle');
      assert.deepEqual(f.states, ['waiting', 'idle']);
      assert.equal(f.store.awaitingPeerIndex('share-1'), false, 'remembered across restarts');
    } finally {
      await f.close();
    }
  },
);

test(
  "a share goes scanning -> idle -> syncing -> idle as the peer's files arrive; every change is emitted once",
  { timeout: 60_000 },
  async () => {
    const f = await openShareFixture();
    try {
      await f.settled();
      f.source.delayMs = 30;
      for (let i = 0; i < 40; i++) f.peerWrites(`f${i}.txt`, `content ${i}`);
      await until('every file', () => readdirSync(f.root).filter((n) => n.endsWith('.txt')).length === 40);
      await f.settled();
      assert.equal(f.folder.state, 'idle');
      assert.deepEqual(f.states, ['idle', 'syncing', 'idle']);
    } finally {
      await f.close();
    }
  },
);

test('scans asked for while a pull installs files never record those files as deleted', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    await f.settled();
    f.source.delayMs = 2;
    const n = 300;
    for (let i = 0; i < n; i++) f.peerWrites(`d${i % 7}/f${i}.txt`, `file ${i}`);
    // full scans and scans of the very folders being written, all through the pull
    let scans = 0;
    while (
      readdirSync(f.root).length < 8 ||
      [0, 1, 2, 3, 4, 5, 6].some(
        (d) =>
          !existsSync(join(f.root, `d${d}`)) ||
          readdirSync(join(f.root, `d${d}`)).filter((x) => x.endsWith('.txt')).length < Math.ceil((n - d) / 7),
      )
    ) {
      void f.folder.requestScan(scans % 2 ? undefined : [`d${scans % 7}`]);
      scans++;
      await new Promise((r) => setTimeout(r, 15));
    }
    await f.folder.requestScan();
    await f.settled();
    const deleted = f.store
      .listFiles('share-1', SELF, { includeDeleted: true })
      .filter((r) => r.deleted)
      .map((r) => r.path);
    assert.deepEqual(deleted, [], `recorded as deleted after ${scans} scans`);
    assert.equal(f.folder.syncSummary().needFiles, 0);
  } finally {
    await f.close();
  }
});

test(
  'a long pull from a slow peer gives way: a local edit is scanned and recorded before the pull ends',
  { timeout: 120_000 },
  async () => {
    const f = await openShareFixture();
    try {
      await f.settled();
      f.source.delayMs = 40;
      // more files than a turn keeps in flight at once (file-flight.ts MAX_FILES_IN_FLIGHT)
      for (let i = 0; i < 1500; i++) f.peerWrites(`p/f${i}.txt`, `peer file ${i}`);
      await until('the pull to be under way', () => existsSync(join(f.root, 'p')) && readdirSync(join(f.root, 'p')).length > 20);
      writeFileSync(join(f.root, 'mine.txt'), 'written here during the pull');
      await f.folder.requestScan(['mine.txt']);
      assert.ok(f.local('mine.txt'), 'the local edit is in the index');
      const needLeft = f.store.listFiles('share-1', SELF).filter((r) => r.path.startsWith('p/f')).length;
      assert.ok(needLeft < 1500, `the scan did not wait for the whole pull (${needLeft} of 1500 pulled when it ran)`);
      await until('the whole pull', () => f.store.listFiles('share-1', SELF).filter((r) => r.path.startsWith('p/f')).length === 1500);
    } finally {
      await f.close();
    }
  },
);

const recordedDeletions = (f: Awaited<ReturnType<typeof openShareFixture>>) =>
  f.store
    .listFiles('share-1', SELF, { includeDeleted: true })
    .filter((r) => r.deleted)
    .map((r) => r.path);

test(
  'one rm -rf reported over two scans is decided as a whole: no slice is recorded, all of it is held',
  { timeout: 120_000 },
  async () => {
    const names = Array.from({ length: 30 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);
    const f = await openShareFixture({ before: (root) => names.forEach((n) => writeFileSync(join(root, n), n)) });
    try {
      await f.settled();
      assert.equal(f.store.counts('share-1', SELF).files, 30);
      // the watcher reports the first 5 of 25 deleted files in one scan, the other 20 in the next
      const first = names.slice(0, 5);
      const rest = names.slice(5, 25);
      for (const n of first) rmSync(join(f.root, n));
      await f.folder.requestScan(first);
      for (const n of rest) rmSync(join(f.root, n));
      await f.folder.requestScan(rest);
      assert.deepEqual(recordedDeletions(f), [], 'no deletion recorded (and sent to peers) before the burst settled');
      f.clock.advance(60_000);
      await until('the deletions to be held', () => f.folder.heldDeletes === 25);
      await f.settled();
      assert.deepEqual(recordedDeletions(f), [], 'a held deletion is not recorded');
      assert.equal(f.folder.heldDeletes, 25);
    } finally {
      await f.close();
    }
  },
);

test('a few deletions are recorded once they settle; a file that came back meanwhile is not deleted', { timeout: 120_000 }, async () => {
  const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt'];
  const f = await openShareFixture({ before: (root) => names.forEach((n) => writeFileSync(join(root, n), n)) });
  try {
    await f.settled();
    for (const n of names.slice(0, 3)) rmSync(join(f.root, n));
    await f.folder.requestScan(names.slice(0, 3));
    writeFileSync(join(f.root, 'c.txt'), 'back again');
    f.clock.advance(60_000);
    await until('the deletions to be recorded', () => recordedDeletions(f).length >= 2);
    await f.settled();
    assert.deepEqual(recordedDeletions(f).sort(), ['a.txt', 'b.txt']);
    assert.equal(f.folder.heldDeletes, 0);
    assert.ok(f.local('c.txt') && !f.local('c.txt')!.deleted);
  } finally {
    await f.close();
  }
});
