// What protects a share from its own device's mishaps, with real daemons: a folder emptied by hand
// is not sent to peers as deletions until the user says so, and a device whose database is rebuilt
// does not lose the edits it made offline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, treeOf, waitUntil } from './harness.ts';

const c = new Cluster('peerfold-e2e-guards-');
after(() => c.close());

test(
  'most of a share deleted at once is held: peers keep the files until the deletions are confirmed, or the files come back on restore',
  { timeout: 300_000 },
  async () => {
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
  },
);

test(
  "an edit made offline survives the loss of the device's database: it wins everywhere, nothing is silently replaced",
  { timeout: 300_000 },
  async () => {
    const [a, b] = [await c.add('ada'), await c.add('bob')];
    writeFileSync(join(a.dir, 'plan.txt'), 'v1 by ada\n');
    writeFileSync(join(a.dir, 'same.txt'), 'nobody edits this\n');
    const shareId = await c.shareAmong([a, b]);
    await converged([a, b], shareId);

    writeFileSync(join(b.dir, 'plan.txt'), 'v2 by bob, synced\n');
    await waitUntil("bob's edit to reach ada", () => readFileSync(join(a.dir, 'plan.txt'), 'utf8').startsWith('v2'));
    await converged([a, b], shareId);

    // bob goes offline, edits again, and loses his database
    await b.stop();
    writeFileSync(join(b.dir, 'plan.txt'), 'v3 by bob, offline\n');
    const indexDir = join(b.home, 'index');
    for (const f of readdirSync(indexDir)) writeFileSync(join(indexDir, f), 'not a database '.repeat(100));
    await b.start();
    await waitUntil("bob's database to be rebuilt", () => /rebuilt from disk/.test(b.log));

    const tree = await converged([a, b], shareId);
    assert.equal(readFileSync(join(a.dir, 'plan.txt'), 'utf8'), 'v3 by bob, offline\n', "bob's offline edit reached ada");
    assert.equal(readFileSync(join(b.dir, 'plan.txt'), 'utf8'), 'v3 by bob, offline\n', 'and bob kept it');
    assert.deepEqual(
      [...tree.keys()].filter((p) => p.includes('.conflict-')),
      [],
      'an unchanged file is no conflict',
    );
  },
);
