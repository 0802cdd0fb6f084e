// Many files to a new device. It starts getting them while the peer's index still arrives, not
// once all of it has been written (with 100,000 files that was minutes before the first file);
// and a crash while they arrive in batches loses none of them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, treeOf, waitUntil } from './harness.ts';

const FILES = Number(process.env.PEERFOLD_E2E_INDEX_FILES ?? 20_000);

const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.close();
});

/** A device sharing `files` small files (of different sizes) spread over `folders` folders, all indexed. */
async function alphaSharing(files: number, folders: number) {
  const c = new Cluster('peerfold-e2e-many-files-');
  clusters.push(c);
  const a = await c.add('alpha');
  for (let i = 0; i < files; i++) {
    const dir = join(a.dir, `d${i % folders}`);
    if (i < folders) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), `file ${i} `.repeat(1 + (i % 50)));
  }
  const { share, codes } = await a.call('share', { path: a.dir });
  await waitUntil('alpha to index its files', async () => (await a.share(share.id)).localFiles >= files, 400_000, 500);
  return { c, a, share, codes };
}

test('a new device shows files arriving before the whole index of a big share is in', { timeout: 600_000 }, async (t) => {
  // few folders: the new device makes them all before its first file (one at a time)
  const { c, share, codes } = await alphaSharing(FILES, 10);
  const b = await c.add('bravo');
  await b.call('join', { code: codes.readWrite!, path: b.dir });
  // what the user sees in status: files in place while fewer than all files are known
  const seen = await waitUntil(
    'bravo to have files in place, or to know all of the share',
    async () => {
      const s = (await b.status()).shares[0];
      if (!s) return false;
      if (s.localFiles > 0) return { localFiles: s.localFiles, globalFiles: s.globalFiles };
      return s.globalFiles >= FILES ? { localFiles: 0, globalFiles: s.globalFiles } : false;
    },
    300_000,
    50,
  );
  t.diagnostic(`first files in place: ${seen.localFiles} of ${seen.globalFiles} known (the share has ${FILES})`);
  assert.ok(
    seen.localFiles > 0 && seen.globalFiles < FILES,
    `bravo had ${seen.localFiles} files in place when it knew ${seen.globalFiles} of ${FILES}`,
  );
  // and the rest of the index still arrives while it pulls
  await waitUntil('bravo to know the whole share', async () => (await b.share(share.id)).globalFiles >= FILES, 300_000, 500);
});

test(
  'a kill -9 of a device while many small files arrive loses none of them and changes none on the peer',
  { timeout: 600_000 },
  async (t) => {
    const FEW = 2000;
    const { c, a, share, codes } = await alphaSharing(FEW, 30);
    const before = treeOf(a.dir);
    const b = await c.add('bravo');
    await b.call('join', { code: codes.readWrite!, path: b.dir });
    // killed while files are being installed and their entries written in batches
    const had = await waitUntil(
      'bravo to be part way',
      async () => {
        const s = await b.share(share.id);
        return s.localFiles >= FEW / 5 ? s.localFiles : false;
      },
      300_000,
      50,
    );
    await b.kill9();
    const onDisk = [...treeOf(b.dir).values()].filter((v) => v.startsWith('f:')).length;
    t.diagnostic(`killed with ${had} files recorded, ${onDisk} on disk`);
    await b.start();
    await converged([a, b], share.id, 400_000);
    // nothing alpha had was replaced, deleted or archived because of the crash, and nothing conflicts
    assert.deepEqual([...treeOf(a.dir)].sort(), [...before].sort());
    for (const d of [a, b]) {
      assert.deepEqual(await d.call('conflicts', { share: share.id }), [], `${d.name} lists no conflict`);
      const archive = join(d.dir, '.peerfold', 'archive');
      assert.deepEqual(existsSync(archive) ? readdirSync(archive) : [], [], `${d.name} archived nothing`);
    }
  },
);
