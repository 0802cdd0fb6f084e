// Many small files pulled by a new device with several files asked for in one message
// (requestBatch, PROTOCOL.md "Block transfer"), every byte checked; and the same from a device that
// does not offer batches (PEERFOLD_REQUEST_BATCHES=0, as a device from before them): single
// requests only, every byte still arrives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, sha, waitUntil } from './harness.ts';

const FILES = 300;

const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.close();
});

/** alpha shares FILES files of 1-16 KiB in 12 folders; bravo joins as a new device and gets them all. */
async function newDeviceGetsSmallFiles(alphaEnv: Record<string, string>, bravoEnv: Record<string, string>) {
  const c = new Cluster('peerfold-e2e-small-batches-');
  clusters.push(c);
  const a = await c.add('alpha', alphaEnv);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < FILES; i++) {
    const dir = `d${i % 12}`;
    if (i < 12) mkdirSync(join(a.dir, dir));
    const data = randomBytes(1024 + ((i * 7919) % (15 * 1024)));
    writeFileSync(join(a.dir, dir, `f${i}.bin`), data);
    files.set(`${dir}/f${i}.bin`, data);
  }
  const { share, codes } = await a.call('share', { path: a.dir });
  await waitUntil('alpha to index its files', async () => (await a.share(share.id)).localFiles >= FILES, 120_000, 250);
  const b = await c.add('bravo', bravoEnv);
  await b.call('join', { code: codes.readWrite!, path: b.dir });
  try {
    const tree = await converged([a, b], share.id, 240_000);
    for (const [path, data] of files) assert.equal(tree.get(path), `f:${sha(data)}`, `${path} on bravo`);
  } catch (err) {
    console.error(c.logs());
    throw err;
  }
  return { a, b };
}

test('a new device pulls a few hundred small files asked for several in one message, every byte intact', { timeout: 300_000 }, async () => {
  const { a, b } = await newDeviceGetsSmallFiles({}, {});
  assert.match(b.log, /alpha answers batches of up to 64 requests/);
  // alpha served bravo's requests in batches (it says so once per link)
  assert.match(a.log, /bravo: answering requests for several files in one message \(first batch: \d+\)/);
});

test(
  'a device that does not offer batches (PEERFOLD_REQUEST_BATCHES=0) gets single requests, and a new device still pulls every byte from it',
  { timeout: 300_000 },
  async () => {
    const { a, b } = await newDeviceGetsSmallFiles({ PEERFOLD_REQUEST_BATCHES: '0' }, {});
    assert.doesNotMatch(b.log, /answers batches of up to/);
    assert.doesNotMatch(a.log, /answering requests for several files in one message/);
  },
);
