// Failed pulls against a real share (folder, index, scanner, puller) and a pretend peer: a failure
// waits and is shown per path, a cause that goes away is noticed, temp files do not pile up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempNameFor } from '../scan/ignore.ts';
import { RETRY_FIRST_MS } from '../pull/retry.ts';
import { openShareFixture, type ShareFixture, until } from './share-fixture.ts';

const errorOf = (f: ShareFixture, path: string) => f.folder.syncSummary().errors.find((e) => e.path === path);
const tempsIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.pftmp-'));

test(
  'a pull blocked by something a rescan cannot explain (an ignored file in the way) waits and is shown per path, not retried at once',
  { timeout: 60_000 },
  async () => {
    // the local file is ignored here, so a rescan never explains what is in the way
    const f = await openShareFixture({
      before: (root) => {
        writeFileSync(join(root, 'build.log'), 'local, ignored');
        writeFileSync(join(root, '.peerfold', 'ignore'), '*.log\n');
      },
    });
    try {
      f.peerWrites('build.log', 'from the peer');
      const first = await until('the path to be reported', () => errorOf(f, 'build.log'));
      assert.match(first.error, /in the way.*tried again later/);
      // with the clock held still, nothing may try it again, however often a pass is asked for
      const logsBefore = f.logs.length;
      for (let i = 0; i < 5; i++) {
        f.folder.syncSoon();
        await f.settled();
      }
      assert.equal(errorOf(f, 'build.log')?.error, first.error);
      assert.deepEqual(f.logs.slice(logsBefore), [], 'nothing tried again');
      assert.equal(readFileSync(join(f.root, 'build.log'), 'utf8'), 'local, ignored', 'the local file is left alone');
      assert.equal(f.folder.syncSummary().needFiles, 1, 'still needed, not forgotten');
    } finally {
      await f.close();
    }
  },
);

test(
  'a pull through a folder that is a symlink here waits and is shown per path; nothing is written outside',
  { timeout: 60_000 },
  async () => {
    const outside = mkdtempSync(join(tmpdir(), 'peerfold-outside-'));
    writeFileSync(join(outside, 'f.txt'), 'not the share');
    const f = await openShareFixture({
      before: (root) => {
        symlinkSync(outside, join(root, 'd'));
        writeFileSync(join(root, '.peerfold', 'ignore'), 'd\n');
      },
    });
    try {
      f.peerWrites('d', '', { type: 'dir' });
      f.peerWrites('d/f.txt', 'from the peer');
      const first = await until('the path to be reported', () => errorOf(f, 'd/f.txt'));
      assert.match(first.error, /symbolic link.*tried again later/);
      const logsBefore = f.logs.length;
      for (let i = 0; i < 3; i++) {
        f.folder.syncSoon();
        await f.settled();
      }
      assert.deepEqual(f.logs.slice(logsBefore), [], 'nothing tried again');
      assert.equal(readFileSync(join(outside, 'f.txt'), 'utf8'), 'not the share');
    } finally {
      await f.close();
      rmSync(outside, { recursive: true, force: true });
    }
  },
);

test('a failed pull is tried again after its wait, and the error goes once it succeeds', { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    f.source.failWith = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    f.peerWrites('a.txt', 'hello');
    await until('the failure to be shown', () => errorOf(f, 'a.txt'));
    assert.match(errorOf(f, 'a.txt')!.error, /disk is full/);
    f.source.failWith = null;
    f.clock.advance(RETRY_FIRST_MS + 1);
    await until('the file after the wait', () => existsSync(join(f.root, 'a.txt')) && !errorOf(f, 'a.txt'), 30_000);
    assert.equal(readFileSync(join(f.root, 'a.txt'), 'utf8'), 'hello');
  } finally {
    await f.close();
  }
});

function canMount(dir: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]).status === 0;
}

test(
  'a full disk: the pull fails with a clear error, leaves no temp file, and is retried at once when a rescan finds space',
  { timeout: 120_000 },
  async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'peerfold-tmpfs-'));
    if (!canMount(mnt)) {
      rmSync(mnt, { recursive: true, force: true });
      t.skip('mounting a 2 MiB tmpfs was refused (not root, or no mount permission in this container)');
      return;
    }
    let f: ShareFixture | null = null;
    try {
      f = await openShareFixture({ root: join(mnt, 'share') });
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      f.peerWrites('big.bin', big);
      await until('the full disk to be reported', () => errorOf(f!, 'big.bin'));
      assert.match(errorOf(f, 'big.bin')!.error, /disk is full/);
      assert.deepEqual(tempsIn(join(mnt, 'share')), [], 'the partial temp file is gone (it held the space)');
      execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
      // the clock stands still: only the rescan's finding of free space can bring the retry
      await f.folder.requestScan();
      await until('the file once space is back', () => existsSync(join(f!.root, 'big.bin')) && !errorOf(f!, 'big.bin'));
      assert.ok(readFileSync(join(f.root, 'big.bin')).equals(big));
    } finally {
      await f?.close();
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  },
);

