import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { comparePaths, computeNeed, decisionKey, updateNeedBook, type Need, type NeedBook } from './need.ts';
import { sharedGlobal } from '../sync/read-only.ts';
import { RetryBook } from './retry.ts';

const SELF = 'SELF-DEVICE-AAAA';
const P1 = 'PEER-DEVICE-BBBB';
const P2 = 'PEER-DEVICE-CCCC';
const DEVICES = [SELF, P1, P2];
// index order is by UTF-8 bytes: U+E000..U+FFFF sort before astral characters, unlike in JS
const PATHS = ['a', 'a/b', 'a/b/c.txt', 'a.txt', 'b', 'b/x', 'é', '\u{1F600}', '\uFFFD', '\uE000x', 'z', `long/${'n'.repeat(256)}`];

async function withStore(fn: (store: IndexStore) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-need-book-'));
  const { store, db } = await IndexStore.open(dir, SELF, { snapshotEveryMs: 0 });
  try {
    store.addShare({ id: 's', name: 'S', path: '/data/s', access: 'read-write', secret: 'x', paused: false, createdAt: 1 });
    fn(store);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** mulberry32: every bit random (a power-of-two LCG's low bits repeat with a short period) */
function random(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

function entry(rnd: (n: number) => number, deviceId: string, path: string, sequence: number): FileRecord {
  const type = (['file', 'file', 'file', 'dir', 'symlink'] as const)[rnd(5)]!;
  const content = ['a', 'b'][rnd(2)]!;
  const size = type === 'file' ? [0, 5, 10][rnd(3)]! : 0;
  const chunks = type === 'file' && size ? [{ hash: new Uint8Array(createHash('sha256').update(content).digest()), size }] : [];
  const hash =
    type === 'file'
      ? createHash('sha256')
          .update(chunks.length ? chunks[0]!.hash : new Uint8Array())
          .digest('hex')
      : '';
  const version = Object.fromEntries(DEVICES.map((d) => [d, rnd(3)]).filter(([, n]) => n !== 0));
  return {
    shareId: 's',
    deviceId,
    path,
    type,
    size,
    mode: 0o644,
    mtimeMs: 1000 + rnd(2),
    inode: 0,
    symlinkTarget: type === 'symlink' ? content : null,
    version: Object.keys(version).length ? version : { [deviceId]: 1 },
    sequence,
    deleted: rnd(6) === 0,
    chunks,
    hash,
    modifiedBy: DEVICES[rnd(3)]!,
  };
}

test('comparePaths orders as the index does (by code point), not as JS compares strings', () => {
  assert.ok(comparePaths('\uFFFD', '\u{1F600}') < 0, 'U+FFFD before U+1F600');
  assert.ok('\uFFFD' > '\u{1F600}', 'JS puts it after');
  assert.ok(comparePaths('a', 'a/b') < 0 && comparePaths('a/b', 'a.txt') > 0 && comparePaths('b', 'b') === 0);
});

/**
 * Random changes to a real index (every device's entries written, removed, forgotten, a batch
 * rolled back, failures and their waits, the share turning read-only): after each, a need pass
 * that reads only the changed paths plans exactly what a pass over every path plans.
 */
test('an incremental need pass decides exactly what a pass over every path decides (random indexes)', async () => {
  const rnd = random(11);
  let compared = 0;
  let incremental = 0;
  let planned = 0;
  for (let world = 0; world < 40; world++) {
    await withStore((store) => {
      let book: NeedBook | null = null;
      let readOnly = false;
      let now = 1_000_000;
      let seq = 0;
      const failuresA = new RetryBook();
      const failuresB = new RetryBook();
      const someEntries = (n: number) =>
        Array.from({ length: n }, () => entry(rnd, DEVICES[rnd(3)]!, PATHS[rnd(PATHS.length)]!, rnd(4) ? ++seq : rnd(5)));
      for (let step = 0; step < 150; step++) {
        const op = rnd(20);
        if (op < 12) store.putFiles(someEntries(1 + rnd(4)));
        else if (op < 14)
          store.removeLocalFiles(
            's',
            PATHS.filter(() => rnd(3) === 0),
          );
        else if (op === 14) store.forgetDevice('s', DEVICES[1 + rnd(2)]!);
        else if (op === 15) {
          assert.throws(() =>
            store.transaction(() => {
              store.putFiles(someEntries(2));
              throw new Error('rolled back');
            }),
          );
        } else if (op === 16) readOnly = !readOnly;
        else if (op === 17) now += [1000, 60_000, 3_600_000][rnd(3)]!;
        else {
          // a pull of some path fails (or succeeds) against its decision as the index has it now
          const path = PATHS[rnd(PATHS.length)]!;
          const entries = store.entriesForPath('s', path);
          const global = sharedGlobal(entries, SELF, readOnly);
          if (global) {
            const key = decisionKey(
              entries.find((e) => e.deviceId === SELF),
              global,
            );
            const fails = rnd(4) !== 0;
            for (const f of [failuresA, failuresB])
              if (fails) f.failed(path, key, new Error('disk says no'), now, global.size);
              else f.succeeded(path);
          }
        }
        if (rnd(3) === 0) continue; // changes pile up between passes too
        const wasBook: NeedBook | null = book;
        const next = updateNeedBook(book, store, 's', SELF, readOnly, failuresA);
        if (next.book === wasBook) incremental++;
        book = next.book;
        const a: Need = next.book.plan(next.local, failuresA, now, (path) => store.entriesForPath('s', path));
        const b = computeNeed(store.iterateByPath('s'), SELF, failuresB, now, readOnly);
        const why = `world ${world}, step ${step}`;
        assert.deepEqual(a.items, b.items, why);
        assert.deepEqual(a.totals, b.totals, why);
        assert.deepEqual([...a.ownedTemps].sort(), [...b.ownedTemps].sort(), why);
        assert.deepEqual(failuresA.errors(), failuresB.errors(), why);
        assert.equal(failuresA.nextRetryAt(), failuresB.nextRetryAt(), why);
        compared++;
        planned += a.items.length;
      }
    });
  }
  assert.ok(incremental > compared * 0.6, `only ${incremental} of ${compared} passes were incremental`);
  assert.ok(planned > compared, 'the passes planned something');
});

test('a need book keeps only the paths that add something: none once every path is in sync', async () => {
  await withStore((store) => {
    const records: FileRecord[] = [];
    for (let i = 0; i < 50; i++) {
      const e = entry(random(i), P1, `f${i}`, i + 1);
      const file = { ...e, type: 'file' as const, deleted: false, version: { [P1]: 1 } };
      records.push(file, { ...file, deviceId: SELF });
    }
    store.putFiles(records.filter((r) => r.deviceId === P1));
    const first = updateNeedBook(null, store, 's', SELF, false, new RetryBook());
    assert.equal(first.book.size, 50, 'every file is needed');
    store.putFiles(records.filter((r) => r.deviceId === SELF));
    const next = updateNeedBook(first.book, store, 's', SELF, false, new RetryBook());
    assert.equal(next.book, first.book, 'read incrementally');
    assert.equal(next.book.size, 0);
    assert.equal(next.book.plan(next.local, new RetryBook(), 0, () => []).totals.globalFiles, 50);
  });
});
