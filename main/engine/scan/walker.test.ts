import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimalRoots, normalizeRelPath, normalizeRequests, walk, type WalkItem } from './walker.ts';

test('on POSIX a backslash is part of a name, never a separator: `a\\..\\b` is one plain name', () => {
  for (const os of ['linux', 'darwin'] as const) {
    assert.equal(normalizeRelPath('a\\..\\b', os), 'a\\..\\b');
    assert.equal(normalizeRelPath('..\\..\\x', os), '..\\..\\x');
    assert.equal(normalizeRelPath('dir/x\\..//./y', os), 'dir/x\\../y');
  }
  assert.equal(normalizeRelPath('e\u0301', 'linux'), '\u00e9');
  assert.equal(normalizeRelPath('./', 'linux'), '');
});

test('on Windows a backslash is a separator, and climbing out of the share is refused', () => {
  assert.equal(normalizeRelPath('dir\\sub\\f.txt', 'win32'), 'dir/sub/f.txt');
  assert.throws(() => normalizeRelPath('a\\..\\b', 'win32'), /inside the share/);
  for (const os of ['linux', 'win32'] as const) assert.throws(() => normalizeRelPath('a/../b', os), /inside the share/);
});

test('a request that cannot be walked is reported alone; the others go on', () => {
  const r = normalizeRequests(['ok', '../up', 'a\\..\\b', 'x/./y'], 'linux');
  assert.deepEqual(r.paths, ['ok', 'a\\..\\b', 'x/y']);
  assert.deepEqual(
    r.bad.map((b) => b.path),
    ['../up'],
  );
  assert.deepEqual(minimalRoots(['a', 'a/b', 'a\\b', '']), ['']);
  assert.deepEqual(minimalRoots(['a', 'a/b', 'a\\b']), process.platform === 'win32' ? ['a'] : ['a', 'a\\b']);
  // a sibling that sorts between a folder and its contents ('-' < '/') does not hide the folder
  assert.deepEqual(minimalRoots(['a/x', 'a-b', 'a', 'a-b/c', 'b/c/d', 'b/c', 'b/cd']), ['a', 'a-b', 'b/c', 'b/cd']);
});

test('the minimal roots of thousands of new files: each file, or the folder that holds it', () => {
  const paths = Array.from({ length: 5_000 }, (_, i) => `many/dir${i % 100}/file-${i}.txt`);
  assert.equal(minimalRoots(paths).length, 5_000);
  const roots = minimalRoots([...paths, 'many/dir7']);
  assert.equal(roots.length, 5_000 - 50 + 1);
  assert.ok(roots.includes('many/dir7') && !roots.some((r) => r.startsWith('many/dir7/')));
});

test(
  'walking names with backslashes and dots reports them as they are, and a bad request as a per-path error',
  { skip: process.platform === 'win32' ? 'POSIX names' : false },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'pf-walk-'));
    try {
      writeFileSync(join(root, 'a\\..\\b'), 'x');
      mkdirSync(join(root, 'd\\..'));
      writeFileSync(join(root, 'd\\..', 'in'), 'y');
      const items: WalkItem[] = [];
      for await (const it of walk({ root, paths: ['a\\..\\b', 'd\\..', '../outside'] })) items.push(it);
      const entries = items
        .filter((i) => i.kind === 'entry')
        .map((i) => i.path)
        .sort();
      assert.deepEqual(entries, ['a\\..\\b', 'd\\..', 'd\\../in']);
      assert.deepEqual(
        items.filter((i) => i.kind === 'error').map((i) => i.path),
        ['../outside'],
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);
