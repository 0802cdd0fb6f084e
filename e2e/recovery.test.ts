// A corrupt index database is reported, moved aside and rebuilt from disk; the share and its
// files survive (the share list also lives in shares.json), and nothing in the folder is touched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, treeOf, waitUntil } from './harness.ts';

const c = new Cluster('peerfold-e2e-recovery-');
after(() => c.close());

test('a corrupt database gets a clear message and is rebuilt from disk; the files are untouched', { timeout: 120_000 }, async () => {
  const a = await c.add('solo');
  for (let i = 0; i < 20; i++) writeFileSync(join(a.dir, `note${i}.txt`), `note ${i}\n`);
  const { share } = await a.call('share', { path: a.dir });
  await waitUntil('the first scan', async () => (await a.share(share.id)).localFiles === 20);
  const before = treeOf(a.dir);
  await a.stop();

  const indexDir = join(a.home, 'index');
  for (const f of readdirSync(indexDir)) writeFileSync(join(indexDir, f), 'this is not a database, it is garbage '.repeat(100));

  await a.start();
  const s = await waitUntil('the share to be rebuilt from disk', async () => {
    const x = (await a.status()).shares.find((y) => y.id === share.id);
    return x && x.localFiles === 20 && x.state === 'idle' ? x : false;
  });
  assert.equal(s.path, a.dir);
  assert.match(a.log, /corrupt.*rebuilt from disk/);
  assert.ok(readdirSync(indexDir).some((f) => f.includes('.corrupt-')), 'the broken files are kept aside');
  assert.deepEqual([...treeOf(a.dir)].sort(), [...before].sort(), 'the folder is exactly as it was');
  assert.equal((await a.call('codes', { share: share.id })).readWrite?.startsWith('pfw1'), true);
});
