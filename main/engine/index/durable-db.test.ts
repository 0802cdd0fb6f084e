import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableDb, type DurableDbOptions, type SnapshotStep } from './durable-db.ts';
import { encodeSnapshotHeader } from './durable-files.ts';
import { RECORD_HEADER_BYTES, scanJournal } from './journal-codec.ts';
import { loadSqlJs } from './sqljs.ts';

const MIGRATIONS = ['CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB, n INTEGER)'];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'peerfold-durable-'));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function openDb(dir: string, extra: Partial<DurableDbOptions> = {}): Promise<DurableDb> {
  const { db, recovered } = await DurableDb.open(dir, { migrations: MIGRATIONS, snapshotEveryMs: 0, ...extra });
  assert.equal(recovered, null);
  return db;
}

/** What a crash right now would leave on disk: a copy of the folder. */
function crashImage(dir: string): string {
  const image = tempDir();
  cpSync(dir, image, { recursive: true });
  return image;
}

function keys(db: DurableDb): string[] {
  return db.all<{ k: string }>('SELECT k FROM kv ORDER BY k').map((r) => r.k);
}

test('writes survive close and reopen; migrations run once', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k, v, n) VALUES (?, ?, ?)', ['a', new Uint8Array([1, 2, 3]), 2 ** 40 + 1]);
    db.transaction(() => {
      db.run('INSERT INTO kv (k, n) VALUES (?, ?)', ['b', 1.25]);
      db.run('UPDATE kv SET n = n + 1 WHERE k = ?', ['b']);
    });
    await db.close();
    const again = await openDb(dir);
    assert.deepEqual(again.get('SELECT k, v, n FROM kv WHERE k = ?', ['a']), { k: 'a', v: new Uint8Array([1, 2, 3]), n: 2 ** 40 + 1 });
    assert.equal(again.get<{ n: number }>('SELECT n FROM kv WHERE k = ?', ['b'])?.n, 2.25);
    assert.equal(again.get<{ user_version: number }>('PRAGMA user_version')?.user_version, 1);
    await again.close();
  });
});

test('committed writes are on disk before close (a crash image holds them)', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    for (let i = 0; i < 20; i++) db.run('INSERT INTO kv (k, n) VALUES (?, ?)', [`k${String(i).padStart(2, '0')}`, i]);
    const image = crashImage(dir);
    await db.close();
    try {
      const copy = await openDb(image);
      assert.equal(keys(copy).length, 20);
      assert.equal(copy.stats().replayedRecords, 20);
      await copy.close();
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });
});

test('a transaction that throws leaves nothing behind, in memory or on disk', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['keep']);
    assert.throws(
      () =>
        db.transaction(() => {
          db.run('INSERT INTO kv (k) VALUES (?)', ['gone']);
          throw new Error('boom');
        }),
      /boom/,
    );
    // a failing statement inside a transaction the caller catches: only that statement is undone
    db.transaction(() => {
      db.run('INSERT INTO kv (k) VALUES (?)', ['x']);
      assert.throws(() => db.run('INSERT INTO kv (k) VALUES (?)', ['x']), /UNIQUE/);
      db.run('INSERT INTO kv (k) VALUES (?)', ['y']);
    });
    assert.deepEqual(keys(db), ['keep', 'x', 'y']);
    const image = crashImage(dir);
    await db.close();
    const copy = await openDb(image);
    assert.deepEqual(keys(copy), ['keep', 'x', 'y']);
    await copy.close();
    rmSync(image, { recursive: true, force: true });
  });
});

test('nested transactions join the outer one; a failed inner one undoes only itself', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    let rollbacks = 0;
    db.onRollback(() => rollbacks++);
    db.transaction(() => {
      db.run('INSERT INTO kv (k) VALUES (?)', ['outer1']);
      db.transaction(() => db.run('INSERT INTO kv (k) VALUES (?)', ['inner-ok']));
      assert.throws(() =>
        db.transaction(() => {
          db.run('INSERT INTO kv (k) VALUES (?)', ['inner-bad']);
          throw new Error('inner');
        }),
      );
      db.run('INSERT INTO kv (k) VALUES (?)', ['outer2']);
    });
    assert.equal(rollbacks, 1);
    const image = crashImage(dir);
    await db.close();
    const copy = await openDb(image);
    assert.deepEqual(keys(copy), ['inner-ok', 'outer1', 'outer2']);
    await copy.close();
    rmSync(image, { recursive: true, force: true });
  });
});

