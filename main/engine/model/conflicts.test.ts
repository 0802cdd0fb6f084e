// The share's conflict list is derived from every local entry, and status asks for it several
// times a second while files arrive: it is derived again only when written entries may change it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConflictInfo } from '../../../shared/api.ts';
import { conflictPath } from '../sync/names.ts';
import { touchesConflicts } from './conflicts.ts';
import { PEER, openShareFixture, until } from './share-fixture.ts';

const listed = (path: string, copy: string): ConflictInfo => {
  const side = { deviceId: PEER, deviceName: 'peer', mtimeMs: 1, size: 1, hash: 'h' };
  return { shareId: 's', path, conflictPath: copy, winner: side, loser: side, createdAt: 1 };
};

test('written entries touch the conflicts only when they are a conflict copy or a listed conflict', () => {
  const copy = conflictPath('docs/notes.txt', { name: 'peer', id: PEER }, Date.UTC(2026, 0, 2), () => false);
  const conflicts = [listed('docs/notes.txt', copy)];
  assert.equal(touchesConflicts(['a.txt', 'docs/b.txt', 'docs/notes.txt.bak'], conflicts), false, 'unrelated files');
  assert.equal(touchesConflicts([], conflicts), false);
  assert.equal(touchesConflicts(['a.txt', 'docs/notes.txt'], conflicts), true, 'the file a conflict is about (its winner side)');
  assert.equal(touchesConflicts([copy], []), true, 'a new conflict copy');
  const other = conflictPath('x/y.md', { name: 'laptop', id: PEER }, Date.UTC(2026, 0, 3), () => false);
  assert.equal(touchesConflicts(['a.txt', other], conflicts), true, 'another conflict copy');
});

test('a pulled new version of a conflicted file shows in its conflict, unrelated pulls leave it listed', { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    await f.settled();
    const winner = f.peerWrites('notes.txt', 'the winning text');
    const copy = conflictPath('notes.txt', { name: 'peer', id: PEER }, winner.mtimeMs - 1000, () => false);
    f.peerWrites(copy, 'the losing text');
    await until('both files', () => existsSync(join(f.root, copy)) && existsSync(join(f.root, 'notes.txt')));
    await f.settled();
    assert.deepEqual(
      f.folder.conflicts().map((c) => [c.path, c.conflictPath, c.winner.size]),
      [['notes.txt', copy, 'the winning text'.length]],
    );
    for (let i = 0; i < 20; i++) f.peerWrites(`other/file-${i}.txt`, `unrelated ${i}`);
    await until('the unrelated files', () => existsSync(join(f.root, 'other/file-19.txt')));
    await f.settled();
    assert.equal(f.folder.conflicts().length, 1, 'still listed after unrelated pulls');
    f.peerWrites('notes.txt', 'a longer winning text, edited again');
    await until('the new version', () => readFileSync(join(f.root, 'notes.txt'), 'utf8').startsWith('a longer'));
    await f.settled();
    assert.deepEqual(
      f.folder.conflicts().map((c) => c.winner.size),
      ['a longer winning text, edited again'.length],
      'the conflict shows the winner as it is now',
    );
  } finally {
    await f.close();
  }
});
