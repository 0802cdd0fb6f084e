// Files renamed into one folder at about the same time share the folder's fsync, and none is
// reported durable by a sync that began before it asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirSyncs } from './dir-syncs.ts';

function fakeSyncs() {
  const started: { dir: string; finish: () => void }[] = [];
  const syncs = new DirSyncs(
    (dir) =>
      new Promise<void>((resolve) => {
        started.push({ dir, finish: resolve });
      }),
  );
  return { syncs, started };
}

const settle = () => new Promise((r) => setImmediate(r));

test('the first file of a folder starts its sync at once, and is done when that sync is', async () => {
  const { syncs, started } = fakeSyncs();
  let done = false;
  void syncs.after('/s/a').then(() => (done = true));
  assert.deepEqual(
    started.map((s) => s.dir),
    ['/s/a'],
  );
  await settle();
  assert.equal(done, false);
  started[0]!.finish();
  await settle();
  assert.equal(done, true);
  assert.equal(syncs.busy, 0);
});

test('files that ask while a sync runs share one sync that starts after it, never the running one', async () => {
  const { syncs, started } = fakeSyncs();
  const first = syncs.after('/s/a');
  const doneLater: number[] = [];
  const later = Array.from({ length: 10 }, (_, i) => syncs.after('/s/a').then(() => doneLater.push(i)));
  assert.equal(started.length, 1, 'no second sync while one runs');
  started[0]!.finish();
  await first;
  await settle();
  assert.deepEqual(doneLater, [], 'the sync that began before they asked does not count for them');
  assert.equal(started.length, 2, 'one sync for all ten');
  started[1]!.finish();
  await Promise.all(later);
  assert.equal(doneLater.length, 10);
  assert.equal(started.length, 2);
  assert.equal(syncs.busy, 0);
});

test('folders are synced independently', async () => {
  const { syncs, started } = fakeSyncs();
  const a = syncs.after('/s/a');
  const b = syncs.after('/s/b');
  assert.deepEqual(
    started.map((s) => s.dir),
    ['/s/a', '/s/b'],
  );
  let aDone = false;
  void a.then(() => (aDone = true));
  started[1]!.finish();
  await b;
  assert.equal(aDone, false, 'a waits for its own folder');
  started[0]!.finish();
  await a;
});

test('a failed sync fails those who waited on it, and the next ones still get their own', async () => {
  const calls: string[] = [];
  let fail = true;
  const syncs = new DirSyncs(async (dir) => {
    calls.push(dir);
    await settle();
    if (fail) throw new Error('EIO');
  });
  const first = syncs.after('/s/a');
  const second = syncs.after('/s/a');
  await assert.rejects(first, /EIO/);
  fail = false;
  await second;
  assert.deepEqual(calls, ['/s/a', '/s/a']);
  assert.equal(syncs.busy, 0);
});