test('misuse is refused with a clear error', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    assert.throws(() => db.get("INSERT INTO kv (k) VALUES ('a')"), /use run\(\)/);
    assert.throws(() => db.all('PRAGMA user_version = 5'), /use run\(\)/);
    assert.throws(() => db.transaction(() => Promise.resolve(1)), /synchronous/);
    assert.throws(() => db.run('INSERT INTO kv (k, n) VALUES (?, ?)', ['a', undefined as unknown as null]), /undefined/);
    assert.deepEqual(keys(db), []);
    let inside: Promise<void> | null = null;
    db.transaction(() => {
      inside = db.snapshot();
    });
    await assert.rejects(inside!, /inside a transaction/);
    await db.close();
    assert.throws(() => db.run('DELETE FROM kv'), /closed/);
  });
});

test('a torn journal tail is cut off at open, and writing goes on after it', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    for (let i = 0; i < 5; i++) db.run('INSERT INTO kv (k) VALUES (?)', [`k${i}`]);
    const image = crashImage(dir);
    await db.close();
    try {
      const journal = join(
        image,
        readdirSync(image).find((n) => n.startsWith('index.journal.'))!,
      );
      const size = statSync(journal).size;
      truncateSync(journal, size - 3); // the last record lost its end: k4's commit never returned
      appendFileSync(journal, Buffer.from([9, 9])); // and some garbage after
      const copy = await openDb(image);
      assert.deepEqual(keys(copy), ['k0', 'k1', 'k2', 'k3']);
      assert.ok(copy.stats().truncatedBytes > 0);
      copy.run('INSERT INTO kv (k) VALUES (?)', ['after']);
      const image2 = crashImage(image);
      await copy.close();
      const copy2 = await openDb(image2);
      assert.deepEqual(keys(copy2), ['after', 'k0', 'k1', 'k2', 'k3']);
      await copy2.close();
      rmSync(image2, { recursive: true, force: true });
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });
});

/** Byte offsets where each record of a journal file starts. */
function recordOffsets(journal: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  for (const payload of scanJournal(journal).records) {
    out.push(pos);
    pos += RECORD_HEADER_BYTES + payload.length;
  }
  return out;
}

test('damage in the middle of a journal (intact records after it) is reported and handled like a corrupt database', async () => {
  // a flipped payload byte, a flipped length byte, a zeroed header: each with records after it
  const damages: [string, (file: Buffer, at: number) => void][] = [
    ['payload byte', (f, at) => void (f[at + RECORD_HEADER_BYTES + 3]! ^= 0x10)],
    ['length byte', (f, at) => void (f[at + 2]! ^= 0x01)],
    ['zeroed header', (f, at) => f.fill(0, at, at + RECORD_HEADER_BYTES)],
  ];
  for (const [what, damage] of damages) {
    await withDir(async (dir) => {
      const db = await openDb(dir);
      for (let i = 0; i < 6; i++) db.run('INSERT INTO kv (k) VALUES (?)', [`k${i}`]);
      const image = crashImage(dir);
      await db.close();
      try {
        const name = readdirSync(image).find((n) => n.startsWith('index.journal.'))!;
        const file = readFileSync(join(image, name));
        const offsets = recordOffsets(file);
        assert.ok(offsets.length >= 6, what);
        damage(file, offsets[offsets.length - 4]!); // three intact records follow
        writeFileSync(join(image, name), file);
        await expectRecovered(image, /damaged in the middle/);
        assert.ok(
          readdirSync(image).some((n) => n.startsWith(`${name}.corrupt-`)),
          `${what}: the damaged journal is kept aside`,
        );
      } finally {
        rmSync(image, { recursive: true, force: true });
      }
    });
  }
});

test('a damaged last record, or zeros after it, is a torn tail: cut off silently', async () => {
  for (const tear of ['flip', 'zeros'] as const) {
    await withDir(async (dir) => {
      const db = await openDb(dir);
      for (let i = 0; i < 4; i++) db.run('INSERT INTO kv (k) VALUES (?)', [`k${i}`]);
      const image = crashImage(dir);
      await db.close();
      try {
        const name = readdirSync(image).find((n) => n.startsWith('index.journal.'))!;
        const file = readFileSync(join(image, name));
        if (tear === 'flip') {
          file[file.length - 2]! ^= 0x10; // k3's record is complete but its checksum fails
          writeFileSync(join(image, name), file);
        } else {
          appendFileSync(join(image, name), Buffer.alloc(4096)); // the file grew, its data never arrived
        }
        const copy = await openDb(image); // asserts recovered === null
        assert.deepEqual(keys(copy), tear === 'flip' ? ['k0', 'k1', 'k2'] : ['k0', 'k1', 'k2', 'k3']);
        assert.ok(copy.stats().truncatedBytes > 0);
        await copy.close();
      } finally {
        rmSync(image, { recursive: true, force: true });
      }
    });
  }
});

