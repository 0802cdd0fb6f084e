import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pickGlobal, type Versioned } from './global.ts';
import { decide } from './decide.ts';
import { compareVectors } from './vv.ts';
import { archivePath, conflictOrigin, conflictPath, parseArchivePath, parseConflictPath, safeDeviceName } from './names.ts';

const entry = (deviceId: string, version: Record<string, number>, extra: Partial<Versioned> = {}): Versioned => ({
  deviceId,
  version,
  deleted: false,
  type: 'file',
  mtimeMs: 1000,
  modifiedBy: deviceId,
  hash: `h-${JSON.stringify(version)}`,
  ...extra,
});

test('the global version is the one that dominates the others', () => {
  const a = entry('A', { A: 2, B: 1 });
  const b = entry('B', { A: 1, B: 1 });
  assert.equal(pickGlobal([b, a]), a);
  assert.equal(pickGlobal([a, b]), a);
});

test('among concurrent versions every device picks the same winner, whatever order it saw them in', () => {
  // One version vector is one change: the content, time and author follow from it.
  const gen = fc.array(
    fc
      .record({
        deviceId: fc.constantFrom('A', 'B', 'C'),
        version: fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.integer({ min: 0, max: 3 })),
      })
      .map(({ deviceId, version }): Versioned => {
        const key = JSON.stringify(
          Object.entries(version)
            .filter(([, n]) => n > 0)
            .sort(),
        );
        const h = [...key].reduce((acc, c) => (acc * 31 + c.charCodeAt(0)) >>> 0, 7);
        return {
          deviceId,
          version,
          deleted: h % 3 === 0,
          type: 'file',
          mtimeMs: h % 4,
          modifiedBy: 'ABC'[h % 3],
          hash: h % 3 === 0 ? '' : `h${h % 5}`,
        };
      }),
    { minLength: 1, maxLength: 6 },
  );
  fc.assert(
    fc.property(gen, fc.infiniteStream(fc.nat()), (entries, seeds) => {
      const shuffled = [...entries]
        .map((e) => [e, seeds.next().value] as const)
        .sort((x, y) => x[1] - y[1])
        .map((x) => x[0]);
      const g1 = pickGlobal(entries)!;
      const g2 = pickGlobal(shuffled)!;
      return compareVectors(g1.version, g2.version) === 'equal' && g1.hash === g2.hash && g1.deleted === g2.deleted;
    }),
  );
});

test('an existing file beats a concurrent deletion, so a deletion never destroys a concurrent edit', () => {
  const edited = entry('A', { A: 2, B: 1 }, { mtimeMs: 1 });
  const deleted = entry('B', { A: 1, B: 2 }, { deleted: true, mtimeMs: 99, hash: '' });
  assert.equal(pickGlobal([deleted, edited]), edited);
});

test('decide: fetch newer, adopt same content, delete tombstones, and keep what loses', () => {
  const base = entry('A', { A: 1 });
  assert.deepEqual(decide(base, entry('B', { A: 1, B: 1 }), 'A'), { kind: 'fetch', keepOld: 'archive' });
  assert.deepEqual(decide(base, { ...entry('B', { A: 1, B: 1 }), hash: base.hash }, 'A'), { kind: 'adopt', version: { A: 1, B: 1 } });
  assert.deepEqual(decide(base, entry('B', { A: 1, B: 1 }, { deleted: true, hash: '' }), 'A'), { kind: 'delete', keepOld: 'archive' });
  assert.deepEqual(decide(undefined, entry('B', { B: 1 }), 'A'), { kind: 'fetch', keepOld: 'nothing' });
  assert.deepEqual(decide(base, base, 'A'), { kind: 'none' });
  // concurrent, different content: the author of the losing version makes the conflict copy…
  assert.deepEqual(decide(entry('A', { A: 2 }), entry('B', { A: 1, B: 1 }), 'A'), { kind: 'fetch', keepOld: 'conflict-copy' });
  // …a device that only relayed it archives its copy instead, so there is exactly one conflict copy
  assert.deepEqual(decide(entry('C', { A: 2 }, { modifiedBy: 'A' }), entry('B', { A: 1, B: 1 }), 'C'), {
    kind: 'fetch',
    keepOld: 'archive',
  });
  // concurrent but identical content merges silently into a version that dominates both
  const same = decide(entry('A', { A: 2 }, { hash: 'same' }), entry('B', { A: 1, B: 1 }, { hash: 'same' }), 'A');
  assert.deepEqual(same, { kind: 'adopt', version: { A: 2, B: 1 } });
});

const ANN = { name: 'Ann laptop', id: 'MFRGGZD-FMZTMOB-ZGQ4TMN-BVG6ZDB-OJ2HK3A' };

test('conflict copies are named name.conflict-<device>-<ID7>-<stamp>.ext and parse back', () => {
  const ms = new Date(2026, 10, 22, 3, 4, 5).getTime();
  const taken = new Set<string>();
  const p1 = conflictPath('docs/report.final.docx', ANN, ms, (p) => taken.has(p));
  assert.equal(p1, 'docs/report.final.conflict-Ann-laptop-MFRGGZD-20261122-030405.docx');
  taken.add(p1);
  const p2 = conflictPath('docs/report.final.docx', ANN, ms, (p) => taken.has(p));
  assert.equal(p2, 'docs/report.final.conflict-Ann-laptop-MFRGGZD-20261122-030405-2.docx');
  assert.deepEqual(parseConflictPath(p1), {
    original: 'docs/report.final.docx',
    deviceName: 'Ann-laptop',
    deviceIdPrefix: 'MFRGGZD',
    stamp: '20261122-030405',
  });
  assert.equal(parseConflictPath('.bashrc.conflict-x-ABCDEFG-20261122-030405')?.original, '.bashrc');
  assert.equal(parseConflictPath('plain.txt'), null);
  assert.equal(safeDeviceName('../../etc'), 'etc');
});

