import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseName,
  conflictVersions,
  detailTabsFor,
  joinSharePath,
  needText,
  overall,
  previewKindOf,
  shareBadge,
  shareProgress,
} from './derive.ts';
import { conflict, share } from './fixtures.ts';

const base = { connection: 'connected' as const, everConnected: true, allPaused: false, conflicts: [] };

test('overall: connection problems come first, then errors, pause, syncing, scanning, conflicts, idle', () => {
  assert.equal(overall({ ...base, connection: 'disconnected', shares: [] }).kind, 'disconnected');
  assert.equal(overall({ ...base, connection: 'disconnected', everConnected: false, shares: [] }).text, 'Cannot reach the daemon');
  assert.equal(overall({ ...base, connection: 'connecting', everConnected: false, shares: [] }).kind, 'connecting');
  assert.equal(overall({ ...base, shares: [] }).kind, 'empty');
  assert.equal(overall({ ...base, shares: [share({ error: 'folder missing' })] }).text, '1 share has a problem');
  assert.equal(overall({ ...base, allPaused: true, shares: [share({ needFiles: 3 })] }).kind, 'paused');
  const syncing = overall({
    ...base,
    shares: [share({ needFiles: 3, inBytesPerSec: 12e6 }), share({ id: 's2', needFiles: 2, paused: true })],
  });
  assert.deepEqual([syncing.kind, syncing.text, syncing.inBytesPerSec], ['syncing', 'Syncing 3 files, 12 MB/s', 12e6]);
  assert.equal(overall({ ...base, shares: [share({ state: 'scanning' })] }).kind, 'scanning');
  assert.equal(overall({ ...base, shares: [share({ conflicts: 2 })] }).text, '2 conflicts waiting');
  assert.equal(overall({ ...base, shares: [share()] }).text, 'Up to date');
});

test('shareProgress and needText describe what is still needed', () => {
  assert.equal(shareProgress(share()), 1);
  assert.equal(shareProgress(share({ globalBytes: 1000, needBytes: 250, needFiles: 1 })), 0.75);
  assert.equal(shareProgress(share({ globalBytes: 0, needBytes: 0, needFiles: 2 })), 0);
  // a file on its way counts with what has arrived of it
  const arriving = { path: 'big.bin', size: 800, done: 200, bytesPerSec: 1, etaSec: 600 };
  assert.equal(shareProgress(share({ globalBytes: 1000, needBytes: 800, needFiles: 1, pulling: [arriving] })), 0.4);
  assert.equal(needText(share()), 'Up to date');
  assert.equal(needText(share({ needFiles: 12, needBytes: 34e6 })), 'Needs 12 files (34 MB)');
});

test('shareBadge: a share error wins, then pause', () => {
  assert.equal(shareBadge(share({ error: 'x', paused: true })), 'error');
  assert.equal(shareBadge(share({ heldDeletes: 12 })), 'error', 'held deletions wait for the user');
  assert.equal(shareBadge(share({ paused: true, state: 'syncing' })), 'paused');
  assert.equal(shareBadge(share({ state: 'scanning' })), 'scanning');
});

test('conflictVersions: mine is the side this device wrote, else the winner', () => {
  const c = conflict();
  const a = conflictVersions(c, 'DEV-A');
  assert.deepEqual([a.mine.path, a.theirs.path, a.mine.mine], [c.path, c.conflictPath, true]);
  const b = conflictVersions(c, 'DEV-B');
  assert.deepEqual([b.mine.path, b.theirs.path, b.mine.mine], [c.conflictPath, c.path, true]);
  const z = conflictVersions(c, 'DEV-Z');
  assert.deepEqual([z.mine.path, z.mine.mine], [c.path, false]);
});

test('paths: kinds by extension, joining with the folder separator, base names', () => {
  assert.equal(previewKindOf('a/b/photo.JPG'), 'image');
  assert.equal(previewKindOf('notes.md'), 'text');
  assert.equal(previewKindOf('Makefile'), 'text');
  assert.equal(previewKindOf('movie.mkv'), 'other');
  assert.equal(joinSharePath('/home/ana/Photos', 'a/b.txt'), '/home/ana/Photos/a/b.txt');
  assert.equal(joinSharePath('C:\\Users\\ana\\Photos\\', 'a/b.txt'), 'C:\\Users\\ana\\Photos\\a\\b.txt');
  assert.equal(baseName('/home/ana/Photos/'), 'Photos');
  assert.equal(baseName('C:\\Work'), 'Work');
});

test('detailTabsFor: an encrypted copy has no files to show, a read-only share lists its local changes, a pending join has nothing yet', () => {
  assert.deepEqual(detailTabsFor(share()), ['codes', 'peers', 'transfers', 'files', 'recent', 'archive', 'ignore']);
  assert.deepEqual(detailTabsFor(share({ access: 'read-only' })), [
    'codes',
    'peers',
    'transfers',
    'files',
    'changes',
    'recent',
    'archive',
    'ignore',
  ]);
  assert.deepEqual(detailTabsFor(share({ access: 'encrypted' })), ['codes', 'peers']);
  const pending = share({ id: 'invite-0123456789abcdef', state: 'waiting-for-issuer', invite: { issuer: 'DEV-B', expiresAt: 1 } });
  assert.deepEqual(detailTabsFor(pending), []);
  assert.equal(needText(pending), 'Waiting for the device that made the invite…');
  assert.equal(shareProgress(pending), 0, 'nothing is here yet');
  assert.equal(overall({ ...base, shares: [pending] }).kind, 'waiting');
});