test('a crash at every step of a snapshot loses nothing', async () => {
  const steps: SnapshotStep[] = ['exported', 'journal-switched', 'snapshot-written', 'snapshot-renamed', 'journals-removed'];
  for (const crashAt of steps) {
    await withDir(async (dir) => {
      let image: string | null = null;
      let armed = false;
      let db: DurableDb | null = null;
      db = await openDb(dir, {
        onSnapshotStep: (step) => {
          if (!armed || step !== crashAt || image) return;
          // commits keep going while the snapshot is written: one lands in the new journal
          if (step !== 'exported') db!.run('INSERT INTO kv (k) VALUES (?)', ['during']);
          image = crashImage(dir);
        },
      });
      for (let i = 0; i < 10; i++) db.run('INSERT INTO kv (k) VALUES (?)', [`k${i}`]);
      armed = true;
      await db.snapshot();
      db.run('INSERT INTO kv (k) VALUES (?)', ['later']);
      const expected = keys(db);
      await db.close();
      assert.ok(image, `the hook ran at ${crashAt}`);
      try {
        const copy = await openDb(image);
        const got = keys(copy);
        const want = expected.filter((k) => k !== 'later' && (crashAt !== 'exported' || k !== 'during'));
        assert.deepEqual(got, want, `crash at ${crashAt}`);
        assert.deepEqual(copy.all('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
        copy.run('INSERT INTO kv (k) VALUES (?)', ['post']);
        await copy.close();
        const again = await openDb(image);
        assert.deepEqual(keys(again), [...want, 'post'].sort());
        await again.close();
      } finally {
        rmSync(image, { recursive: true, force: true });
      }
    });
  }
});

test('the journal rolls over into a snapshot when it grows past the limit', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir, { journalLimitBytes: 4096 });
    for (let i = 0; i < 100; i++) {
      db.run('INSERT INTO kv (k, v) VALUES (?, ?)', [`k${i}`, new Uint8Array(200)]);
      await new Promise((r) => setImmediate(r));
    }
    await db.snapshot(); // waits for one in flight, if any
    assert.ok(db.stats().generation > 3, `generation ${db.stats().generation}`);
    const journals = readdirSync(dir).filter((n) => n.startsWith('index.journal.'));
    assert.ok(journals.length <= 2, journals.join(','));
    await db.close();
    const again = await openDb(dir);
    assert.equal(keys(again).length, 100);
    await again.close();
  });
});

async function expectRecovered(dir: string, reason: RegExp): Promise<void> {
  const { db, recovered } = await DurableDb.open(dir, { migrations: MIGRATIONS, snapshotEveryMs: 0 });
  try {
    assert.ok(recovered, 'a recovery message');
    assert.match(recovered, /index database was corrupt/);
    assert.match(recovered, reason);
    assert.match(recovered, /rebuilt from disk; the old copy is at /);
    const moved = recovered.match(/the old copy is at (\S+)/)![1]!;
    assert.ok(existsSync(moved), `${moved} exists`);
    assert.match(moved, /\.corrupt-\d{8}-\d{6}/);
    assert.deepEqual(keys(db), []); // empty, schema in place
    db.run('INSERT INTO kv (k) VALUES (?)', ['fresh']);
  } finally {
    await db.close();
  }
  const again = await openDb(dir);
  assert.deepEqual(keys(again), ['fresh']);
  await again.close();
}

test('a garbage snapshot is moved aside and an empty database starts, other files untouched', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['lost']);
    await db.close();
    writeFileSync(join(dir, 'index.snapshot'), Buffer.from('this is not a database at all'.repeat(100)));
    writeFileSync(join(dir, 'identity.pem'), 'not ours');
    await expectRecovered(dir, /header/);
    assert.equal(readFileSync(join(dir, 'identity.pem'), 'utf8'), 'not ours');
    assert.ok(readdirSync(dir).some((n) => /^index\.snapshot\.corrupt-/.test(n)));
  });
});

test('a snapshot with a flipped bit fails its checksum', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['x']);
    await db.close();
    const file = readFileSync(join(dir, 'index.snapshot'));
    file[file.length - 100]! ^= 1;
    writeFileSync(join(dir, 'index.snapshot'), file);
    await expectRecovered(dir, /checksum/);
  });
});

test('an image SQLite refuses (with a valid checksum) is treated as corrupt', async () => {
  await withDir(async (dir) => {
    const image = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(dir, 'index.snapshot'), Buffer.concat([encodeSnapshotHeader(1, image), image]));
    await expectRecovered(dir, /SQLite cannot read|integrity/);
  });
});

