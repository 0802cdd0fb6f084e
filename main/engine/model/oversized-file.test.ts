// A file cut into more chunks than an index entry may carry (MAX_CHUNKS_PER_FILE: 4,194,304, a file
// of 64 GiB or more) cannot be synced. It used to enter the index anyway, and sending the index then
// failed on it, so nothing of the share reached other devices after it. It is now a scan error of
// that file, shown as any unreadable file is, and the rest of the share is indexed as before. The
// limit is lowered through the share's context so that a file of a few chunks stands for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openShareFixture } from './share-fixture.ts';

test(
  'a file with more chunks than the limit is not indexed and is shown as an error; the other files are indexed',
  { timeout: 60_000 },
  async () => {
    const f = await openShareFixture({
      maxChunksPerFile: 4,
      before: (root) => {
        writeFileSync(join(root, 'small.txt'), 'fits in one chunk');
        writeFileSync(join(root, 'big.bin'), randomBytes(2 * 1024 * 1024)); // 2 MiB: about 32 chunks
      },
    });
    try {
      await f.settled();
      assert.ok(f.local('small.txt'), 'the small file is indexed');
      assert.equal(f.local('big.bin'), null, 'the big file is not');
      const [shown] = f.folder.pathErrors();
      assert.equal(shown?.path, 'big.bin');
      assert.match(shown!.error, /^big\.bin is not synced: at 0\.0 GiB it has \d+ chunks, more than the 4 one file may have; move it out/);
      // later changes still go into the index, and the error stays while the file does
      writeFileSync(join(f.root, 'later.txt'), 'still syncing');
      await f.folder.requestScan();
      await f.settled();
      assert.ok(f.local('later.txt'));
      assert.deepEqual(
        f.folder.pathErrors().map((e) => e.path),
        ['big.bin'],
      );
    } finally {
      await f.close();
    }
  },
);
