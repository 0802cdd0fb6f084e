// A long scan sends what it found so far: peers start pulling the first files of a big folder
// while the rest is still being hashed, instead of waiting for a batch of 500 or the scan's end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HashPool, type FileHash } from '../scan/hasher.ts';
import { openShareFixture, until } from './share-fixture.ts';

/** Holds the hash of one file back until `release()`: a big file the scan is still reading. */
class HeldPool extends HashPool {
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  constructor(private readonly held: string) {
    super({ size: 2 });
  }
  release(): void {
    this.open();
  }
  override hash(path: string, sizeHint = 0): Promise<FileHash> {
    if (!path.endsWith(this.held)) return super.hash(path, sizeHint);
    return this.gate.then(() => super.hash(path, sizeHint));
  }
}

test('files a scan found are recorded (and so sent to peers) while it still hashes a slow file', { timeout: 120_000 }, async () => {
  const pool = new HeldPool('zz-big.bin');
  const f = await openShareFixture({
    pool,
    before: (root) => {
      for (let i = 0; i < 40; i++) writeFileSync(join(root, `f${i}.txt`), `small file ${i}`);
      writeFileSync(join(root, 'zz-big.bin'), Buffer.alloc(64 * 1024, 7));
    },
  });
  try {
    await until('the small files recorded', () => Array.from({ length: 40 }, (_, i) => f.local(`f${i}.txt`)).every(Boolean), 30_000);
    assert.equal(f.local('zz-big.bin'), null, 'the held file is not hashed yet');
    assert.equal(f.folder.state, 'scanning', 'the scan is still running');
    pool.release();
    await until('the held file recorded', () => f.local('zz-big.bin'));
    await f.settled();
    assert.equal(f.local('zz-big.bin')?.size, 64 * 1024);
  } finally {
    pool.release();
    await f.close();
  }
});
