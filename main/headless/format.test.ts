import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConflictInfo, FileEntry, PeerInfo, ShareSummary, StatusResult } from '../../shared/api.ts';
import {
  formatBytes,
  formatCodes,
  formatConflicts,
  formatDuration,
  formatFiles,
  formatHuman,
  formatJson,
  formatPeers,
  formatShares,
  formatStatus,
  formatTable,
  formatTime,
  formatVersion,
  jsonOutput,
} from './format.ts';

const share: ShareSummary = {
  id: 'sh1',
  name: 'Photos',
  path: '/data/Photos',
  access: 'read-write',
  state: 'syncing',
  paused: false,
  error: null,
  localFiles: 12,
  localBytes: 5 * 1024 * 1024,
  globalFiles: 14,
  globalBytes: 6 * 1024 * 1024,
  needFiles: 2,
  needBytes: 1024 * 1024,
  peersConnected: 1,
  inBytesPerSec: 2048,
  outBytesPerSec: 0,
  pulling: [{ path: 'big.raw', size: 1000, done: 250, bytesPerSec: 100, etaSec: 7.5 }],
  conflicts: 1,
  errors: [{ path: 'locked.txt', error: 'permission denied' }],
  watcher: 'rescan-only',
  lastScanAt: null,
  heldDeletes: 0,
  rejectedEntries: 0,
  localChanges: 0,
  invite: null,
};
const status: StatusResult = {
  device: { id: 'ABCDEFG-HIJKLMN-OPQ', name: 'nas', listenPort: 21120, version: '0.1.0' },
  paused: false,
  shares: [share],
  error: null,
  trackers: [],
};

test('bytes are humanized with binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
  assert.equal(formatBytes(512 * 1024 * 1024), '512 MiB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1.0 MiB');
  assert.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
  assert.equal(formatBytes(Number.NaN), '?');
});

