import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from './store.ts';
import { DurableDb } from './durable-db.ts';
import { INDEX_MIGRATIONS } from './schema.ts';
import { encodeChunks, encodeVersionV4 } from './blobs.ts';
import type { ChunkRef, FileRecord, ShareRow } from './rows.ts';

const LOCAL = 'LOCALDEVICE-AAAA';
const PEER = 'PEERDEVICE-BBBB';
const PEER2 = 'PEERDEVICE-CCCC';

function sha(s: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(s).digest());
}

function chunks(tag: string, sizes: number[]): ChunkRef[] {
  return sizes.map((size, i) => ({ hash: sha(`${tag}#${i}`), size }));
}

function fileHash(cs: ChunkRef[]): string {
  const h = createHash('sha256');
  for (const c of cs) h.update(c.hash);
  return h.digest('hex');
}

function file(path: string, over: Partial<FileRecord> = {}): FileRecord {
  const cs = over.chunks ?? chunks(path, [100, 200, 50]);
  return {
    shareId: 's1',
    deviceId: LOCAL,
    path,
    type: 'file',
    size: cs.reduce((a, c) => a + c.size, 0),
    mode: 0o644,
    mtimeMs: 1_700_000_000_123.25,
    inode: 2 ** 40 + 7,
    symlinkTarget: null,
    version: { [LOCAL]: 1 },
    sequence: 1,
    deleted: false,
    chunks: cs,
    hash: fileHash(cs),
    modifiedBy: LOCAL,
    ...over,
  };
}

function share(id: string, over: Partial<ShareRow> = {}): ShareRow {
  return {
    id,
    name: `Share ${id}`,
    path: `/data/${id}`,
    access: 'read-write',
    secret: `secret-${id}`,
    paused: false,
    createdAt: 1_700_000_000_000,
    ...over,
  };
}

/**
 * A share row written straight into a database of an older schema (the store of today writes
 * today's rows: it must not run on an old schema).
 */
function oldShare(db: DurableDb, row: ShareRow): void {
  db.run('INSERT INTO shares (id, name, path, access, secret, paused, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    row.id,
    row.name,
    row.path,
    row.access,
    row.secret,
    row.paused ? 1 : 0,
    row.createdAt,
  ]);
}

/** A version vector as schemas 1-4 stored it, for rows written straight into an old database. */
function oldVersion(v: Record<string, number>, devNo: (id: string) => number): Uint8Array {
  return encodeVersionV4(Object.fromEntries(Object.entries(v).map(([id, n]) => [devNo(id), n])));
}

