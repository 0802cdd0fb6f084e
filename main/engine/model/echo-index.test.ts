// A peer that pulled this device's files sends their entries back. That echo must not cost a need
// pass over the whole share (sync/peer-echo.ts): on the device being pulled from, one pass per
// batch sent back took a fifth to two fifths of the main thread. Anything new still starts one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OTHER, openShareFixture, until } from './share-fixture.ts';

test("a peer's index that only echoes what this device holds starts no need pass; a new version does", { timeout: 120_000 }, async () => {
  const f = await openShareFixture();
  try {
    const paths = Array.from({ length: 40 }, (_, i) => `d${i % 4}/f${i}.txt`);
    await f.peerIndex(paths.map((p) => f.peerWrites(p, `content of ${p}`)));
    await until('every file', () => paths.every((p) => f.local(p)));
    await f.settled();

    let needPasses = 0;
    // every need pass, over every path or over the changed ones, starts by asking what changed
    const take = f.store.takeChangedPaths.bind(f.store);
    f.store.takeChangedPaths = (...args) => {
      needPasses++;
      return take(...args);
    };
    // another device pulled them from here and sends back what it now holds, in two batches
    const echoes = paths.map((p, i) => ({ ...f.local(p)!, deviceId: OTHER, sequence: i + 1 }));
    await f.peerIndex(echoes.slice(0, 20));
    await f.peerIndex(echoes.slice(20));
    await f.settled();
    assert.equal(needPasses, 0, 'an echo started a need pass');
    // nor does a later pass read their paths again (on the device a new one pulls from, that was
    // every path of the share, read by the first pass after a rescan or a change of its own)
    assert.deepEqual(take(f.folder.id), [], 'the echoed paths are noted as changed');
    assert.deepEqual(f.store.getFile(f.folder.id, OTHER, paths[39]!)?.version, f.local(paths[39]!)!.version, 'the echo is recorded');

    // a batch is judged whole: echoes alone may change nothing, one new version among them may
    // (the first entry is looked up alone, the rest in batches: the new one comes last)
    const write = (records: typeof echoes) => ({
      device: OTHER,
      records,
      apply: () => (f.store.putFiles(records), false),
    });
    const again = echoes.slice(0, 39).map((r, i) => ({ ...r, sequence: 100 + i }));
    assert.equal(await f.folder.enqueueRemoteIndex(write(again)), false, 'echoes only');
    const edit = { ...f.peerWrites(paths[39]!, 'edited elsewhere', { device: OTHER }), sequence: 200 };
    assert.equal(await f.folder.enqueueRemoteIndex(write([...again, edit])), true, 'a new version after 39 echoes');
    await until('the edit', () => readFileSync(join(f.root, paths[39]!), 'utf8') === 'edited elsewhere');
  } finally {
    await f.close();
  }
});
