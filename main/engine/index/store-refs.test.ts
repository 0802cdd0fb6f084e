// Schema 5 (issue 11): a peer's entry equal to the local one is stored as a reference to it. Every
// reader must see exactly the records that were written, whatever happens to the local entry after,
// and a schema-4 database made by the code before schema 5 must read back the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from './store.ts';
import { DurableDb } from './durable-db.ts';
import { INDEX_MIGRATIONS } from './schema.ts';
import { DEVICES, LOCAL, PEER, PEER2, RecordMaker, echo, recordFromJson } from './random-records.fixture.ts';
import type { FileCounts, FileRecord, ShareRow } from './rows.ts';

const SHARES = ['rw', 'ro'] as const;

function share(id: string): ShareRow {
  return {
    id,
    name: id,
    path: `/data/${id}`,
    access: id === 'rw' ? 'read-write' : 'read-only',
    secret: 'x',
    paused: false,
    createdAt: 1,
  };
}

/** A record in a form deepEqual compares by value (bytes as hex, no signature key when unsigned). */
function norm(r: FileRecord): unknown {
  const { signature, chunks, ...rest } = r;
  return {
    ...rest,
    chunks: chunks.map((c) => `${Buffer.from(c.hash).toString('hex')}:${c.size}`),
    signature: signature?.length ? Buffer.from(signature).toString('hex') : null,
  };
}

const key = (r: Pick<FileRecord, 'shareId' | 'deviceId' | 'path'>) => `${r.shareId}\0${r.deviceId}\0${r.path}`;
const byPath = (a: FileRecord, b: FileRecord) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/** Every reader of the store against the model: what was written is what is read. */
function checkAgainst(store: IndexStore, db: DurableDb, model: Map<string, FileRecord>, label: string): void {
  for (const shareId of SHARES) {
    for (const deviceId of DEVICES) {
      const want = [...model.values()].filter((r) => r.shareId === shareId && r.deviceId === deviceId).sort(byPath);
      const at = `${label}: ${shareId} ${deviceId}`;
      assert.deepEqual(store.listFiles(shareId, deviceId, { includeDeleted: true }).map(norm), want.map(norm), `${at}: listFiles`);
      assert.deepEqual(
        store.listFiles(shareId, deviceId).map(norm),
        want.filter((r) => !r.deleted).map(norm),
        `${at}: listFiles without tombstones`,
      );
      assert.deepEqual(
        store.filesSince(shareId, deviceId, 0, 1000).map(norm),
        [...want].sort((a, b) => a.sequence - b.sequence).map(norm),
        `${at}: filesSince`,
      );
      assert.deepEqual(
        [...store.liveStatsUnder(shareId, deviceId, '', 4)],
        want
          .filter((r) => !r.deleted)
          .map(({ path, type, size, mode, mtimeMs, inode, deleted }) => ({ path, type, size, mode, mtimeMs, inode, deleted })),
        `${at}: liveStatsUnder`,
      );
      const counts: FileCounts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
      for (const r of want) {
        if (r.deleted) continue;
        if (r.type === 'file') {
          counts.files++;
          counts.bytes += r.size;
        } else if (r.type === 'dir') counts.dirs++;
        else counts.symlinks++;
      }
      assert.deepEqual(store.counts(shareId, deviceId), counts, `${at}: counts`);
      for (const r of want) {
        assert.deepEqual(norm(store.getFile(shareId, deviceId, r.path)!), norm(r), `${at}: getFile ${r.path}`);
        assert.deepEqual(store.fileVersion(shareId, deviceId, r.path), { version: r.version, deleted: r.deleted }, `${at}: fileVersion`);
        const { path, type, size, mode, mtimeMs, inode, deleted, sequence } = r;
        assert.deepEqual(
          store.fileStat(shareId, deviceId, r.path),
          { path, type, size, mode, mtimeMs, inode, deleted, sequence },
          `${at}: fileStat`,
        );
      }
      const dirs = new Set(want.map((r) => (r.path.includes('/') ? r.path.slice(0, r.path.lastIndexOf('/')) : '')));
      for (const dir of dirs) {
        const inDir = want.filter((r) => (r.path.includes('/') ? r.path.slice(0, r.path.lastIndexOf('/')) : '') === dir);
        assert.deepEqual(
          store
            .childStats(shareId, deviceId, dir)
            .map((s) => s.path)
            .sort(),
          inDir.map((r) => r.path).sort(),
          `${at}: childStats ${dir}`,
        );
      }
    }
    const all = [...model.values()].filter((r) => r.shareId === shareId);
    const paths = [...new Set(all.map((r) => r.path))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const grouped = [...store.iterateByPath(shareId, 3)];
    const shareNo = db.rows('SELECT no FROM shares WHERE id = ?', [shareId])[0]![0] as number;
    const ids = db.rows('SELECT id FROM paths WHERE share_no = ?', [shareNo]).map((r) => r[0] as number);
    const byIds = store.entriesForPathIds(shareId, ids).filter((g) => g.entries.length);
    assert.deepEqual(
      byIds
        .map((g) => ({ path: g.path, entries: g.entries.map(norm) }))
        .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))),
      grouped.map((g) => ({ path: g.path, entries: g.entries.map(norm) })),
      `${label}: ${shareId} entriesForPathIds`,
    );
    assert.deepEqual(
      grouped.map((g) => g.path),
      paths,
      `${label}: ${shareId} iterateByPath paths`,
    );
    // many paths at once, a missing one among them
    const byPaths = store.entriesForPaths(shareId, [...paths, 'not/there']);
    assert.deepEqual(
      [...byPaths.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      paths,
      `${label}: ${shareId} entriesForPaths paths`,
    );
    for (const g of grouped) {
      const want = DEVICES.map((d) => model.get(key({ shareId, deviceId: d, path: g.path }))).filter((r): r is FileRecord => !!r);
      assert.deepEqual(
        byPaths
          .get(g.path)!
          .map(norm)
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        want.map(norm).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        `${label}: entriesForPaths ${g.path}`,
      );
      const got = [...g.entries].sort((a, b) => DEVICES.indexOf(a.deviceId as never) - DEVICES.indexOf(b.deviceId as never));
      assert.deepEqual(got.map(norm), want.map(norm), `${label}: iterateByPath ${g.path}`);
      assert.deepEqual(
        store
          .entriesForPath(shareId, g.path)
          .map(norm)
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        want.map(norm).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        `${label}: entriesForPath ${g.path}`,
      );
    }
  }
}