async function withStore(fn: (store: IndexStore, dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  const { store, db, recovered } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
  assert.equal(recovered, null);
  try {
    store.addShare(share('s1'));
    await fn(store, dir);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('shares: add, get, list, update, duplicate refused', async () => {
  await withStore((store) => {
    store.addShare(share('s2', { access: 'encrypted', paused: true }));
    assert.deepEqual(store.getShare('s2'), share('s2', { access: 'encrypted', paused: true }));
    assert.deepEqual(
      store.listShares().map((s) => s.id),
      ['s1', 's2'],
    );
    assert.throws(() => store.addShare(share('s2')), /already exists/);
    const updated = store.updateShare('s2', { name: 'Renamed', paused: false, secret: undefined });
    assert.equal(updated.name, 'Renamed');
    assert.equal(updated.secret, 'secret-s2');
    assert.deepEqual(store.getShare('s2'), updated);
    assert.throws(() => store.updateShare('nope', { name: 'x' }), /no share with id nope/);
    assert.equal(store.getShare('nope'), null);
  });
});

test('file records round-trip exactly: files, dirs, symlinks, tombstones, multi-device versions', async () => {
  await withStore((store) => {
    const records: FileRecord[] = [
      file('docs/a.txt', { version: { [LOCAL]: 3, [PEER]: 2, [PEER2]: 9_007_199_254_740_991 }, sequence: 5, modifiedBy: PEER }),
      file('docs', { type: 'dir', size: 0, chunks: [], hash: '', mode: 0o755, sequence: 6 }),
      file('link', { type: 'symlink', size: 0, chunks: [], hash: '', symlinkTarget: '../elsewhere ✓', sequence: 7 }),
      file('gone.bin', { deleted: true, chunks: [], hash: '', size: 0, sequence: 8 }),
      file('empty', { chunks: [], hash: fileHash([]), size: 0, sequence: 9 }),
      file('Ünïcödé/名前.txt', { sequence: 10 }),
    ];
    store.putFiles(records);
    for (const r of records) assert.deepEqual(store.getFile('s1', LOCAL, r.path), r, r.path);
    assert.equal(store.getFile('s1', PEER, 'docs/a.txt'), null);
    assert.equal(store.getFile('s1', LOCAL, 'missing'), null);
    assert.equal(store.getFile('zz', LOCAL, 'docs/a.txt'), null);
    // replace
    const changed = file('docs/a.txt', { chunks: chunks('v2', [10]), version: { [LOCAL]: 4, [PEER]: 2 }, sequence: 11 });
    changed.size = 10;
    changed.hash = fileHash(changed.chunks);
    store.putFiles([changed]);
    assert.deepEqual(store.getFile('s1', LOCAL, 'docs/a.txt'), changed);
  });
});

test('bad records are refused and a batch is all or nothing', async () => {
  await withStore((store) => {
    assert.throws(() => store.putFiles([file('ok'), file('x', { shareId: 'unknown' })]), /no share with id unknown/);
    assert.equal(store.getFile('s1', LOCAL, 'ok'), null);
    assert.throws(() => store.putFiles([file('/abs')]), /relative/);
    assert.throws(() => store.putFiles([file('a//b')]), /empty segments/);
    assert.throws(() => store.putFiles([file('cafe\u0301')]), /NFC/);
    assert.throws(() => store.putFiles([file('h', { hash: 'xyz' })]), /64 hex/);
    assert.throws(() => store.putFiles([file('c', { chunks: [{ hash: new Uint8Array(31), size: 1 }] })]), /32 bytes/);
    assert.deepEqual(store.listFiles('s1', LOCAL, { includeDeleted: true }), []);
  });
});

test('listFiles: ordering, prefix boundaries, tombstones', async () => {
  await withStore((store) => {
    const paths = ['b', 'a', 'a/x', 'a/y/z', 'ab', 'a.txt', 'a0'];
    store.putFiles(paths.map((p, i) => file(p, { sequence: i + 1 })));
    store.putFiles([file('a/dead', { deleted: true, chunks: [], hash: '', sequence: 20 })]);
    const list = (o?: Parameters<IndexStore['listFiles']>[2]) => store.listFiles('s1', LOCAL, o).map((f) => f.path);
    assert.deepEqual(list(), ['a', 'a.txt', 'a/x', 'a/y/z', 'a0', 'ab', 'b']);
    assert.deepEqual(list({ prefix: 'a' }), ['a', 'a/x', 'a/y/z']);
    assert.deepEqual(list({ prefix: '/a/' }), ['a', 'a/x', 'a/y/z']);
    assert.deepEqual(list({ prefix: 'a', includeDeleted: true }), ['a', 'a/dead', 'a/x', 'a/y/z']);
    assert.deepEqual(list({ prefix: 'a/y' }), ['a/y/z']);
    assert.deepEqual(list({ prefix: 'nothing' }), []);
    assert.deepEqual(list({ pathContains: '.t' }), ['a.txt']);
    assert.deepEqual(list({ pathContains: 'a/' }), ['a/x', 'a/y/z']);
    assert.deepEqual(list({ pathContains: 'a/', includeDeleted: true, prefix: 'a' }), ['a/dead', 'a/x', 'a/y/z']);
    assert.deepEqual(store.listFiles('s1', PEER), []);
  });
});

test("childStats: one folder's own entries (not deeper, not a look-alike prefix), stat fields, tombstones, one device", async () => {
  await withStore((store) => {
    const paths = ['b', 'a', 'a/x', 'a/y', 'a/y/z', 'ab', 'a.txt', 'a0', 'a0/q'];
    store.putFiles(paths.map((p, i) => file(p, { sequence: i + 1, type: p === 'a' || p === 'a/y' || p === 'a0' ? 'dir' : 'file' })));
    store.putFiles([file('a/dead', { deleted: true, chunks: [], hash: '', sequence: 20 })]);
    store.putFiles([file('a/peer-only', { deviceId: PEER, sequence: 1 })]);
    const names = (dir: string) =>
      store
        .childStats('s1', LOCAL, dir)
        .map((r) => r.path)
        .sort();
    assert.deepEqual(names(''), ['a', 'a.txt', 'a0', 'ab', 'b']);
    assert.deepEqual(names('a'), ['a/dead', 'a/x', 'a/y']);
    assert.deepEqual(names('a/y'), ['a/y/z']);
    assert.deepEqual(names('a/x'), []);
    assert.deepEqual(names('nothing'), []);
    // characters beyond UTF-16's first plane: two code units in JS, one character in SQLite
    store.putFiles(
      ['😀😀', '😀😀/y', '😀😀/y/z', '😀😀/w'].map((p, i) =>
        file(p, { sequence: 30 + i, type: p.endsWith('z') || p.endsWith('w') ? 'file' : 'dir' }),
      ),
    );
    assert.deepEqual(names('😀😀'), ['😀😀/w', '😀😀/y']);
    assert.deepEqual(names('😀😀/y'), ['😀😀/y/z']);
    const x = store.childStats('s1', LOCAL, 'a').find((r) => r.path === 'a/x')!;
    const full = store.getFile('s1', LOCAL, 'a/x')!;
    assert.deepEqual(x, {
      path: 'a/x',
      type: 'file',
      size: full.size,
      mode: full.mode,
      mtimeMs: full.mtimeMs,
      inode: full.inode,
      deleted: false,
    });
    assert.equal(store.childStats('s1', LOCAL, 'a').find((r) => r.path === 'a/dead')!.deleted, true);
    assert.deepEqual(
      store.childStats('s1', PEER, 'a').map((r) => r.path),
      ['a/peer-only'],
    );
  });
});

test('liveStatsUnder: live records at a path and below, in path order across pages, stat fields, one device', async () => {
  await withStore((store) => {
    const paths = ['b', 'a', 'a/x', 'a/y/z', 'ab', 'a.txt', 'a0', 'a/w', 'a/v'];
    store.putFiles(paths.map((p, i) => file(p, { sequence: i + 1 })));
    store.putFiles([file('a/dead', { deleted: true, chunks: [], hash: '', sequence: 20 })]);
    store.putFiles([file('a/peer-only', { deviceId: PEER, sequence: 1 })]);
    const under = (prefix: string, page?: number) => [...store.liveStatsUnder('s1', LOCAL, prefix, page)].map((r) => r.path);
    for (const page of [1, 2, 3, 1000]) {
      assert.deepEqual(under('', page), ['a', 'a.txt', 'a/v', 'a/w', 'a/x', 'a/y/z', 'a0', 'ab', 'b'], `page ${page}`);
      assert.deepEqual(under('a', page), ['a', 'a/v', 'a/w', 'a/x', 'a/y/z'], `page ${page}`);
      assert.deepEqual(under('/a/y/', page), ['a/y/z'], `page ${page}`);
    }
    assert.deepEqual(under('nothing'), []);
    assert.deepEqual(
      [...store.liveStatsUnder('s1', PEER, 'a')].map((r) => r.path),
      ['a/peer-only'],
    );
    const full = store.getFile('s1', LOCAL, 'a/x')!;
    assert.deepEqual(
      [...store.liveStatsUnder('s1', LOCAL, 'a/x')],
      [{ path: 'a/x', type: 'file', size: full.size, mode: full.mode, mtimeMs: full.mtimeMs, inode: full.inode, deleted: false }],
    );
  });
});

test('filesSince pages through one device in sequence order; maxSequence', async () => {
  await withStore((store) => {
    const seqs = [7, 3, 12, 1, 9, 4, 15, 2];
    store.putFiles(seqs.map((s, i) => file(`f${i}`, { sequence: s })));
    store.putFiles([file('peer-only', { deviceId: PEER, sequence: 100, version: { [PEER]: 1 }, modifiedBy: PEER })]);
    assert.deepEqual(
      store.filesSince('s1', LOCAL, 0, 100).map((f) => f.sequence),
      [1, 2, 3, 4, 7, 9, 12, 15],
    );
    assert.deepEqual(
      store.filesSince('s1', LOCAL, 4, 3).map((f) => f.sequence),
      [7, 9, 12],
    );
    assert.deepEqual(store.filesSince('s1', LOCAL, 15, 10), []);
    // a rewrite moves the entry to its new sequence
    store.putFiles([file('f1', { sequence: 16 })]);
    const paged: number[] = [];
    for (let after = 0; ;) {
      const page = store.filesSince('s1', LOCAL, after, 3);
      if (!page.length) break;
      paged.push(...page.map((f) => f.sequence));
      after = page[page.length - 1]!.sequence;
    }
    assert.deepEqual(paged, [1, 2, 4, 7, 9, 12, 15, 16]);
    assert.equal(store.maxSequence('s1', LOCAL), 16);
    assert.equal(store.maxSequence('s1', PEER), 100);
    assert.equal(store.maxSequence('s1', 'nobody'), 0);
    assert.deepEqual(
      store.filesSince('s1', PEER, 0, 10).map((f) => f.path),
      ['peer-only'],
    );
  });
});

test('entriesForPath and iterateByPath see every device, grouped and in path order', async () => {
  await withStore((store) => {
    store.addShare(share('s2'));
    const recs: FileRecord[] = [];
    for (let i = 0; i < 25; i++) {
      const p = `dir/${String(i).padStart(2, '0')}`;
      recs.push(file(p, { sequence: i + 1 }));
      if (i % 2 === 0) recs.push(file(p, { deviceId: PEER, sequence: i + 1, version: { [PEER]: 1 }, modifiedBy: PEER }));
      if (i % 5 === 0) recs.push(file(p, { deviceId: PEER2, sequence: i + 1, version: { [PEER2]: 1 }, modifiedBy: PEER2 }));
    }
    recs.push(file('other-share', { shareId: 's2' }));
    store.putFiles(recs);
    // a path only a forgotten device had leaves no group behind
    store.putFiles([file('zz-only-peer2', { deviceId: PEER2, sequence: 99 })]);
    store.forgetDevice('s1', PEER2);

    assert.deepEqual(
      store.entriesForPath('s1', 'dir/00').map((e) => e.deviceId),
      [LOCAL, PEER],
    );
    assert.deepEqual(store.entriesForPath('s1', 'nope'), []);

    const groups = [...store.iterateByPath('s1', 4)];
    assert.equal(groups.length, 25);
    assert.deepEqual(
      groups.map((g) => g.path),
      recs.filter((r) => r.deviceId === LOCAL && r.shareId === 's1').map((r) => r.path),
    );
    assert.equal(groups[0]!.entries.length, 2);
    assert.equal(groups[1]!.entries.length, 1);
    for (const g of groups) for (const e of g.entries) assert.equal(e.path, g.path);
    assert.equal(
      groups.reduce((n, g) => n + g.entries.length, 0),
      25 + 13,
    );
  });
});

test("counts cover a device's live entries only", async () => {
  await withStore((store) => {
    store.putFiles([
      file('a', { chunks: chunks('a', [1000]), size: 1000 }),
      file('b', { chunks: chunks('b', [24]), size: 24 }),
      file('d', { type: 'dir', size: 0, chunks: [], hash: '' }),
      file('l', { type: 'symlink', size: 0, chunks: [], hash: '', symlinkTarget: 'a' }),
      file('x', { deleted: true, size: 0, chunks: [], hash: '' }),
      file('p', { deviceId: PEER, size: 5 }),
    ]);
    assert.deepEqual(store.counts('s1', LOCAL), { files: 2, dirs: 1, symlinks: 1, bytes: 1024 });
    assert.deepEqual(store.counts('s1', PEER).files, 1);
    assert.deepEqual(store.counts('s1', 'nobody'), { files: 0, dirs: 0, symlinks: 0, bytes: 0 });
  });
});

test('findChunk finds local live copies with their offsets, and follows renames, edits and deletes', async () => {
  await withStore((store) => {
    store.addShare(share('s2'));
    const shared = chunks('shared', [10])[0]!;
    const a = chunks('a', [100, 200, 300]);
    store.putFiles([
      file('a.bin', { chunks: [...a, shared] }),
      file('b.bin', { shareId: 's2', chunks: [shared, ...chunks('b', [7])] }),
      file('peer.bin', { deviceId: PEER, chunks: chunks('peer', [5]) }),
    ]);
    assert.deepEqual(store.findChunk(a[2]!.hash), [{ shareId: 's1', path: 'a.bin', offset: 300, size: 300 }]);
    assert.deepEqual(store.findChunk(shared.hash), [
      { shareId: 's1', path: 'a.bin', offset: 600, size: 10 },
      { shareId: 's2', path: 'b.bin', offset: 0, size: 10 },
    ]);
    assert.deepEqual(store.findChunk(chunks('peer', [5])[0]!.hash), [], 'peer files are not local copies');
    assert.deepEqual(store.findChunk(sha('never')), []);

    // a hash sharing the first 6 bytes with a stored one is not a match
    const lookalike = new Uint8Array(a[0]!.hash);
    lookalike[31]! ^= 0xff;
    assert.deepEqual(store.findChunk(lookalike), []);

    // rename a.bin -> moved/a.bin: tombstone + new entry
    store.putFiles([
      file('a.bin', { deleted: true, chunks: [], hash: '', size: 0, sequence: 2 }),
      file('moved/a.bin', { chunks: [...a, shared], sequence: 3 }),
    ]);
    assert.deepEqual(store.findChunk(a[1]!.hash), [{ shareId: 's1', path: 'moved/a.bin', offset: 100, size: 200 }]);

    // edit: the old chunk is gone, the new one is found
    const edited = [a[0]!, ...chunks('new', [42])];
    store.putFiles([file('moved/a.bin', { chunks: edited, sequence: 4 })]);
    assert.deepEqual(store.findChunk(a[1]!.hash), []);
    assert.deepEqual(store.findChunk(edited[1]!.hash), [{ shareId: 's1', path: 'moved/a.bin', offset: 100, size: 42 }]);
    // metadata-only change keeps the index
    store.putFiles([file('moved/a.bin', { chunks: edited, sequence: 5, mode: 0o600 })]);
    assert.equal(store.findChunk(edited[1]!.hash).length, 1);
    // becoming a directory drops it
    store.putFiles([file('moved/a.bin', { type: 'dir', chunks: [], hash: '', size: 0, sequence: 6 })]);
    assert.deepEqual(store.findChunk(edited[0]!.hash), []);

    assert.ok(store.removeShare('s2'));
    assert.deepEqual(store.findChunk(shared.hash), []);
  });
});

test('removeShare removes everything of that share and nothing else', async () => {
  await withStore((store) => {
    store.addShare(share('s2'));
    for (const id of ['s1', 's2']) {
      store.putFiles([file('f', { shareId: id }), file('f', { shareId: id, deviceId: PEER })]);
      store.updatePeer(id, PEER, { name: 'peer', remoteSeqSeen: 3 });
      store.addAddress(id, '10.0.0.1:4000');
      store.addConflict({ shareId: id, path: 'f', conflictPath: 'f.conflict-x', winner: side(LOCAL), loser: side(PEER), createdAt: 5 });
    }
    assert.ok(store.removeShare('s1'));
    assert.equal(store.removeShare('s1'), false);
    assert.equal(store.getShare('s1'), null);
    assert.deepEqual(store.listFiles('s1', LOCAL, { includeDeleted: true }), []);
    assert.deepEqual(store.listPeers('s1'), []);
    assert.deepEqual(store.listAddresses('s1'), []);
    assert.deepEqual(store.listConflicts('s1'), []);
    assert.equal(store.listFiles('s2', LOCAL).length, 1);
    assert.equal(store.listFiles('s2', PEER).length, 1);
    assert.equal(store.listPeers().length, 1);
    assert.equal(store.listConflicts().length, 1);
    assert.deepEqual(store.findChunk(chunks('f', [100])[0]!.hash), [{ shareId: 's2', path: 'f', offset: 0, size: 100 }]);
    // the same id can be shared again from scratch
    store.addShare(share('s1'));
    assert.deepEqual(store.listFiles('s1', LOCAL), []);
  });
});

function side(deviceId: string) {
  return { deviceId, deviceName: `name of ${deviceId}`, mtimeMs: 123, size: 4, hash: 'ab'.repeat(32) };
}

test("peers: bookkeeping upserts, forgetDevice drops a peer's index", async () => {
  await withStore((store) => {
    assert.equal(store.getPeer('s1', PEER), null);
    const created = store.updatePeer('s1', PEER, { name: 'laptop', via: 'lan', lastSeen: 10 });
    assert.deepEqual(created, {
      shareId: 's1',
      deviceId: PEER,
      name: 'laptop',
      address: null,
      via: 'lan',
      lastSeen: 10,
      remoteSeqSeen: 0,
      localSeqAcked: 0,
    });
    store.updatePeer('s1', PEER, { remoteSeqSeen: 42, localSeqAcked: 7, address: '192.168.1.5:22000' });
    assert.deepEqual(store.getPeer('s1', PEER), { ...created, remoteSeqSeen: 42, localSeqAcked: 7, address: '192.168.1.5:22000' });
    store.updatePeer('s1', PEER2, { name: 'phone', via: 'relay' });
    assert.deepEqual(
      store.listPeers('s1').map((p) => p.deviceId),
      [PEER, PEER2],
    );
    assert.throws(() => store.updatePeer('zz', PEER, {}), /no share/);

    store.putFiles([file('x', { deviceId: PEER }), file('y', { deviceId: PEER }), file('x')]);
    store.forgetDevice('s1', PEER);
    assert.equal(store.getPeer('s1', PEER), null);
    assert.deepEqual(store.listFiles('s1', PEER, { includeDeleted: true }), []);
    assert.equal(store.getFile('s1', LOCAL, 'x')?.path, 'x');
    assert.deepEqual(
      [...store.iterateByPath('s1')].map((g) => g.path),
      ['x'],
    );
    assert.throws(() => store.forgetDevice('s1', LOCAL), /local device/);
  });
});

test('manual addresses and conflicts', async () => {
  await withStore((store) => {
    store.addAddress('s1', 'b.example:1');
    store.addAddress('s1', 'a.example:2');
    store.addAddress('s1', 'a.example:2');
    assert.deepEqual(store.listAddresses('s1'), ['a.example:2', 'b.example:1']);
    assert.ok(store.removeAddress('s1', 'a.example:2'));
    assert.equal(store.removeAddress('s1', 'a.example:2'), false);
    assert.deepEqual(store.listAddresses('s1'), ['b.example:1']);

    const c1 = {
      shareId: 's1',
      path: 'doc.txt',
      conflictPath: 'doc.conflict-phone-20250101-120000.txt',
      winner: side(LOCAL),
      loser: side(PEER),
      createdAt: 2,
    };
    const c2 = { ...c1, path: 'b.txt', conflictPath: 'b.conflict-phone-20250101-120000.txt', createdAt: 1 };
    store.addConflict(c1);
    store.addConflict(c2);
    assert.deepEqual(store.listConflicts('s1'), [c2, c1]);
    assert.deepEqual(store.listConflicts(), [c2, c1]);
    assert.ok(store.removeConflict('s1', c2.conflictPath));
    assert.deepEqual(store.listConflicts(), [c1]);
  });
});

test('everything survives a reopen, including the chunk index; a new local identity rebuilds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    const first = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    first.store.addShare(share('s1'));
    const recs = [file('a', { version: { [LOCAL]: 1, [PEER]: 5 } }), file('b', { deviceId: PEER, modifiedBy: PEER })];
    first.store.putFiles(recs);
    first.store.updatePeer('s1', PEER, { name: 'p', remoteSeqSeen: 9 });
    await first.db.close();

    const second = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    assert.deepEqual(second.store.getFile('s1', LOCAL, 'a'), recs[0]);
    assert.deepEqual(second.store.getFile('s1', PEER, 'b'), recs[1]);
    assert.equal(second.store.getPeer('s1', PEER)?.remoteSeqSeen, 9);
    assert.equal(second.store.findChunk(recs[0]!.chunks[1]!.hash).length, 1);
    await second.db.close();

    // the home got a new identity: the old device's files are no longer "local copies"; PEER's
    // would be if PEER were now the local device (e.g. a restored identity)
    const third = await IndexStore.open(dir, PEER, { snapshotEveryMs: 0 });
    assert.deepEqual(third.store.findChunk(recs[0]!.chunks[1]!.hash), []);
    assert.deepEqual(third.store.findChunk(recs[1]!.chunks[0]!.hash), [{ shareId: 's1', path: 'b', offset: 0, size: 100 }]);
    await third.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rolled-back transaction does not leave stale device ids in the cache', async () => {
  await withStore((store) => {
    const NEW = 'NEWDEVICE-DDDD';
    assert.throws(() =>
      store.transaction(() => {
        store.putFiles([file('n', { deviceId: NEW, modifiedBy: NEW, version: { [NEW]: 1 } })]);
        throw new Error('abort');
      }),
    );
    store.putFiles([file('m', { version: { [NEW]: 2, [LOCAL]: 1 } })]);
    assert.deepEqual(store.getFile('s1', LOCAL, 'm')?.version, { [NEW]: 2, [LOCAL]: 1 });
    store.putFiles([file('n', { deviceId: NEW, modifiedBy: NEW })]);
    assert.equal(store.getFile('s1', NEW, 'n')?.modifiedBy, NEW);
  });
});

test("removeLocalFiles forgets only this device's entries for those paths, and their chunks", async () => {
  await withStore((store) => {
    const cs = chunks('gone', [10, 20]);
    store.putFiles([file('gone.txt', { chunks: cs }), file('kept.txt'), file('gone.txt', { deviceId: PEER, chunks: cs })]);
    assert.equal(store.findChunk(cs[1]!.hash).length, 1);
    store.removeLocalFiles('s1', ['gone.txt', 'never-there.txt']);
    assert.equal(store.getFile('s1', LOCAL, 'gone.txt'), null);
    assert.ok(store.getFile('s1', PEER, 'gone.txt'), "the peer's entry stays: it is what will be pulled");
    assert.ok(store.getFile('s1', LOCAL, 'kept.txt'));
    assert.deepEqual(store.findChunk(cs[1]!.hash), [], 'a forgotten file is no source of chunks');
  });
});

test("the local device's counts stay right after every kind of write, a rolled-back one included", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    store.addShare(share('s1'));
    store.addShare(share('s2'));
    // what a fresh store (nothing kept) counts with the full query
    const recount = (id: string) => new IndexStore(db, LOCAL).counts(id, LOCAL);
    const check = (what: string) => {
      for (const id of ['s1', 's2']) assert.deepEqual(store.counts(id, LOCAL), recount(id), `${id} after ${what}`);
    };
    check('nothing');
    store.putFiles([
      file('a'),
      file('b', { chunks: chunks('b', [5]), size: 5 }),
      file('d', { type: 'dir', size: 0, chunks: [], hash: '' }),
    ]);
    store.putFiles([file('x', { shareId: 's2' })]);
    check('new files');
    store.putFiles([file('a', { chunks: chunks('a2', [7, 9]), size: 16 }), file('b', { deleted: true, size: 0, chunks: [], hash: '' })]);
    check('an edit and a deletion');
    store.putFiles([
      file('b', { type: 'symlink', size: 3, chunks: [], hash: 'ab'.repeat(32), symlinkTarget: 'a' }),
      file('d', { deleted: true }),
    ]);
    check('a deleted file coming back as a symlink, a folder deleted');
    store.putFiles([file('p', { deviceId: PEER }), file('a', { deviceId: PEER, size: 99 })]);
    check("a peer's entries");
    assert.throws(() =>
      store.transaction(() => {
        store.putFiles([file('c'), file('a', { deleted: true })]);
        throw new Error('rolled back');
      }),
    );
    check('a rolled-back transaction');
    store.removeLocalFiles('s1', ['a', 'nothing-there']);
    check('forgetting local entries');
    store.putFiles([file('a'), file('a', { size: 1, chunks: chunks('a3', [1]) })]);
    check('the same path twice in one batch');
    assert.ok(store.removeShare('s2'));
    store.addShare(share('s2'));
    check('a share removed and added again');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the counter floor is kept per share; removing a share forgets it and its index ID', async () => {
  await withStore((store) => {
    assert.equal(store.counterFloor('s1'), 0);
    store.setCounterFloor('s1', 1_764_600_000_000);
    assert.equal(store.counterFloor('s1'), 1_764_600_000_000);
    const id = store.localIndexId('s1');
    store.setPeerIndexId('s1', PEER, 42);
    assert.ok(store.removeShare('s1'));
    store.addShare(share('s1'));
    assert.equal(store.counterFloor('s1'), 0);
    assert.notEqual(store.localIndexId('s1'), id, 'a share joined again is a new index: its sequences restart');
    assert.equal(store.peerIndexId('s1', PEER), 0);
  });
});

test("a writer's signature is stored with the entry; a database from before signatures gains the column and keeps its rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    // the database as the first schema made it
    const old = await DurableDb.open(dir, { migrations: INDEX_MIGRATIONS.slice(0, 1), snapshotEveryMs: 0 });
    oldShare(old.db, share('s1'));
    const empty = new Uint8Array(0);
    old.db.run('INSERT INTO devices (id) VALUES (?)', [LOCAL]);
    old.db.run("INSERT INTO paths (share_no, path) VALUES (1, 'before')");
    old.db.run('INSERT INTO files VALUES (1, 1, 1, 1, 0, 493, 1700000000000, 0, NULL, ?, 1, 0, ?, ?, 1)', [empty, empty, empty]);
    await old.db.close();

    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    const before = store.getFile('s1', LOCAL, 'before');
    assert.equal(before?.type, 'dir', 'the old row is still there');
    assert.equal(before?.signature, undefined, 'unsigned');
    const signature = new Uint8Array(96).fill(9);
    store.putFiles([file('signed.txt', { deviceId: PEER, signature })]);
    assert.deepEqual(store.getFile('s1', PEER, 'signed.txt')?.signature, signature);
    await db.close();
    const again = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    assert.deepEqual(again.store.getFile('s1', PEER, 'signed.txt')?.signature, signature, 'and survives a reopen');
    await again.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema 3: a database of schema 2 is migrated with every entry as it was, in the compact form', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    const key = new Uint8Array(32).fill(7);
    const signed = (n: number) => Buffer.concat([key, new Uint8Array(64).fill(n)]);
    const scanned = file('a.txt', { sequence: 1 });
    const fromPeer = file('a.txt', { deviceId: PEER, sequence: 5, signature: signed(1), version: { [LOCAL]: 1 } });
    const peerDir = file('dir', {
      deviceId: PEER,
      sequence: 6,
      type: 'dir',
      size: 0,
      chunks: [],
      hash: '',
      signature: signed(2),
    });
    const other = file('enc.bin', { sequence: 2, hash: 'ab'.repeat(32), signature: new Uint8Array(10).fill(4) });
    const tomb = file('gone.txt', { sequence: 3, deleted: true, chunks: [], size: 0, hash: '' });
    const all = [scanned, fromPeer, peerDir, other, tomb];

    // rows as schema 2 stored them (a read-only share: it keeps signatures, schema 4 below)
    const old = await DurableDb.open(dir, { migrations: INDEX_MIGRATIONS.slice(0, 2), snapshotEveryMs: 0 });
    oldShare(old.db, share('s1', { access: 'read-only' }));
    old.db.run('INSERT INTO devices (id) VALUES (?), (?)', [LOCAL, PEER]);
    const devNo = (id: string) => (id === LOCAL ? 1 : 2);
    const pathNo = new Map<string, number>();
    for (const r of all) {
      if (!pathNo.has(r.path)) {
        old.db.run('INSERT INTO paths (share_no, path) VALUES (1, ?)', [r.path]);
        pathNo.set(r.path, pathNo.size + 1);
      }
      old.db.run('INSERT INTO files VALUES (?, ?, 1, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)', [
        pathNo.get(r.path)!,
        devNo(r.deviceId),
        { file: 0, dir: 1, symlink: 2 }[r.type],
        r.size,
        r.mode,
        r.mtimeMs,
        r.inode,
        oldVersion(r.version, devNo),
        r.sequence,
        r.deleted ? 1 : 0,
        encodeChunks(r.chunks),
        r.hash ? Buffer.from(r.hash, 'hex') : new Uint8Array(0),
        devNo(r.modifiedBy),
        r.signature ?? null,
      ]);
    }
    await old.db.close();

    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    for (const r of all) {
      const { signature, ...rest } = r;
      const got = store.getFile('s1', r.deviceId, r.path);
      assert.ok(got, r.path);
      const { signature: gotSig, ...gotRest } = got;
      assert.deepEqual(gotRest, rest, `${r.path} of ${r.deviceId}`);
      assert.deepEqual(gotSig ? Buffer.from(gotSig) : undefined, signature ? Buffer.from(signature) : undefined);
    }
    assert.deepEqual(
      store.filesSince('s1', LOCAL, 0, 10).map((r) => r.path),
      ['a.txt', 'enc.bin', 'gone.txt'],
    );
    // the compact form: derived hashes left out, the writer key once, no rowid
    assert.equal(db.rows('SELECT count(*) FROM files WHERE hash IS NULL')[0]![0], 2, 'a.txt on both devices');
    assert.equal(db.rows('SELECT count(*) FROM writer_keys')[0]![0], 1);
    assert.match(String(db.rows("SELECT sql FROM sqlite_master WHERE name = 'files'")[0]![0]), /WITHOUT ROWID/);

    // and new writes keep to it
    store.putFiles([file('b.txt', { sequence: 4 }), file('b.txt', { deviceId: PEER, sequence: 7, signature: signed(3) })]);
    assert.equal(db.rows('SELECT count(*) FROM files WHERE hash IS NULL')[0]![0], 4);
    assert.equal(db.rows('SELECT count(*) FROM writer_keys')[0]![0], 1, 'the same key is not stored twice');
    const b = store.getFile('s1', LOCAL, 'b.txt')!;
    assert.deepEqual(
      store.findChunk(b.chunks[1]!.hash).map((l) => l.path),
      ['b.txt'],
      'the chunk index finds new entries',
    );
    assert.deepEqual(Buffer.from(store.getFile('s1', PEER, 'b.txt')!.signature!), signed(3));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("schema 4: a read-write share's stored signatures are dropped (a writer signs what it sends), every other share's kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    const signature = Buffer.concat([new Uint8Array(32).fill(7), new Uint8Array(64).fill(1)]);
    const entries = (shareId: string) => [
      file('a.txt', { shareId, deviceId: PEER, sequence: 5, signature }),
      file('a.txt', { shareId, sequence: 1, signature }),
      file('b.txt', { shareId, sequence: 2 }),
    ];
    // rows as schema 3 stored them
    const old = await DurableDb.open(dir, { migrations: INDEX_MIGRATIONS.slice(0, 3), snapshotEveryMs: 0 });
    oldShare(old.db, share('rw'));
    oldShare(old.db, share('ro', { access: 'read-only' }));
    oldShare(old.db, share('enc', { access: 'encrypted' }));
    old.db.run('INSERT INTO devices (id) VALUES (?), (?)', [LOCAL, PEER]);
    old.db.run('INSERT INTO writer_keys (key) VALUES (?)', [signature.subarray(0, 32)]);
    const devNo = (id: string) => (id === LOCAL ? 1 : 2);
    ['rw', 'ro', 'enc'].forEach((id, s) => {
      for (const r of entries(id)) {
        old.db.run('INSERT OR IGNORE INTO paths (id, share_no, path) VALUES (?, ?, ?)', [
          r.path === 'a.txt' ? 2 * s + 1 : 2 * s + 2,
          s + 1,
          r.path,
        ]);
        old.db.run(
          `INSERT INTO files (path_id, device_no, share_no, type, size, mode, mtime_ms, inode, symlink_target, version, sequence,
             deleted, chunks, hash, modified_by, signer, signature) VALUES (?, ?, ?, 0, ?, ?, ?, ?, NULL, ?, ?, 0, ?, NULL, ?, ?, ?)`,
          [
            r.path === 'a.txt' ? 2 * s + 1 : 2 * s + 2,
            devNo(r.deviceId),
            s + 1,
            r.size,
            r.mode,
            r.mtimeMs,
            r.inode,
            oldVersion(r.version, devNo),
            r.sequence,
            encodeChunks(r.chunks),
            devNo(r.modifiedBy),
            r.signature ? 1 : null,
            r.signature ? r.signature.subarray(32) : null,
          ],
        );
      }
    });
    await old.db.close();

    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    assert.equal(db.get<{ user_version: number }>('PRAGMA user_version')?.user_version, INDEX_MIGRATIONS.length);
    for (const id of ['rw', 'ro', 'enc']) {
      for (const r of entries(id)) {
        const { signature: _, ...rest } = r;
        const got = store.getFile(id, r.deviceId, r.path);
        assert.ok(got, `${id}/${r.path}`);
        const { signature: gotSig, ...gotRest } = got;
        assert.deepEqual(gotRest, rest, `${id}: ${r.path} of ${r.deviceId} is otherwise as it was`);
        const want = id === 'rw' || !r.signature ? undefined : signature;
        assert.deepEqual(gotSig ? Buffer.from(gotSig) : undefined, want, `${id}: ${r.path} of ${r.deviceId}`);
      }
    }
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an entry whose writer key is missing from the database is a clear error, not a wrong signature', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-store-'));
  try {
    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    store.addShare(share('s1'));
    store.putFiles([file('a.txt', { deviceId: PEER, signature: new Uint8Array(96).fill(1) })]);
    db.run('DELETE FROM writer_keys');
    const fresh = new IndexStore(db, LOCAL); // nothing cached
    assert.throws(() => fresh.getFile('s1', PEER, 'a.txt'), /index database damaged: an entry refers to unknown writer key number 1/);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeStamp changes with every write or removal of a record, and only then', async () => {
  await withStore((store) => {
    store.addShare(share('s2'));
    const stamps = [store.writeStamp()];
    const changed = (what: string) => {
      const now = store.writeStamp();
      assert.notEqual(now, stamps[stamps.length - 1], what);
      stamps.push(now);
    };
    store.getFile('s1', LOCAL, 'a');
    store.entriesForPaths('s1', ['a']);
    assert.equal(store.writeStamp(), stamps[0], 'reads leave it');
    store.putFiles([file('a')]);
    changed('a local record');
    store.putFiles([file('a', { deviceId: PEER, version: { [PEER]: 1 }, modifiedBy: PEER })]);
    changed("a peer's record");
    store.removeLocalFiles('s1', ['a']);
    changed('a local record removed');
    store.forgetDevice('s1', PEER);
    changed('a device forgotten');
    store.putFiles([file('b', { shareId: 's2' })]);
    changed('a record of another share');
    store.removeShare('s2');
    changed('a share removed');
    assert.throws(() => store.putFiles([file('c'), file('', { sequence: 9 })]));
    changed('a batch rolled back');
  });
});