test(
  'a folder that refuses writes: the error is shown, and a rescan after the permission comes back retries at once',
  { timeout: 60_000 },
  async (t) => {
    const f = await openShareFixture({ before: (root) => mkdirSync(join(root, 'locked')) });
    const locked = join(f.root, 'locked');
    try {
      // as root a 0555 folder is still writable: the immutable flag refuses even root
      if (spawnSync('chattr', ['+i', locked]).status !== 0) {
        t.skip('chattr +i is not available on this file system');
        return;
      }
      f.peerWrites('locked', '', { type: 'dir' });
      f.peerWrites('locked/new.txt', 'content');
      await until('the refusal to be reported', () => errorOf(f, 'locked/new.txt'));
      assert.match(errorOf(f, 'locked/new.txt')!.error, /permission denied/);
      spawnSync('chattr', ['-i', locked]);
      await f.folder.requestScan();
      await until('the file once writable', () => existsSync(join(locked, 'new.txt')) && !errorOf(f, 'locked/new.txt'));
      assert.deepEqual(tempsIn(locked), []);
    } finally {
      spawnSync('chattr', ['-i', locked]);
      await f.close();
    }
  },
);

test(
  'temp files no pull wants are removed after a scan; the one an unfinished pull resumes from stays until it is done',
  { timeout: 60_000 },
  async () => {
    const stale = tempNameFor('gone.txt', 'ab'.repeat(32));
    const f = await openShareFixture({
      before: (root) => {
        mkdirSync(join(root, 'sub'));
        writeFileSync(join(root, 'sub', stale), 'left by a crash');
      },
    });
    try {
      f.source.failWith = Object.assign(new Error('peer went away'), { code: 'ECONNRESET' });
      const rec = f.peerWrites('sub/wanted.txt', 'x'.repeat(5000));
      await until('the pull to fail', () => errorOf(f, 'sub/wanted.txt'));
      const wanted = tempNameFor('wanted.txt', rec.hash);
      await f.folder.requestScan();
      await f.settled();
      assert.deepEqual(tempsIn(join(f.root, 'sub')), [wanted], 'the stale one went; the wanted one stays for resuming');
      f.source.failWith = null;
      f.clock.advance(RETRY_FIRST_MS + 1);
      await until('the file', () => existsSync(join(f.root, 'sub', 'wanted.txt')));
      await f.settled();
      assert.deepEqual(tempsIn(join(f.root, 'sub')), []);
    } finally {
      await f.close();
    }
  },
);

test('a temp file of a version the peer has since replaced is removed', { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    f.source.failWith = Object.assign(new Error('peer went away'), { code: 'ECONNRESET' });
    const first = f.peerWrites('a.txt', 'first version');
    await until('the pull to fail', () => errorOf(f, 'a.txt'));
    writeFileSync(join(f.root, tempNameFor('a.txt', first.hash)), 'first ver');
    f.source.failWith = null;
    f.peerWrites('a.txt', 'second version');
    await until(
      'the second version',
      () => existsSync(join(f.root, 'a.txt')) && readFileSync(join(f.root, 'a.txt'), 'utf8') === 'second version',
    );
    await f.folder.requestScan();
    await f.settled();
    assert.deepEqual(tempsIn(f.root), []);
  } finally {
    await f.close();
  }
});

test('a file no peer could supply is tried again as soon as the peers change, not after its wait', { timeout: 60_000 }, async () => {
  const f = await openShareFixture();
  try {
    f.source.failWith = new Error('waiting for a peer that has this file');
    f.peerWrites('a.txt', 'from a peer that connects later');
    await until('the failure', () => errorOf(f, 'a.txt'));
    f.source.failWith = null;
    // the clock stands still: only "a peer connected" (the network calls syncSoon) brings the retry
    f.folder.syncSoon();
    await until('the file', () => existsSync(join(f.root, 'a.txt')) && !errorOf(f, 'a.txt'));
  } finally {
    await f.close();
  }
});
