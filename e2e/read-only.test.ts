// A read-only device with real daemons: it receives every change and sends none; its own edits,
// creates and deletes stay local changes it can list and revert, and a newer shared version of a
// file it edited still arrives, its edit kept as a conflict copy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, contentsUnder, sha, sleep, treeOf, waitUntil } from './harness.ts';

const c = new Cluster('peerfold-e2e-readonly-');
after(() => c.close());

const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => a.localeCompare(b));
const read = (dir: string, p: string) => (existsSync(join(dir, p)) ? readFileSync(join(dir, p), 'utf8') : null);

test(
  'a read-only device gets every change, sends none, lists and reverts its own, and keeps an edit a newer version replaces',
  { timeout: 400_000 },
  async () => {
    const writer = await c.add('writer');
    const ro = await c.add('reader');
    for (const n of ['a', 'b', 'c']) writeFileSync(join(writer.dir, `${n}.txt`), `${n} from the writer\n`);
    const { share, codes } = await writer.call('share', { path: writer.dir });
    assert.ok(codes.readOnly?.startsWith('pfr1'));
    const joined = await ro.call('join', { code: codes.readOnly!, path: ro.dir });
    assert.equal(joined.share.access, 'read-only');
    const roCodes = await ro.call('codes', { share: share.id });
    assert.deepEqual(
      { ...roCodes, readOnly: roCodes.readOnly === codes.readOnly },
      { readWrite: null, readOnly: true, encrypted: codes.encrypted },
    );

    await waitUntil(
      'the read-only device to converge',
      () => JSON.stringify(sorted(treeOf(ro.dir))) === JSON.stringify(sorted(treeOf(writer.dir))),
      120_000,
    );

    // local changes: an edit, a new file, a deletion
    writeFileSync(join(ro.dir, 'a.txt'), 'a edited on the reader\n');
    writeFileSync(join(ro.dir, 'new.txt'), 'made on the reader\n');
    rmSync(join(ro.dir, 'c.txt'));
    await ro.call('rescan', { share: share.id });
    await waitUntil('three local changes', async () => (await ro.share(share.id)).localChanges === 3, 180_000);
    const changes = await ro.call('changes', { share: share.id });
    assert.deepEqual(
      changes.sort((x, y) => x.path.localeCompare(y.path)),
      [
        { path: 'a.txt', change: 'modified' },
        { path: 'c.txt', change: 'deleted' },
        { path: 'new.txt', change: 'added' },
      ],
    );
    // the writer takes none of them
    await sleep(4000);
    assert.equal(read(writer.dir, 'a.txt'), 'a from the writer\n');
    assert.equal(read(writer.dir, 'c.txt'), 'c from the writer\n');
    assert.equal(existsSync(join(writer.dir, 'new.txt')), false);
    assert.deepEqual((await writer.call('files', { share: share.id })).map((f) => f.path).sort(), ['a.txt', 'b.txt', 'c.txt']);
    assert.equal((await writer.share(share.id)).localChanges, 0);

    // the writer's changes still arrive; a newer version of the edited file too, the edit kept aside
    writeFileSync(join(writer.dir, 'b.txt'), 'b, second version\n');
    writeFileSync(join(writer.dir, 'a.txt'), 'a, second version from the writer\n');
    await writer.call('rescan', { share: share.id });
    await waitUntil(
      'the new versions on the reader',
      () => read(ro.dir, 'b.txt') === 'b, second version\n' && read(ro.dir, 'a.txt') === 'a, second version from the writer\n',
      120_000,
    );
    const conflicts = await waitUntil(
      "the conflict copy of the reader's edit",
      async () => {
        const list = await ro.call('conflicts', { share: share.id });
        return list.length === 1 ? list : false;
      },
      60_000,
    );
    assert.equal(conflicts[0]!.path, 'a.txt');
    assert.equal(read(ro.dir, conflicts[0]!.conflictPath), 'a edited on the reader\n', 'the edit is not lost');

    // revert one path: the new file goes to the archive
    assert.deepEqual(await ro.call('revert', { share: share.id, path: 'new.txt' }), { reverted: 1 });
    assert.equal(existsSync(join(ro.dir, 'new.txt')), false);
    assert.ok(contentsUnder(join(ro.dir, '.peerfold', 'archive')).has(sha('made on the reader\n')), 'new.txt is in the archive');
    await assert.rejects(ro.call('revert', { share: share.id, path: 'b.txt' }), /no local change/);
    await assert.rejects(writer.call('revert', { share: share.id }), /nothing to revert/);

    // revert all: the deleted file comes back, and the folder is the writer's again
    await ro.call('revert', { share: share.id });
    await waitUntil(
      'the reader to hold the shared version again',
      async () =>
        JSON.stringify(sorted(treeOf(ro.dir))) === JSON.stringify(sorted(treeOf(writer.dir))) &&
        (await ro.share(share.id)).localChanges === 0,
      120_000,
    );
    const archived = contentsUnder(join(ro.dir, '.peerfold', 'archive'));
    assert.ok(archived.has(sha('a edited on the reader\n')), 'the conflict copy went to the archive, not away');
    assert.ok(readdirSync(ro.dir).includes('c.txt'));
    assert.equal((await writer.share(share.id)).rejectedEntries, 0, 'the reader never sent an unsigned entry');
  },
);
