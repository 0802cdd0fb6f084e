// A device that joins a big share starts getting its files while the peer's index still arrives,
// not once all of it has been written: with 100,000 files that was minutes before the first file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, waitUntil } from './harness.ts';

const FILES = Number(process.env.PEERFOLD_E2E_INDEX_FILES ?? 20_000);

const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.close();
});

test('a new device shows files arriving before the whole index of a big share is in', { timeout: 600_000 }, async (t) => {
  const c = new Cluster('peerfold-e2e-index-arrival-');
  clusters.push(c);
  const a = await c.add('alpha');
  for (let i = 0; i < FILES; i++) {
    const dir = join(a.dir, `d${i % 100}`);
    if (i < 100) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  const { share, codes } = await a.call('share', { path: a.dir });
  await waitUntil('alpha to index its files', async () => (await a.share(share.id)).localFiles >= FILES, 400_000, 500);
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
