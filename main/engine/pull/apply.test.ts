import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalChangeError, installTemp, makeDir, makeSymlink } from './apply.ts';
import { buildTempFile, sha256 } from './file-puller.ts';

// A pulled version must read back with the author's whole-ms time: every device breaks ties
// between concurrent versions on floor(mtimeMs), and the puller records what the disk says.
test('an installed file and a made symlink keep the whole millisecond of the time they were given', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    for (let i = 0; i < 200; i++) {
      const ms = 1_764_600_000_000 + i * 7919;
      const { tempPath } = await build(root, `f${i}`, Buffer.from(`x${i}`), { mode: 0o640, mtimeMs: ms });
      const st = await installTemp(root, `f${i}`, tempPath);
      assert.equal(Math.floor(st.mtimeMs), ms, `file ${i}: ${st.mtimeMs} for ${ms}`);
      assert.equal(st.mode & 0o777, 0o640);
      // bits the umask clears on creation are given by chmod
      const open = await build(root, `g${i}`, Buffer.from(`y${i}`), { mode: 0o666, mtimeMs: ms });
      assert.equal((await installTemp(root, `g${i}`, open.tempPath)).mode & 0o777, 0o666);
      const ln = await makeSymlink(root, `l${i}`, 'target', ms);
      assert.equal(Math.floor(ln.mtimeMs), ms, `symlink ${i}: ${ln.mtimeMs} for ${ms}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function build(root: string, path: string, data: Buffer, final?: { mode: number; mtimeMs: number }) {
  const hash = sha256(data);
  return buildTempFile({
    root,
    path,
    size: data.length,
    contentHash: hash.toString('hex'),
    chunks: [{ hash, size: data.length }],
    provider: { local: async () => data, remote: async () => data },
    signal: new AbortController().signal,
    ...(final ? { final } : {}),
  });
}

test('a file that replaces nothing is installed only if nothing appeared at its path meanwhile', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    const first = await build(root, 'd/new.txt', Buffer.from('pulled'));
    writeFileSync(join(root, 'd', 'new.txt'), 'made here meanwhile');
    await assert.rejects(installTemp(root, 'd/new.txt', first.tempPath, { expect: undefined }), LocalChangeError);
    assert.equal(readFileSync(join(root, 'd', 'new.txt'), 'utf8'), 'made here meanwhile');
    rmSync(join(root, 'd', 'new.txt'));
    await installTemp(root, 'd/new.txt', first.tempPath, { expect: undefined });
    assert.equal(readFileSync(join(root, 'd', 'new.txt'), 'utf8'), 'pulled');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an interrupted temp file is resumed, and one longer than the file is cut to its size', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    const data = Buffer.from('the whole content');
    const { tempPath } = await build(root, 'f.txt', data);
    writeFileSync(tempPath, Buffer.concat([data, Buffer.from(' and stale bytes after it')]));
    const again = await build(root, 'f.txt', data);
    assert.equal(again.tempPath, tempPath);
    assert.equal(again.progress.resumed, data.length, 'the chunk already there was kept');
    assert.deepEqual(readFileSync(tempPath), data);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a pulled folder gets its mode, whether the umask leaves it whole or not, and an existing one is given it too', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    for (const mode of [0o700, 0o755, 0o777, 0o750]) {
      const st = await makeDir(root, `d${mode.toString(8)}`, mode);
      assert.ok(st.isDirectory());
      assert.equal(st.mode & 0o7777, mode, `made with ${mode.toString(8)}`);
      // made again with another mode (the peer changed it): the mode follows
      const again = await makeDir(root, `d${mode.toString(8)}`, 0o711);
      assert.equal(again.mode & 0o7777, 0o711);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a small file's chunk is asked for before its folder is made; when the folder cannot be made, the request is called off and nothing is written", async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    writeFileSync(join(root, 'd'), 'a file where the folder should be');
    const data = Buffer.from('pulled content');
    const hash = sha256(data);
    let asked: AbortSignal | null = null;
    await assert.rejects(
      buildTempFile({
        root,
        path: 'd/new.txt',
        size: data.length,
        contentHash: hash.toString('hex'),
        chunks: [{ hash, size: data.length }],
        provider: {
          local: async () => null,
          remote: (_spec, signal) => {
            asked = signal;
            // the answer is still on its way when the folder fails
            return new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          },
        },
        signal: new AbortController().signal,
      }),
    );
    assert.ok(asked, 'the chunk was asked for');
    assert.equal((asked as AbortSignal).aborted, true, 'and the request called off');
    assert.equal(readFileSync(join(root, 'd'), 'utf8'), 'a file where the folder should be');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
