// A synced path is never written through a symbolic link: a peer that syncs `lnk -> /outside`
// and then `lnk/pwned.txt`, or a link the user made inside the share, must not lead any write
// (or delete, or archive move) outside the share. Each test plants the link and checks the
// folder outside stays untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  statSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  archiveCurrent,
  installTemp,
  makeDir,
  makeSymlink,
  removeForTombstone,
  removeInShare,
  renameInShare,
  unchangedOnDisk,
} from './apply.ts';
import { buildTempFile, sha256 } from './file-puller.ts';
import { UnsafePathError, safeParent } from './path-safety.ts';

function setup() {
  const base = mkdtempSync(join(tmpdir(), 'peerfold-nofollow-'));
  const root = join(base, 'share');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  symlinkSync(outside, join(root, 'lnk'));
  return { base, root, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

const refused = (err: unknown) => err instanceof UnsafePathError && /symbolic link/.test(err.message);

test('a pulled file is never built or installed through a linked folder', async () => {
  const { root, outside, done } = setup();
  try {
    const data = Buffer.from('pwned');
    const hash = sha256(data);
    await assert.rejects(
      buildTempFile({
        root,
        path: 'lnk/pwned.txt',
        size: data.length,
        contentHash: hash.toString('hex'),
        chunks: [{ hash, size: data.length }],
        provider: { local: async () => data, remote: async () => data },
        signal: new AbortController().signal,
      }),
      refused,
    );
    // a deeper link: a real folder, then the link, then more folders to create
    mkdirSync(join(root, 'real'));
    symlinkSync(outside, join(root, 'real', 'lnk'));
    await assert.rejects(
      buildTempFile({
        root,
        path: 'real/lnk/new/deep.txt',
        size: data.length,
        contentHash: hash.toString('hex'),
        chunks: [{ hash, size: data.length }],
        provider: { local: async () => data, remote: async () => data },
        signal: new AbortController().signal,
      }),
      refused,
    );
    // a temp file built beside a real folder, then that folder swapped for a link before the rename
    mkdirSync(join(root, 'dir'));
    const { tempPath } = await buildTempFile({
      root,
      path: 'dir/f.txt',
      size: data.length,
      contentHash: hash.toString('hex'),
      chunks: [{ hash, size: data.length }],
      provider: { local: async () => data, remote: async () => data },
      signal: new AbortController().signal,
    });
    const moved = join(root, 'moved');
    rmSync(moved, { force: true });
    await import('node:fs/promises').then((f) => f.rename(join(root, 'dir'), moved));
    symlinkSync(outside, join(root, 'dir'));
    await assert.rejects(
      installTemp(root, 'dir/f.txt', join(moved, tempPath.slice(join(root, 'dir').length + 1)), { expect: undefined }),
      refused,
    );
    assert.deepEqual(readdirSync(outside), []);
  } finally {
    done();
  }
});

test('folders and links are not made through a linked folder, nor is a link taken for a folder', async () => {
  const { root, outside, done } = setup();
  try {
    await assert.rejects(makeDir(root, 'lnk/sub', 0o755), refused);
    await assert.rejects(makeSymlink(root, 'lnk/l2', '/etc', Date.now()), refused);
    chmodSync(outside, 0o755);
    await assert.rejects(makeDir(root, 'lnk', 0o700), (err) => err instanceof UnsafePathError);
    assert.equal(statSync(outside).mode & 0o777, 0o755, 'the folder the link points to keeps its mode');
    assert.deepEqual(readdirSync(outside), []);
    // the ordinary cases still work: nested folders are made, a link replaces a link
    assert.ok((await makeDir(root, 'a/b/c', 0o755)).isDirectory());
    assert.ok((await makeSymlink(root, 'a/b/link', 'c', Date.now())).isSymbolicLink());
    assert.ok((await makeSymlink(root, 'a/b/link', 'other', Date.now())).isSymbolicLink());
    assert.deepEqual(readdirSync(join(root, 'a', 'b')).sort(), ['c', 'link'], 'no temp link left behind');
  } finally {
    done();
  }
});

test('nothing outside is deleted, archived, renamed or compared through a linked folder', async () => {
  const { root, outside, done } = setup();
  try {
    writeFileSync(join(outside, 'victim'), 'precious');
    await assert.rejects(removeForTombstone(root, 'lnk/victim', 'x-1'), refused);
    await assert.rejects(archiveCurrent(root, 'lnk/victim', 'x-1', true), refused);
    await assert.rejects(removeInShare(root, 'lnk/victim', 'entry'), refused);
    await assert.rejects(renameInShare(root, 'lnk/victim', 'stolen'), refused);
    writeFileSync(join(root, 'mine'), 'mine');
    await assert.rejects(renameInShare(root, 'mine', 'lnk/mine'), refused);
    // "is the target as the index says" must not look through the link either: the answer would
    // be a local change, rescanned and retried forever
    await assert.rejects(unchangedOnDisk(root, 'lnk/victim', undefined), refused);
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'precious');
    assert.deepEqual(readdirSync(outside), ['victim']);
    assert.ok(existsSync(join(root, 'mine')));
    // the link itself is an ordinary synced entry: it can be removed
    assert.equal(await removeForTombstone(root, 'lnk', 'x-1'), 'removed');
    assert.ok(lstatSync(outside).isDirectory());
  } finally {
    done();
  }
});

test('safeParent makes missing folders and refuses a file or a link on the way', async () => {
  const { root, done } = setup();
  try {
    assert.equal(await safeParent(root, 'x/y/z.txt', true), join(root, 'x', 'y', 'z.txt'));
    assert.ok(statSync(join(root, 'x', 'y')).isDirectory());
    assert.equal(await safeParent(root, 'missing/deeper/f'), join(root, 'missing', 'deeper', 'f'));
    assert.ok(!existsSync(join(root, 'missing')), 'without create nothing is made');
    writeFileSync(join(root, 'file'), '');
    await assert.rejects(safeParent(root, 'file/inside', true), (err) => err instanceof UnsafePathError && /is a file/.test(err.message));
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '']) {
      await assert.rejects(safeParent(root, bad, true), UnsafePathError, bad);
    }
  } finally {
    done();
  }
});

test('files of one folder checked at once share the lstat of each folder, and a link put there after is still caught', async () => {
  const { root, outside, done } = setup();
  const fsp = (await import('node:fs')).promises;
  const lstat = fsp.lstat;
  let calls = 0;
  fsp.lstat = ((...args: Parameters<typeof lstat>) => {
    calls++;
    return lstat(...args);
  }) as typeof lstat;
  try {
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    const paths = await Promise.all(Array.from({ length: 50 }, (_, i) => safeParent(root, `a/b/f${i}.txt`)));
    assert.equal(paths[49], join(root, 'a', 'b', 'f49.txt'));
    assert.ok(calls <= 4, `${calls} lstats for 50 files in one folder`);
    // a check asked for after the folder became a link looks at the disk again
    rmSync(join(root, 'a', 'b'), { recursive: true });
    symlinkSync(outside, join(root, 'a', 'b'));
    await assert.rejects(safeParent(root, 'a/b/f0.txt'), refused);
  } finally {
    fsp.lstat = lstat;
    done();
  }
});