test('durations, times and version vectors', () => {
  assert.equal(formatDuration(7.5), '8s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(7260), '2h01m');
  assert.equal(formatDuration(null), '-');
  assert.match(formatTime(Date.UTC(2025, 2, 1, 12, 0, 0)), /^2025-03-0[12] \d\d:00:00$/);
  assert.equal(formatTime(null), '-');
  assert.equal(formatVersion({ 'ZZZZZZZ-1111': 2, 'AAAAAAA-2222': 5 }), 'AAAAAAA:5,ZZZZZZZ:2');
  assert.equal(formatVersion({}), '-');
});

test('tables align columns, numbers to the right, without trailing spaces', () => {
  const t = formatTable(
    ['NAME', 'SIZE', 'PATH'],
    [
      ['a', '1 B', '/x'],
      ['longer', '10.5 KiB', '/y/z'],
    ],
    [1],
  );
  assert.equal(t, ['NAME        SIZE  PATH', 'a            1 B  /x', 'longer  10.5 KiB  /y/z'].join('\n'));
});

test('shares table and status lines', () => {
  const t = formatShares([share]).split('\n');
  assert.match(t[0], /^ID\s+NAME\s+STATE\s+FILES\s+SIZE\s+NEED\s+PEERS\s+PATH$/);
  assert.match(t[1], /^sh1\s+Photos\s+syncing\s+12\s+5\.0 MiB\s+2 \(1\.0 MiB\)\s+1\s+\/data\/Photos$/);
  assert.match(formatShares([]), /No shares yet/);
  const s = formatStatus(status);
  assert.match(s, /^Device ABCDEFG-HIJKLMN-OPQ \(nas\), sync port 21120/);
  assert.match(s, /local\s+12 files, 5\.0 MiB/);
  assert.match(s, /need\s+2 files, 1\.0 MiB/);
  assert.match(s, /big\.raw {2}25% of 1000 B, 100 B\/s, 8s left/);
  assert.match(s, /locked\.txt: permission denied/);
  assert.match(s, /rescan-only \(the OS file-watch limit was reached\)/);
  assert.match(s, /conflicts\s+1 \(see `peerfold conflicts sh1`\)/);
  assert.doesNotMatch(s, /Problem:/);
  const rebuilt = formatStatus({
    ...status,
    error: 'index database was corrupt (journal 3 is damaged in the middle) and was rebuilt from disk',
  });
  assert.match(rebuilt, /^Device .*\nProblem: index database was corrupt \(journal 3 is damaged in the middle\) and was rebuilt from disk/);
});

test('files table shows types, tombstones and symlinks', () => {
  const base = {
    mode: 0o100644,
    mtimeMs: 0,
    version: { 'AAAAAAA-X': 1 },
    sequence: 1,
    deleted: false,
    chunks: 2,
    hash: 'ab'.repeat(32),
    symlinkTarget: null,
    modifiedBy: 'AAAAAAA-X',
  };
  const files: FileEntry[] = [
    { ...base, path: 'a.txt', type: 'file', size: 2048 },
    { ...base, path: 'dir', type: 'dir', size: 0, mode: 0o40755, hash: '', chunks: 0 },
    { ...base, path: 'ln', type: 'symlink', size: 0, hash: '', symlinkTarget: 'a.txt', chunks: 0 },
    { ...base, path: 'gone.txt', type: 'file', size: 0, deleted: true, hash: '', chunks: 0, sequence: 4, version: { 'AAAAAAA-X': 2 } },
  ];
  const lines = formatFiles(files).split('\n');
  assert.match(lines[0], /^TYPE\s+MODE\s+SIZE\s+MODIFIED\s+SEQ\s+VERSION\s+CHUNKS\s+HASH\s+PATH$/);
  assert.match(lines[1], /^file\s+644\s+2\.0 KiB\s+\S+ \S+\s+1\s+AAAAAAA:1\s+2\s+abababababab\s+a\.txt$/);
  assert.match(lines[2], /^dir\s+755\s+-/);
  assert.match(lines[3], /^link\s+-.*ln -> a\.txt$/);
  assert.match(lines[4], /^deleted\s+-\s+-.*\s4\s+AAAAAAA:2\s+-\s+-\s+gone\.txt$/);
  assert.equal(formatFiles([]), 'No files.');
});

test('codes, peers and conflicts', () => {
  assert.equal(formatCodes({ readWrite: 'PFW1-XYZ', readOnly: null, encrypted: null }).split('\n')[0], 'read-write  PFW1-XYZ');
  assert.match(formatCodes({ readWrite: null, readOnly: null, encrypted: null }), /not on this device/);
  const peer: PeerInfo = {
    deviceId: 'QWERTYU-AAAA',
    name: 'laptop',
    shareIds: ['sh1'],
    connected: true,
    connectedSince: 1_700_000_000_000,
    address: '127.0.0.1:4000',
    via: 'lan',
    transport: 'udx',
    inBytes: 4096,
    outBytes: 0,
    inBytesPerSec: 0,
    outBytesPerSec: 0,
  };
  assert.match(
    formatPeers([peer]).split('\n')[1],
    new RegExp(`^QWERTYU\\s+laptop\\s+connected\\s+${formatTime(peer.connectedSince)}\\s+lan\\s+udx\\s+127\\.0\\.0\\.1:4000\\s+4\\.0 KiB`),
  );
  // how a peer is reached through a relay, and an offline peer has no "since"
  const relayed = formatPeers([
    { ...peer, via: 'relay', address: '100.64.0.1:49160' },
    { ...peer, deviceId: 'ZZZZZZZ-B', name: 'nas', connected: false },
  ]);
  assert.match(relayed, /laptop\s+connected\s+\S+ \S+\s+relay\s+udx\s+100\.64\.0\.1:49160/);
  assert.match(relayed, /nas\s+offline\s+-\s+lan\s+-/);
  assert.match(formatPeers([]), /No peers yet/);
  const c: ConflictInfo = {
    shareId: 'sh1',
    path: 'notes.txt',
    conflictPath: 'notes.conflict-phone-20250101-120000.txt',
    createdAt: 0,
    winner: { deviceId: 'AAAAAAA-1', deviceName: 'nas', mtimeMs: 0, size: 10, hash: 'ff'.repeat(32) },
    loser: { deviceId: 'BBBBBBB-2', deviceName: 'phone', mtimeMs: 0, size: 12, hash: 'ee'.repeat(32) },
  };
  const out = formatConflicts([c]);
  assert.match(out, /kept {3}nas \(AAAAAAA\)/);
  assert.match(out, /copy {3}phone \(BBBBBBB\).*-> notes\.conflict-phone-20250101-120000\.txt/);
  assert.match(out, /peerfold resolve sh1 notes\.txt --keep local\|remote\|both/);
  assert.equal(formatConflicts([]), 'No conflicts.');
});

test('human messages name what was acted on', () => {
  assert.equal(formatHuman('id', status, {}), 'ABCDEFG-HIJKLMN-OPQ');
  assert.equal(formatHuman('pause', { ok: true }, {}), 'Paused all shares.');
  assert.equal(formatHuman('resume', { ok: true }, { share: 'sh1' }), 'Resumed share sh1.');
  assert.equal(formatHuman('resolve', { ok: true }, { share: 'sh1', path: 'a', keep: 'both' }), 'Resolved a: kept both versions.');
  const shared = formatHuman(
    'share',
    { share, codes: { readWrite: 'PFW1-XYZ', readOnly: null, encrypted: null } },
    { path: '/data/Photos' },
  );
  assert.match(shared, /^Shared \/data\/Photos as "Photos" \(id sh1\)\.\nRead-write code: PFW1-XYZ/);
  assert.equal(
    formatHuman('unshare', { ok: true, removed: 'share' }, { share: 'sh1' }),
    'Stopped sharing sh1; its files stay where they are.',
  );
  const gaveUp = formatHuman('unshare', { ok: true, removed: 'join' }, { share: 'invite-0123456789abcdef' });
  assert.doesNotMatch(gaveUp, /Stopped sharing/, 'a join that never got the share did not share anything');
  assert.match(gaveUp, /^Gave up the join by invite invite-0123456789abcdef: nothing of the share was delivered/);
  assert.match(
    formatHuman(
      'settings',
      { deviceName: 'nas', listenPort: 0, lanDiscovery: true, maxSendKBps: 0, maxRecvKBps: 0, archiveDays: 30, startAtLogin: false },
      {},
    ),
    /^KEY\s+VALUE\ndeviceName\s+nas\nlistenPort\s+0/,
  );
});

test('--json prints the contract types: DeviceInfo for id, ShareSummary[] for shares, the result otherwise', () => {
  assert.deepEqual(jsonOutput('id', status), status.device);
  assert.deepEqual(jsonOutput('shares', status), [share]);
  assert.deepEqual(jsonOutput('status', status), status);
  assert.deepEqual(JSON.parse(formatJson('pause', { ok: true })), { ok: true });
});
