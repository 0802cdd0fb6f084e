// Writer signatures on index entries, with real daemons: a read-only device that sends entries no writer
// signed (a test-only hook, PEERFOLD_TEST_FORGE_ENTRIES, makes it send them unsigned, signed with
// another key, or with its version raised under the old signature) changes nothing on the others,
// and they count and log what they refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, sleep, treeOf, waitUntil, type Device } from './harness.ts';

const c = new Cluster('peerfold-e2e-signed-');
after(() => c.close());

test(
  'entries that are unsigned, signed with another key or altered change nothing on a writer; it counts and logs them',
  { timeout: 300_000 },
  async () => {
    const writer = await c.add('writer');
    writeFileSync(join(writer.dir, 'hello.txt'), 'from the writer\n');
    const { share, codes } = await writer.call('share', { path: writer.dir });
    const forgers: Device[] = [];
    for (const kind of ['unsigned', 'wrong-key', 'tampered']) {
      const f = await c.add(`forger-${kind}`, { PEERFOLD_TEST: '1', PEERFOLD_TEST_FORGE_ENTRIES: kind });
      await f.call('join', { code: codes.readOnly!, path: f.dir });
      forgers.push(f);
    }
    // the writer's own (signed) entries reach every forger
    for (const f of forgers) {
      await waitUntil(
        `${f.name} to get hello.txt`,
        () => existsSync(join(f.dir, 'hello.txt')) && readFileSync(join(f.dir, 'hello.txt'), 'utf8') === 'from the writer\n',
        120_000,
      );
    }
    const before = treeOf(writer.dir);

    for (const f of forgers) {
      writeFileSync(join(f.dir, 'hello.txt'), `overwritten by ${f.name}\n`);
      writeFileSync(join(f.dir, `${f.name}.txt`), 'made up\n');
      await f.call('rescan', { share: share.id });
    }
    // every forger's changes reach the writer and are refused there
    await waitUntil(
      'the writer to refuse entries from every forger',
      () => forgers.every((f) => writer.log.includes(`refused "${f.name}.txt" from ${f.name}`)),
      120_000,
    );
    const refused = (await writer.share(share.id)).rejectedEntries;
    assert.ok(refused >= 3, `the writer counts what it refused (${refused})`);
    assert.match(writer.log, /not signed/);
    assert.match(writer.log, /not the share's writer key/);
    assert.match(writer.log, /does not match its contents/);

    // and nothing changed: give any pull a moment, then compare
    await sleep(3000);
    assert.deepEqual([...treeOf(writer.dir)].sort(), [...before].sort(), "the writer's folder is exactly as it was");
    const files = await writer.call('files', { share: share.id });
    assert.deepEqual(files.map((f) => f.path).sort(), ['hello.txt']);
    assert.equal((await writer.share(share.id)).needFiles, 0);
    // the link stays up: refusing an entry is not a protocol error
    assert.equal((await writer.share(share.id)).peersConnected, 3);
  },
);
