import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import {
  comparePaths,
  computeNeed,
  decisionKey,
  resolvePlanned,
  updateNeedBook,
  type Need,
  type NeedBook,
  type NeedSource,
} from './need.ts';
import { PlanQueue } from './plan-queue.ts';
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
 * that reads only the changed paths plans exactly what a pass over every path plans. And a plan
 * under way that takes in only what changed (planChanges into a PlanQueue) holds all of it, and
 * nothing else that a pull would act on.
 */
test('an incremental need pass decides exactly what a pass over every path decides (random indexes)', async () => {
  const rnd = random(11);
  let compared = 0;
  let incremental = 0;
  let planned = 0;
  for (let world = 0; world < 40; world++) {
    await withStore((store) => {
      let book: NeedBook | null = null;
      let bookC: NeedBook | null = null;
      let queue = new PlanQueue();
      let readOnly = false;
      let now = 1_000_000;
      let seq = 0;
      const failuresA = new RetryBook();
      const failuresB = new RetryBook();
      const failuresC = new RetryBook();
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
            for (const f of [failuresA, failuresB, failuresC])
              if (fails) f.failed(path, key, new Error('disk says no'), now, global.size);
              else f.succeeded(path);
          }
        }
        if (rnd(3) === 0) continue; // changes pile up between passes too
        const wasBook: NeedBook | null = book;
        // both books read the same changes (taking them empties the store's set)
        const changed = store.takeChangedPaths('s');
        const source: NeedSource = {
          takeChangedPaths: () => changed,
          iterateByPath: (id) => store.iterateByPath(id),
          entriesForPathIds: (id, ids) => store.entriesForPathIds(id, ids),
          counts: (id, dev) => store.counts(id, dev),
          entriesForPath: (id, path) => store.entriesForPath(id, path),
        };
        const next = updateNeedBook(book, source, 's', SELF, readOnly, failuresA);
        if (next.book === wasBook) incremental++;
        book = next.book;
        const wasC: NeedBook | null = bookC;
        const nextC = updateNeedBook(bookC, source, 's', SELF, readOnly, failuresC);
        bookC = nextC.book;
        const a: Need = next.book.plan(next.local, failuresA, now, (path) => store.entriesForPath('s', path));
        const b = computeNeed(store.iterateByPath('s'), SELF, failuresB, now, readOnly);
        const why = `world ${world}, step ${step}`;
        assert.deepEqual(a.items, b.items, why);
        assert.deepEqual(a.totals, b.totals, why);
        assert.deepEqual([...a.ownedTemps].sort(), [...b.ownedTemps].sort(), why);
        assert.deepEqual(failuresA.errors(), failuresB.errors(), why);
        assert.equal(failuresA.nextRetryAt(), failuresB.nextRetryAt(), why);

        const entriesOf = (path: string) => store.entriesForPath('s', path);
        let c: Need;
        if (nextC.book === wasC) {
          c = nextC.book.planChanges(nextC.local, failuresC, now, entriesOf);
          queue.add(c.items);
        } else {
          c = nextC.book.plan(nextC.local, failuresC, now, entriesOf);
          queue = new PlanQueue(c.items);
        }
        assert.deepEqual(c.totals, b.totals, why);
        assert.deepEqual([...c.ownedTemps].sort(), [...b.ownedTemps].sort(), why);
        assert.deepEqual(
          failuresC.errors().sort((x, y) => comparePaths(x.path, y.path)),
          failuresB.errors().sort((x, y) => comparePaths(x.path, y.path)),
          why,
        );
        // everything the full pass plans waits in the queue, as planned; what else waits is
        // either nothing to do by now (its turn reads the index again) or a path that failed
        // since it was queued (in a puller only a path taken from the queue can fail)
        const waiting = new Map(queue.waiting().map((p) => [p.path, p]));
        for (const item of b.items) assert.deepEqual(waiting.get(item.path), item, `${why}: ${item.path} is not in the plan`);
        for (const [path, item] of waiting) {
          if (b.items.some((x) => x.path === path) || failuresC.has(path)) continue;
          assert.equal(resolvePlanned(item, entriesOf(path), SELF, readOnly), null, `${why}: ${path} is planned but not needed`);
        }
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

/**
 * A new device gets a long index page by page while it pulls (issue 11, "Scale": at 100,000 files
 * each page's pass planned the whole share again). With a plan under way, a pass after each page
 * looks at that page's paths and the files pulled since, not at every path still needed: the work
 * of all passes together is counted (paths read from the index and paths walked by a plan) and
 * must grow with the pages, not with pages x share.
 */
test('a plan after N index pages costs work proportional to the pages, not to the share', async () => {
  await withStore((store) => {
    const PAGES = 30;
    const PAGE = 500;
    let read = 0;
    const source: NeedSource = {
      takeChangedPaths: (id) => store.takeChangedPaths(id),
      iterateByPath: function* (id) {
        for (const p of store.iterateByPath(id)) {
          read++;
          yield p;
        }
      },
      entriesForPathIds: (id, ids) => {
        const out = store.entriesForPathIds(id, ids);
        read += out.length;
        return out;
      },
      counts: (id, dev) => store.counts(id, dev),
      entriesForPath: (id, path) => {
        read++;
        return store.entriesForPath(id, path);
      },
    };
    const failures = new RetryBook();
    const entriesOf = (path: string) => store.entriesForPath('s', path);
    let book: NeedBook | null = null;
    let queue: PlanQueue | null = null;
    let seq = 0;
    let pulled = 0;
    const peerEntry = (path: string, type: 'dir' | 'file'): FileRecord => ({
      ...entry(random(seq), P1, path, ++seq),
      type,
      size: type === 'file' ? 10 : 0,
      deleted: false,
      symlinkTarget: null,
      version: { [P1]: 1 },
    });
    for (let page = 0; page < PAGES; page++) {
      // the source's scan lists folders before their files: a page of folders, then pages of files
      const records = Array.from({ length: PAGE }, (_, i) => {
        const n = page * PAGE + i;
        return page < 2 ? peerEntry(`dir${n}`, 'dir') : peerEntry(`dir${n % 1000}/file-${n}.bin`, 'file');
      });
      store.putFiles(records);
      const next = updateNeedBook(book, source, 's', SELF, false, failures);
      const goOn: boolean = queue !== null && next.book === book;
      book = next.book;
      const need: Need = goOn ? book.planChanges(next.local, failures, 0, entriesOf) : book.plan(next.local, failures, 0, entriesOf);
      if (goOn) queue!.add(need.items);
      else queue = new PlanQueue(need.items);
      assert.equal(need.totals.needFiles, Math.max(0, page - 1) * PAGE - pulled, `page ${page}: every file known is needed`);
      // the puller works meanwhile: some of what is planned is pulled, and recorded as this device's
      const done: FileRecord[] = [];
      const take = () => {
        const d = queue!.nextDirDepth();
        return d !== null ? queue!.takeDir(d) : queue!.takeFile();
      };
      for (let p = take(); p; p = done.length < 200 ? take() : null) {
        done.push({ ...store.getFile('s', P1, p.path)!, deviceId: SELF });
        if (p.type === 'file') pulled++;
      }
      store.putFiles(done.map((r) => ({ ...r, sequence: ++seq })));
    }
    const entries = PAGES * PAGE;
    const work = read + book!.visits;
    // each entry is read once when it arrives and once when this device's own entry is written,
    // and walked once by the pass after each: about 4 per entry; a plan over every path still
    // needed, once per page, walks ~PAGES/2 times each (here ~15, so ~7 times more in all)
    assert.ok(work <= 5 * entries, `${work} paths read or walked for ${entries} entries in ${PAGES} pages`);
    // and the plan holds everything still to do, as a pass over every path finds it
    const all = computeNeed(store.iterateByPath('s'), SELF, new RetryBook(), 0);
    assert.ok(all.items.length > 5000, 'most files still to pull');
    assert.deepEqual(
      queue!
        .waiting()
        .map((p) => p.path)
        .sort(comparePaths),
      all.items.map((p) => p.path),
    );
  });
});