test('two devices with one name make differently named conflict copies', () => {
  const ms = new Date(2026, 10, 22, 3, 4, 5).getTime();
  const a = conflictPath('notes.txt', { name: 'vm', id: 'MFRGGZD-FMZTMOB-ZGQ4TMN-BVG6ZDB-OJ2HK3A' }, ms, () => false);
  const b = conflictPath('notes.txt', { name: 'vm', id: 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D' }, ms, () => false);
  assert.notEqual(a, b);
  assert.equal(parseConflictPath(a)?.deviceIdPrefix, 'MFRGGZD');
  assert.equal(parseConflictPath(b)?.deviceIdPrefix, 'CEIRCEI');
});

test('a conflict of a conflict copy gets a fresh name beside the original, never a nested one', () => {
  const ms1 = new Date(2026, 0, 1, 10, 0, 0).getTime();
  const ms2 = new Date(2026, 0, 2, 11, 30, 0).getTime();
  const vm2 = { name: 'vm', id: 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D' };
  const first = conflictPath('dir/x.txt', { name: 'vm', id: ANN.id }, ms1, () => false);
  assert.equal(first, 'dir/x.conflict-vm-MFRGGZD-20260101-100000.txt');
  const second = conflictPath(first, vm2, ms2, () => false);
  assert.equal(second, 'dir/x.conflict-vm-CEIRCEI-20260102-113000.txt');
  assert.equal(parseConflictPath(second)?.original, 'dir/x.txt');
  // copies nested by earlier versions, without the ID, still parse, and their conflicts are not nested further
  const nested = 'x.conflict-vm-20260101-100000.conflict-vm-20260102-113000.txt';
  assert.deepEqual(parseConflictPath(nested), {
    original: 'x.conflict-vm-20260101-100000.txt',
    deviceName: 'vm',
    deviceIdPrefix: null,
    stamp: '20260102-113000',
  });
  assert.equal(conflictOrigin(nested), 'x.txt');
  assert.equal(
    conflictPath(nested, vm2, ms2, () => false),
    'x.conflict-vm-CEIRCEI-20260102-113000.txt',
  );
  assert.equal(
    conflictPath('.bashrc.conflict-vm-MFRGGZD-20260101-100000', vm2, ms2, () => false),
    '.bashrc.conflict-vm-CEIRCEI-20260102-113000',
  );
});

test('archive names carry time and version and parse back to the original path', () => {
  const ms = new Date(2026, 0, 2, 3, 4, 5).getTime();
  const a = archivePath('x/notes.txt', ms, 'ABCDEFG-3', () => false);
  assert.equal(a, '.peerfold/archive/x/notes~20260102-030405~ABCDEFG-3.txt');
  assert.deepEqual(parseArchivePath(a), { original: 'x/notes.txt', stamp: '20260102-030405' });
});

test('the winner does not depend on sub-millisecond times, which do not travel between devices', () => {
  const local = entry('A', { A: 2 }, { mtimeMs: 1000.9, modifiedBy: 'A', hash: 'a' });
  const remoteAsSeenHere = entry('B', { A: 1, B: 1 }, { mtimeMs: 1000, modifiedBy: 'B', hash: 'b' });
  const localAsSeenThere = { ...local, mtimeMs: 1000 };
  const here = pickGlobal([local, remoteAsSeenHere])!;
  const there = pickGlobal([localAsSeenThere, remoteAsSeenHere])!;
  assert.equal(here.hash, there.hash);
});

// The one-off "two conflict copies for one concurrent edit" (issue 3's note): ann and bob wrote
// plan.txt in the same millisecond, so bob's version won on the device-ID tie-break. A device
// that pulls a version used to record it with the mtime utimes() left on disk, which is 1 ms
// below the author's half of the time. Bob, holding his own entry (t) and a puller's copy of the
// same version (t - 1), compared ann's version against the copy, saw ann's as later, and made a
// conflict copy of his own version too: each author decided it had lost.
test('holders of one version whose recorded times differ compare it by its latest time, whatever order the entries come in', () => {
  const t = 1_764_600_000_123;
  const annVersion = { ann: 2, bob: 1 };
  const bobVersion = { ann: 1, bob: 2 };
  const ann = entry('ann', annVersion, { mtimeMs: t + 0.4, modifiedBy: 'ann', hash: 'a' });
  const bob = entry('bob', bobVersion, { mtimeMs: t + 0.7, modifiedBy: 'bob', hash: 'b' });
  const catsCopyOfBob = entry('cat', bobVersion, { mtimeMs: t - 0.001, modifiedBy: 'bob', hash: 'b' });
  // the right winner: same whole ms, then the larger author ("bob" > "ann")
  for (const order of [
    [bob, catsCopyOfBob, ann],
    [catsCopyOfBob, bob, ann],
    [ann, catsCopyOfBob, bob],
  ]) {
    assert.deepEqual(pickGlobal(order)!.version, bobVersion, `order ${order.map((e) => e.deviceId).join(',')}`);
  }
});
