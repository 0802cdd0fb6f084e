// What protects a share from its own device's mistakes, with real daemons: a folder emptied by
// hand is not sent to peers as deletions until the user says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, treeOf, waitUntil } from './harness.ts';

const c = new Cluster('peerfold-e2e-guards-');
after(() => c.close());

test('most of a share deleted at once is held: peers keep the files until the deletions are confirmed, or the files come back on restore', { timeout: 300_000 }, async () => {
  const [a, b] = [await c.add('anna'), await c.add('ben')];
  const names = Array.from({ length: 30 }, (_, i) => `docs/note${String(i).padStart(2, '0')}.txt`);
  mkdirSync(join(a.dir, 'docs'), { recursive: true });
  for (const n of names) writeFileSync(join(a.dir, n), `${n}\n`);
  const shareId = await c.shareAmong([a, b]);
  await converged([a, b], shareId);

  // ben empties most of the folder: 25 of 30 files
  const gone = names.slice(0, 25);
  for (const n of gone) rmSync(join(b.dir, n));
  const held = await waitUntil('ben to hold the deletions', async () => {
    const s = await b.share(shareId);
    return s.heldDeletes === 25 ? s : false;
  });
  assert.equal(held.error, null);
  await b.call('rescan', { share: shareId }); // a full rescan holds them too, and sends nothing
  assert.equal((await b.share(shareId)).heldDeletes, 25);
  const annaFiles = await a.call('files', { share: shareId });
  assert.equal(annaFiles.filter((f) => f.deleted).length, 0, "anna's index holds no deletion");
  for (const n of names) assert.ok(existsSync(join(a.dir, n)), `anna still has ${n}`);

  // restore: ben gets the files back from anna
  assert.deepEqual(await b.call('restoreDeletes', { share: shareId }), { restoring: 25 });
  const restored = await converged([a, b], shareId);
  assert.equal([...restored.keys()].filter((p) => p.startsWith('docs/note')).length, 30, 'every file is back on both');
  assert.equal((await b.share(shareId)).heldDeletes, 0);

  // the same mistake again, this time meant: confirmed, the deletions reach anna
  for (const n of gone) rmSync(join(b.dir, n));
  await waitUntil('ben to hold the deletions again', async () => (await b.share(shareId)).heldDeletes === 25);
  assert.deepEqual(await b.call('confirmDeletes', { share: shareId }), { deleted: 25 });
  const after = await converged([a, b], shareId);
  assert.deepEqual([...after.keys()].filter((p) => p.startsWith('docs/note')).sort(), names.slice(25));
  assert.equal((await a.share(shareId)).heldDeletes, 0);

  // a few deletions are ordinary: they sync without asking
  rmSync(join(a.dir, names[25]));
  await waitUntil('the single deletion to reach ben', () => !treeOf(b.dir).has(names[25]));
  assert.equal((await a.share(shareId)).heldDeletes, 0);
});
