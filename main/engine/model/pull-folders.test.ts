// A peer's tree of folders arrives whole: folders of one depth are made together, each after its
// parent, and every one is in place and recorded before the share calls itself idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openShareFixture, until } from './share-fixture.ts';

test('a tree of 120 folders three deep with a file in each arrives whole', { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    await f.settled();
    const dirs: string[] = [];
    for (let a = 0; a < 40; a++) {
      dirs.push(`a${a}`, `a${a}/b`, `a${a}/b/c`);
    }
    // deepest first in the index, as a peer may send them
    for (const d of [...dirs].reverse()) f.peerWrites(d, '', { type: 'dir' });
    for (const d of dirs) f.peerWrites(`${d}/file.txt`, `in ${d}`);
    await until('every file', () => dirs.every((d) => f.local(`${d}/file.txt`)));
    await f.settled();
    assert.equal(f.folder.state, 'idle');
    for (const d of dirs) {
      assert.ok(statSync(join(f.root, d)).isDirectory(), d);
      assert.equal(f.local(d)?.type, 'dir', `${d} recorded`);
      assert.equal(readFileSync(join(f.root, d, 'file.txt'), 'utf8'), `in ${d}`);
    }
  } finally {
    await f.close();
  }
});

/**
 * A new device gets a long index page by page while it pulls (issue 11, "Scale"): each page's
 * folders and files join the plan under way (pull/plan-queue.ts) instead of a new plan per page,
 * and at the end every folder and file is in place and recorded, nothing is left needed.
 */
test(
  'a new device gets a tree of 400 folders in 60 pages of its index, and ends with every folder and file',
  { timeout: 300_000 },
  async () => {
    const f = await openShareFixture({ joined: true });
    try {
      await f.settled();
      // the order a peer's scan sends them in: the root's folders, then each folder's files and subfolder
      const tops = Array.from({ length: 200 }, (_, i) => `d${i}`);
      const dirs = tops.flatMap((d) => [d, `${d}/sub`]);
      const files = dirs.flatMap((d) => [`${d}/a.txt`, `${d}/b.txt`]);
      const records = [
        ...tops.map((d) => f.peerWrites(d, '', { type: 'dir', held: true })),
        ...tops.flatMap((d) => [
          f.peerWrites(`${d}/a.txt`, `a of ${d}`, { held: true }),
          f.peerWrites(`${d}/b.txt`, `b of ${d}`, { held: true }),
          f.peerWrites(`${d}/sub`, '', { type: 'dir', held: true }),
        ]),
        ...tops.flatMap((d) => [
          f.peerWrites(`${d}/sub/a.txt`, `a of ${d}/sub`, { held: true }),
          f.peerWrites(`${d}/sub/b.txt`, `b of ${d}/sub`, { held: true }),
        ]),
      ];
      assert.equal(records.length, dirs.length + files.length);
      const PAGE = 20;
      for (let at = 0; at < records.length; at += PAGE) {
        await f.peerIndex(records.slice(at, at + PAGE));
        // the pull runs between pages, as it does while a long index arrives over a link
        await new Promise((r) => setTimeout(r, 15));
      }
      await until('every file', () => files.every((p) => f.local(p)), 240_000);
      await f.settled();
      assert.equal(f.folder.state, 'idle');
      const summary = f.folder.syncSummary();
      assert.equal(summary.needFiles, 0);
      assert.equal(summary.globalFiles, files.length);
      assert.deepEqual(summary.errors, []);
      for (const d of dirs) {
        assert.ok(statSync(join(f.root, d)).isDirectory(), d);
        assert.equal(f.local(d)?.type, 'dir', `${d} recorded`);
      }
      for (const p of files)
        assert.equal(readFileSync(join(f.root, p), 'utf8'), `${p.endsWith('a.txt') ? 'a' : 'b'} of ${p.slice(0, p.lastIndexOf('/'))}`);
    } finally {
      await f.close();
    }
  },
);
