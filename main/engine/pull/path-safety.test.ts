import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseClashes, malformedWirePath, unsafeRemotePath } from './path-safety.ts';

test('paths that escape the share or touch .peerfold are malformed (the peer is dropped)', () => {
  for (const p of [
    '',
    '/etc/passwd',
    'C:/x',
    'a/../b',
    '../x',
    './a',
    'a//b',
    'a/',
    '.peerfold/marker',
    'a\0b',
    'e\u0301.txt',
    // case-insensitive file systems: these are the share's own folder and the puller's temp files
    '.PeerFold/marker',
    '.PEERFOLD',
    '.pftmp-0123456789abcdef-x.txt',
    'd/.PFTMP-0123456789ABCDEF-y',
  ]) {
    assert.ok(malformedWirePath(p), `${JSON.stringify(p)} is malformed`);
  }
  for (const p of ['a.txt', 'dir/sub/é.txt', '.hidden', 'a:b.txt', 'x/.peerfold', '.pftmp-notes.txt', 'x/.PeerFold'])
    assert.equal(malformedWirePath(p), null, p);
});

test('names this file system cannot hold are reported per path, with the reason', () => {
  assert.match(unsafeRemotePath(`d/${'x'.repeat(256)}`, 'linux')!, /longer than 255 bytes/);
  assert.equal(unsafeRemotePath('a:b.txt', 'linux'), null);
  assert.match(unsafeRemotePath('a:b.txt', 'win32')!, /Windows does not allow/);
  assert.match(unsafeRemotePath('dir/CON.txt', 'win32')!, /reserved on Windows/);
  assert.match(unsafeRemotePath('trailing. ', 'win32')!, /ends with a dot or space/);
});

test('paths differing only in case clash on case-insensitive file systems', () => {
  assert.deepEqual([...caseClashes(['Readme.md', 'README.md', 'other'])], [['Readme.md', 'README.md']]);
});

test('a backslash is an ordinary character on the wire and on POSIX; Windows reports such a name per path', () => {
  for (const p of ['a\\..\\b', '..\\..\\x', 'dir/x\\..', '\\lead', 'back\\']) {
    assert.equal(malformedWirePath(p), null, p);
    assert.equal(unsafeRemotePath(p, 'linux'), null, p);
    assert.equal(unsafeRemotePath(p, 'darwin'), null, p);
    assert.match(unsafeRemotePath(p, 'win32')!, /Windows does not allow/, p);
  }
});
