// A scan compares each folder's listing with the records it loaded for that folder in one query;
// a new file it then hashes needs no lookup of its own entry (there is none), while a changed or
// deleted-then-recreated file still gets its entry read, so its version counts on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SELF, openShareFixture } from './share-fixture.ts';

test(
  'a scan of new files looks up no entry per file; an edited or recreated file still counts its version on',
  { timeout: 120_000 },
  async () => {
    const f = await openShareFixture();
    try {
      await f.settled();
      mkdirSync(join(f.root, 'd'));
      writeFileSync(join(f.root, 'd', 'old.txt'), 'first');
      writeFileSync(join(f.root, 'd', 'gone.txt'), 'to be deleted');
      await f.folder.requestScan(['d']);
      // a tombstone, as a deletion recorded earlier leaves it
      rmSync(join(f.root, 'd', 'gone.txt'));
      const was = f.local('d/gone.txt')!;
      const seq = f.store.maxSequence(f.folder.id, SELF) + 1;
      f.store.putFiles([{ ...was, deleted: true, size: 0, chunks: [], sequence: seq, version: { [SELF]: was.version[SELF]! + 1 } }]);
      assert.equal(f.local('d/gone.txt')?.deleted, true);
      const old = f.local('d/old.txt')!.version[SELF]!;
      const gone = f.local('d/gone.txt')!.version[SELF]!;

      const looked: string[] = [];
      const getFile = f.store.getFile.bind(f.store);
      // a lookup that finds nothing: a second scan of a file (the watcher's, or a recheck of a file
      // written within the racy window) reads its entry as it should
      f.store.getFile = (share, device, path) => {
        const got = getFile(share, device, path);
        if (!got) looked.push(path);
        return got;
      };
      for (let i = 0; i < 30; i++) writeFileSync(join(f.root, 'd', `new${i}.txt`), `new file ${i}`);
      writeFileSync(join(f.root, 'd', 'old.txt'), 'edited, longer');
      writeFileSync(join(f.root, 'd', 'gone.txt'), 'back again');
      await f.folder.requestScan(['d']);

      for (let i = 0; i < 30; i++) assert.equal(f.local(`d/new${i}.txt`)?.size, `new file ${i}`.length);
      assert.deepEqual(
        looked.filter((p) => p.startsWith('d/new')),
        [],
        'no lookup for a file the folder had no record of',
      );
      assert.ok(f.local('d/old.txt')!.version[SELF]! > old, 'the edit is a newer version');
      assert.ok(
        f.local('d/gone.txt')!.version[SELF]! > gone && !f.local('d/gone.txt')!.deleted,
        'the recreated file is newer than its tombstone',
      );
    } finally {
      await f.close();
    }
  },
);
