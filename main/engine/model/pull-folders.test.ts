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
