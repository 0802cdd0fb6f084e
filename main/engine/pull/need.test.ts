import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FileRecord } from '../index/rows.ts';
import { computeNeed, resolvePlanned, type PlannedPath } from './need.ts';
import { PlanQueue } from './plan-queue.ts';
import { RetryBook } from './retry.ts';

const SELF = 'SELF-DEVICE';
const PEER = 'PEER-DEVICE';

function rec(deviceId: string, path: string, over: Partial<FileRecord> = {}): FileRecord {
  const hash = createHash('sha256').update(path).digest();
  return {
    shareId: 's',
    deviceId,
    path,
    type: 'file',
    size: 10,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000,
    inode: 0,
    symlinkTarget: null,
    version: { [PEER]: 1 },
    sequence: 1,
    deleted: false,
    chunks: [{ hash, size: 10 }],
    hash: createHash('sha256').update(hash).digest('hex'),
    modifiedBy: PEER,
    signature: new Uint8Array(96),
    ...over,
  };
}

test('a need pass plans each path by name, decision, type and size, holding none of its records', () => {
  const paths = [
    { path: 'a.txt', entries: [rec(PEER, 'a.txt', { size: 7 })] },
    { path: 'd', entries: [rec(PEER, 'd', { type: 'dir', size: 0, chunks: [], hash: '' })] },
    { path: 'gone.txt', entries: [rec(SELF, 'gone.txt'), rec(PEER, 'gone.txt', { deleted: true, version: { [PEER]: 2 } })] },
    { path: 'same.txt', entries: [rec(SELF, 'same.txt'), rec(PEER, 'same.txt')] },
  ];
  const need = computeNeed(paths, SELF, new RetryBook(), Date.now());
  assert.deepEqual(need.items, [
    { path: 'a.txt', kind: 'fetch', type: 'file', size: 7 },
    { path: 'd', kind: 'fetch', type: 'dir', size: 0 },
    { path: 'gone.txt', kind: 'delete', type: 'file', size: 10 },
  ]);
  const plan = new PlanQueue(need.items);
  assert.deepEqual(
    [drain(() => plan.takeDir(0)), drain(() => plan.takeFile()), drain(() => plan.takeDelete())].map((l) => l.map((p) => p.path)),
    [['d'], ['a.txt'], ['gone.txt']],
  );
});

test('a planned path is carried out with its records as they are now, and not at all once its decision changed', () => {
  const planned = { path: 'a.txt', kind: 'fetch' as const, type: 'file' as const, size: 10 };
  const newer = rec(PEER, 'a.txt', { version: { [PEER]: 2 }, size: 12 });
  const n = resolvePlanned(planned, [newer], SELF, false);
  assert.equal(n?.global, newer, 'the newest global record, read again');
  assert.equal(n?.local, undefined);
  assert.equal(n?.decision.kind, 'fetch');
  // this device got it meanwhile: nothing left to do
  assert.equal(resolvePlanned(planned, [newer, rec(SELF, 'a.txt', { version: { [PEER]: 2 } })], SELF, false), null);
  // deleted meanwhile: a tombstone to record (adopt), not the planned fetch; the next need pass plans it
  assert.equal(resolvePlanned(planned, [rec(PEER, 'a.txt', { deleted: true, version: { [PEER]: 3 } })], SELF, false), null);
  // nobody has an entry any more
  assert.equal(resolvePlanned(planned, [], SELF, false), null);
});

test('a resolved file names the peers that hold exactly its global version: asked for its chunks without a lookup per chunk', () => {
  const planned = { path: 'a.txt', kind: 'fetch' as const, type: 'file' as const, size: 12 };
  const v = { [PEER]: 2 };
  const n = resolvePlanned(
    planned,
    [
      rec(PEER, 'a.txt', { version: v, size: 12 }),
      rec('SAME-VERSION', 'a.txt', { version: { ...v }, size: 12 }),
      rec('OLDER', 'a.txt', { version: { [PEER]: 1 } }),
      rec('GONE', 'a.txt', { version: { [PEER]: 1 }, deleted: true }),
    ],
    SELF,
    false,
  );
  assert.deepEqual([...(n?.holders ?? [])].sort(), [PEER, 'SAME-VERSION'].sort());
});

/** Everything `take` gives until it gives nothing. */
function drain(take: () => PlannedPath | null): PlannedPath[] {
  const out: PlannedPath[] = [];
  for (let p = take(); p; p = take()) out.push(p);
  return out;
}

/** The folders of a plan in the order they are made. */
function dirsOf(plan: PlanQueue): string[] {
  const out: string[] = [];
  for (let depth = plan.nextDirDepth(); depth !== null; depth = plan.nextDirDepth())
    out.push(...drain(() => plan.takeDir(depth)).map((d) => d.path));
  return out;
}

const dir = (path: string): PlannedPath => ({ path, kind: 'fetch', type: 'dir', size: 0 });
const file = (path: string): PlannedPath => ({ path, kind: 'fetch', type: 'file', size: 1 });
const del = (path: string): PlannedPath => ({ path, kind: 'delete', type: 'file', size: 1 });

test('a plan makes folders shallowest first, so those of one depth can be made together after their parents', () => {
  const plan = new PlanQueue([dir('b/x/y'), dir('a/z'), dir('b'), dir('a'), dir('b/x'), dir('c'), dir('a/z/q/r'), dir('a/z/q')]);
  assert.deepEqual(dirsOf(plan), ['a', 'b', 'c', 'a/z', 'b/x', 'a/z/q', 'b/x/y', 'a/z/q/r']);
});

test('a plan under way takes in later passes: folders still shallowest first, each path once, a moved path from its new list', () => {
  const plan = new PlanQueue([dir('a/z'), file('a/z/1'), del('old/x'), del('old')]);
  assert.equal(plan.takeDir(1)?.path, 'a/z');
  // the next index page: a shallower folder, the same file again, a file that is now to be deleted
  plan.add([dir('b'), dir('b/y'), file('a/z/1'), file('b/y/2'), file('c'), del('old/y')]);
  plan.add([del('c')]);
  assert.deepEqual(dirsOf(plan), ['b', 'b/y']);
  assert.deepEqual(
    drain(() => plan.takeFile()).map((p) => p.path),
    ['a/z/1', 'b/y/2'],
    'a/z/1 once; c left its place for its deletion',
  );
  assert.deepEqual(
    drain(() => plan.takeDelete()).map((p) => p.path),
    ['old/y', 'old/x', 'old', 'c'].sort().reverse(),
    'deepest first',
  );
  assert.equal(plan.size, 0);
  // a path taken may be planned again (its pull left it needed)
  plan.add([file('a/z/1')]);
  assert.equal(plan.takeFile()?.path, 'a/z/1');
});
