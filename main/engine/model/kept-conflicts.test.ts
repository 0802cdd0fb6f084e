// A losing concurrent version whose author is away: the device that replaced it keeps it in the
// archive and lists the conflict, until the author's own conflict copy arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflictPath } from '../sync/names.ts';
import { OTHER, PEER, openShareFixture, type ShareFixture, until } from './share-fixture.ts';

const read = (f: ShareFixture, p: string) => (existsSync(join(f.root, p)) ? readFileSync(join(f.root, p), 'utf8') : null);

/** PEER's edit arrives, then OTHER's concurrent (and winning) edit of the same file. */
async function losingVersionReplaced(f: ShareFixture) {
  await f.settled();
  const loser = f.peerWrites('notes.txt', 'the edit of a device that went away');
  await until('the first version', () => read(f, 'notes.txt') === 'the edit of a device that went away');
  f.peerWrites('notes.txt', 'the concurrent edit that wins', { device: OTHER, version: { [OTHER]: 1 } });
  await until('the winning version', () => read(f, 'notes.txt') === 'the concurrent edit that wins');
  await f.settled();
  return loser;
}

test(
  'a losing concurrent version is listed as a conflict by the device that kept it, and can be brought back',
  { timeout: 60_000 },
  async () => {
    const f = await openShareFixture();
    try {
      await losingVersionReplaced(f);
      const conflicts = f.folder.conflicts();
      assert.equal(conflicts.length, 1, JSON.stringify(conflicts));
      const c = conflicts[0]!;
      assert.equal(c.path, 'notes.txt');
      assert.equal(c.loser.deviceId, PEER);
      assert.equal(c.winner.deviceId, OTHER);
      assert.equal(read(f, c.conflictPath), 'the edit of a device that went away', 'the conflict points at the archived version');
      // "remote" here means the version not in place: the archived loser comes back
      await f.folder.resolveConflict('notes.txt', 'remote');
      await f.settled();
      assert.equal(read(f, 'notes.txt'), 'the edit of a device that went away');
      assert.deepEqual(f.folder.conflicts(), []);
      assert.equal(f.local('notes.txt')?.modifiedBy !== PEER, true, 'the resolution is a new local version');
    } finally {
      await f.close();
    }
  },
);

test('when the author returns with its conflict copy, the conflict is listed once', { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    const loser = await losingVersionReplaced(f);
    assert.equal(f.folder.conflicts().length, 1);
    // the author makes its copy (it alone does, by the sync rules) and it reaches this device
    const copy = conflictPath('notes.txt', { name: 'peer', id: PEER }, loser.mtimeMs, () => false);
    f.peerWrites(copy, 'the edit of a device that went away');
    await until('the copy', () => read(f, copy) !== null);
    await f.settled();
    const conflicts = f.folder.conflicts();
    assert.deepEqual(
      conflicts.map((c) => c.conflictPath),
      [copy],
    );
  } finally {
    await f.close();
  }
});

test("keeping both puts the kept version beside the winner under its author's name", { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    await losingVersionReplaced(f);
    await f.folder.resolveConflict('notes.txt', 'both');
    await f.settled();
    assert.deepEqual(f.folder.conflicts(), []);
    assert.equal(read(f, 'notes.txt'), 'the concurrent edit that wins');
    const beside = readdirSync(f.root).filter((n) => n.startsWith('notes (PEER '));
    assert.equal(beside.length, 1, readdirSync(f.root).join(', '));
    assert.equal(read(f, beside[0]!), 'the edit of a device that went away');
    assert.ok(f.local(beside[0]!), 'the copy is a file of the share like any other');
  } finally {
    await f.close();
  }
});