test('randomized writes: every reader sees each device entry as written, references or not (a local change never alters a peer entry)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-refs-'));
  try {
    let { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    for (const id of SHARES) store.addShare(share(id));
    const model = new Map<string, FileRecord>();
    const make = new RecordMaker(11);
    let references = 0;
    let withOwn = 0; // references that keep their own mtime
    for (let step = 0; step < 400; step++) {
      const shareId = make.pick(SHARES);
      const roll = make.pick(['local', 'local', 'peer-copy', 'peer-copy', 'pull', 'peer', 'remove', 'forget'] as const);
      const batch: FileRecord[] = [];
      const path = make.path();
      const mine = model.get(key({ shareId, deviceId: LOCAL, path }));
      const theirs = model.get(key({ shareId, deviceId: PEER, path }));
      if (roll === 'local') batch.push(make.record(shareId, LOCAL, path));
      else if (roll === 'peer-copy' && mine)
        batch.push(make.chance(0.5) ? make.copy(mine, make.pick([PEER, PEER2])) : echo(make, mine, make.pick([PEER, PEER2])));
      else if (roll === 'pull' && theirs) {
        // the local entry becomes the peer's version, with the file system's own fraction of a millisecond
        batch.push({ ...make.copy(theirs, LOCAL), mtimeMs: make.chance(0.5) ? theirs.mtimeMs : theirs.mtimeMs + 0.5 });
      } else if (roll === 'peer') batch.push(make.record(shareId, make.pick([PEER, PEER2]), path));
      else if (roll === 'remove') {
        store.removeLocalFiles(shareId, [path]);
        model.delete(key({ shareId, deviceId: LOCAL, path }));
      } else if (roll === 'forget' && make.chance(0.1)) {
        store.forgetDevice(shareId, PEER2);
        for (const [k, r] of model) if (r.shareId === shareId && r.deviceId === PEER2) model.delete(k);
      }
      if (make.chance(0.3)) batch.push(make.record(shareId, make.pick(DEVICES)));
      if (batch.length) {
        store.putFiles(batch);
        for (const r of batch) model.set(key(r), r);
      }
      references = Math.max(references, db.rows('SELECT count(*) FROM files WHERE same_as IS NOT NULL')[0]![0] as number);
      withOwn = Math.max(
        withOwn,
        db.rows('SELECT count(*) FROM files WHERE same_as IS NOT NULL AND mtime_ms IS NOT NULL')[0]![0] as number,
      );
      if (step % 40 === 39) checkAgainst(store, db, model, `step ${step}`);
      if (step % 100 === 99) {
        await db.close();
        ({ store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 }));
        checkAgainst(store, db, model, `step ${step}, reopened`);
      }
    }
    assert.ok(references >= 5, `references were made (at most ${references} at once)`);
    assert.ok(withOwn >= 2, `references with an mtime of their own were made (at most ${withOwn} at once)`);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a peer's entry stored as a reference keeps what it said through the local entry's change, removal and a new local identity", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-refs-'));
  try {
    let { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    store.addShare(share('rw'));
    const make = new RecordMaker(3);
    const refs = () => db.rows('SELECT count(*) FROM files WHERE same_as IS NOT NULL')[0]![0];
    const mine = { ...make.record('rw', LOCAL, 'a.txt'), deleted: false };
    const theirs = make.copy(mine, PEER);
    store.putFiles([mine, theirs]);
    assert.equal(refs(), 1, "the peer's entry is a reference");
    const wire = { ...make.copy(mine, PEER2), mtimeMs: Math.floor(mine.mtimeMs) + 0.5 === mine.mtimeMs ? mine.mtimeMs - 0.5 : 3 };
    store.putFiles([wire]);
    assert.equal(refs(), 2, 'an entry with an mtime of its own is a reference too');
    assert.deepEqual(norm(store.getFile('rw', PEER2, 'a.txt')!), norm(wire));
    store.putFiles([{ ...mine, sequence: 99, mtimeMs: 5, version: { [LOCAL]: 77 } }]);
    assert.equal(refs(), 0, 'the local change broke it');
    assert.deepEqual(norm(store.getFile('rw', PEER, 'a.txt')!), norm(theirs), 'and the peer entry still says what it said');
    assert.deepEqual(norm(store.getFile('rw', PEER2, 'a.txt')!), norm(wire), 'its own mtime too');
    store.forgetDevice('rw', PEER2);
    store.putFiles([{ ...theirs, deviceId: LOCAL, sequence: 100 }]); // pulled back to the peer's version
    assert.equal(refs(), 1, 'the same content again: a reference again');
    store.removeLocalFiles('rw', ['a.txt']);
    assert.equal(refs(), 0);
    assert.deepEqual(norm(store.getFile('rw', PEER, 'a.txt')!), norm(theirs), 'removing the local entry keeps the peer entry');
    assert.equal(store.getFile('rw', LOCAL, 'a.txt'), null);

    store.putFiles([{ ...theirs, deviceId: LOCAL, sequence: 101 }]);
    assert.equal(refs(), 1);
    await db.close();
    ({ store, db } = await IndexStore.open(dir, 'NEW-IDENTITY', { snapshotEveryMs: 0 }));
    assert.equal(refs(), 0, 'a new local identity resolves references (the old one is a peer now)');
    store.putFiles([{ ...theirs, deviceId: LOCAL, sequence: 102, version: { [LOCAL]: 1000 } }]); // the old identity's row, as a peer's
    assert.deepEqual(norm(store.getFile('rw', PEER, 'a.txt')!), norm(theirs));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const FIXTURE = join(import.meta.dirname, 'schema4-fixture');

function fixtureDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-schema4-'));
  writeFileSync(join(dir, 'index.snapshot'), gunzipSync(readFileSync(join(FIXTURE, 'index.snapshot.gz'))));
  return dir;
}

const fixtureRecords = (): FileRecord[] =>
  (JSON.parse(readFileSync(join(FIXTURE, 'records.json'), 'utf8')) as Record<string, unknown>[]).map(recordFromJson);

function checkFixture(store: IndexStore, records: FileRecord[], label: string): void {
  for (const shareId of ['rw', 'ro', 'enc']) {
    for (const deviceId of [LOCAL, PEER, PEER2]) {
      const want = records.filter((r) => r.shareId === shareId && r.deviceId === deviceId);
      assert.deepEqual(
        store.listFiles(shareId, deviceId, { includeDeleted: true }).map(norm),
        want.map(norm),
        `${label}: ${shareId} ${deviceId}`,
      );
      for (const r of want) assert.deepEqual(norm(store.getFile(shareId, deviceId, r.path)!), norm(r), `${label}: ${r.path}`);
    }
  }
}

test('schema 5: a schema-4 database made by the code before it reads back every record as it was, compacted', async () => {
  const dir = fixtureDir();
  try {
    const records = fixtureRecords();
    assert.ok(records.length > 50);
    const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    assert.equal(db.get<{ user_version: number }>('PRAGMA user_version')?.user_version, 5);
    checkFixture(store, records, 'migrated');
    const refs = db.rows('SELECT count(*) FROM files WHERE same_as IS NOT NULL')[0]![0] as number;
    assert.ok(refs >= 10, `peers' copies of local entries became references (${refs})`);
    const v4Bytes = records.reduce((n, r) => n + 12 * Object.keys(r.version).length, 0);
    const v5Bytes = db.rows('SELECT total(length(version)) FROM files')[0]![0] as number;
    assert.ok(v5Bytes < v4Bytes / 3, `version vectors are varints (${v5Bytes} B stored, ${v4Bytes} B in schema 4's form)`);
    assert.equal(store.getPeer('rw', PEER)?.remoteSeqSeen, 12, 'bookkeeping is untouched');
    // the migrated database goes on like a new one
    const again = records.find((r) => r.deviceId === LOCAL && r.shareId === 'rw' && !r.deleted)!;
    store.putFiles([{ ...again, sequence: 1000, mtimeMs: 42 }]);
    checkFixture(
      store,
      records.map((r) => (r === again ? { ...again, sequence: 1000, mtimeMs: 42 } : r)),
      'after a local write',
    );
    await db.close();
    const reopened = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    checkFixture(
      reopened.store,
      records.map((r) => (r === again ? { ...again, sequence: 1000, mtimeMs: 42 } : r)),
      'reopened',
    );
    await reopened.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema 5: a migration cut short leaves the schema-4 database as it was, and the next start migrates it', async () => {
  const dir = fixtureDir();
  try {
    const records = fixtureRecords();
    const before = readFileSync(join(dir, 'index.snapshot'));
    const step = INDEX_MIGRATIONS[4]!;
    assert.equal(typeof step, 'function');
    const dying = [
      ...INDEX_MIGRATIONS.slice(0, 4),
      (db: DurableDb) => {
        (step as (db: DurableDb) => void)(db);
        throw new Error('power cut at the end of the migration');
      },
    ];
    await assert.rejects(DurableDb.open(dir, { migrations: dying, snapshotEveryMs: 0 }), /power cut/);
    assert.deepEqual(readFileSync(join(dir, 'index.snapshot')), before, 'the snapshot is untouched');
    const { store, db, recovered } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0 });
    assert.equal(recovered, null);
    checkFixture(store, records, 'migrated on the next start');
    await db.close();

    // committed but not yet in a snapshot: the journal's replay of the migration gives the same
    const replayDir = fixtureDir();
    try {
      const opened = await DurableDb.open(replayDir, { migrations: INDEX_MIGRATIONS.slice(0, 4), snapshotEveryMs: 0 });
      opened.db.transaction(() => (INDEX_MIGRATIONS[4] as (db: DurableDb) => void)(opened.db));
      opened.db.run('PRAGMA user_version = 5');
      // a crash now: the journal holds the migration, the snapshot is schema 4's
      const copy = mkdtempSync(join(tmpdir(), 'peerfold-schema4-crash-'));
      cpSync(replayDir, copy, { recursive: true });
      await opened.db.close();
      try {
        const crashed = await IndexStore.open(copy, LOCAL, { snapshotEveryMs: 0 });
        assert.equal(crashed.recovered, null);
        checkFixture(crashed.store, records, 'replayed from the journal');
        await crashed.db.close();
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    } finally {
      rmSync(replayDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