test('a database failing integrity_check is treated as corrupt', async () => {
  await withDir(async (dir) => {
    const SQL = await loadSqlJs();
    const raw = new SQL.Database();
    raw.exec(`CREATE TABLE a (x); CREATE INDEX ai ON a (x); CREATE TABLE b (y); CREATE INDEX bi ON b (y);
      INSERT INTO a VALUES (1), (2), (3); INSERT INTO b VALUES (10), (20);`);
    const roots = raw.exec("SELECT name, rootpage FROM sqlite_master WHERE type = 'index' ORDER BY name")[0]!.values;
    // swap the two indexes' b-trees: each index now holds the other table's entries
    raw.exec(`PRAGMA writable_schema = ON;
      UPDATE sqlite_master SET rootpage = ${roots[1]![1]} WHERE name = 'ai';
      UPDATE sqlite_master SET rootpage = ${roots[0]![1]} WHERE name = 'bi';`);
    const image = raw.export();
    raw.close();
    writeFileSync(join(dir, 'index.snapshot'), Buffer.concat([encodeSnapshotHeader(1, image), image]));
    writeFileSync(join(dir, 'index.journal.1'), '');
    await expectRecovered(dir, /integrity check/);
  });
});

test('journals without a snapshot, or with a gap, are corrupt', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['x']);
    const image = crashImage(dir);
    await db.close();
    rmSync(join(image, 'index.snapshot'));
    await expectRecovered(image, /snapshot file is missing/);
    rmSync(image, { recursive: true, force: true });
  });
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['x']);
    await db.close();
    const gen = Number(
      readdirSync(dir)
        .find((n) => n.startsWith('index.journal.'))!
        .split('.')
        .pop(),
    );
    rmSync(join(dir, `index.journal.${gen}`));
    writeFileSync(join(dir, `index.journal.${gen + 1}`), '');
    await expectRecovered(dir, /missing/);
  });
});

test('a journal record that cannot be replayed is corrupt', async () => {
  await withDir(async (dir) => {
    const db = await openDb(dir);
    db.run('INSERT INTO kv (k) VALUES (?)', ['x']);
    const journalName = readdirSync(dir).find((n) => n.startsWith('index.journal.'))!;
    const journal = readFileSync(join(dir, journalName));
    await db.close(); // the snapshot now holds 'x'
    // put the old journal back as the current one: replaying its insert of 'x' fails
    const gen = Number(readFileSync(join(dir, 'index.snapshot')).readBigUInt64LE(16));
    writeFileSync(join(dir, `index.journal.${gen}`), journal);
    await expectRecovered(dir, /could not be replayed/);
  });
});

test('a database from a newer schema is refused, not wiped', async () => {
  await withDir(async (dir) => {
    const db = await DurableDb.open(dir, { migrations: [...MIGRATIONS, 'CREATE TABLE t2 (a)'], snapshotEveryMs: 0 });
    await db.db.close();
    await assert.rejects(
      () => DurableDb.open(dir, { migrations: MIGRATIONS, snapshotEveryMs: 0 }),
      /schema version 2, newer than this Peerfold knows \(1\)/,
    );
    assert.ok(existsSync(join(dir, 'index.snapshot')));
  });
});

test('a database bigger than its page cache answers the same, after a snapshot and a reopen too', async () => {
  await withDir(async (dir) => {
    // 24 MiB of rows: three times the 8 MiB page cache, so pages leave the cache and are read back
    const row = (i: number) => Buffer.alloc(6000, i % 251);
    let db = await openDb(dir, { journalLimitBytes: 1 << 30 });
    for (let batch = 0; batch < 4; batch++)
      db.transaction(() => {
        for (let i = batch * 1000; i < (batch + 1) * 1000; i++)
          db.run('INSERT INTO kv (k, v, n) VALUES (?, ?, ?)', [`key-${i}`, row(i), i]);
      });
    const check = (d: DurableDb, label: string) => {
      const all = d.rows('SELECT k, v, n FROM kv ORDER BY n');
      assert.equal(all.length, 4000, label);
      for (const [k, v, n] of all) {
        assert.equal(k, `key-${n}`, label);
        assert.ok(Buffer.from(v as Uint8Array).equals(row(n as number)), `${label}: row ${n}`);
      }
      assert.equal(d.get<{ n: number }>('SELECT n FROM kv WHERE k = ?', ['key-3999'])?.n, 3999, label);
    };
    check(db, 'in memory');
    await db.snapshot();
    check(db, 'after a snapshot');
    await db.close();
    db = await openDb(dir);
    check(db, 'reopened');
    await db.close();
  });
});
