// Restoring from the archive goes through the same no-follow checks as a pull: a folder swapped for
// a symbolic link after a version was archived must not lead the restore outside the share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveCurrent } from '../pull/apply.ts';
import { UnsafePathError } from '../pull/path-safety.ts';
import { restoreFromArchive } from './archive.ts';

test('an archived version is not restored through a linked folder', async () => {
  const base = mkdtempSync(join(tmpdir(), 'peerfold-archive-'));
  const [root, outside] = [join(base, 'share'), join(base, 'outside')];
  try {
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'f.txt'), 'v1');
    const archived = await archiveCurrent(root, 'f.txt', 'x-1', false);
    writeFileSync(join(root, 'sub', 'g.txt'), 'v1');
    const archivedSub = await archiveCurrent(root, 'sub/g.txt', 'x-1', true);
    rmSync(join(root, 'sub'), { recursive: true });
    symlinkSync(outside, join(root, 'sub'));
    await assert.rejects(
      restoreFromArchive(root, archivedSub, 'x-2'),
      (err) => err instanceof UnsafePathError && /symbolic link/.test(err.message),
    );
    assert.deepEqual(readdirSync(outside), []);
    assert.equal(await restoreFromArchive(root, archived, 'x-2'), 'f.txt');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
