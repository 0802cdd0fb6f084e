// Odd but legal file names on a running daemon. On POSIX a backslash is an ordinary character, so
// `a\..\b` is one plain name: it must be indexed and synced like any other, and no name, however
// odd, may stop a daemon (it used to: the watcher read the backslashes as separators and threw
// "path must stay inside the share" from a timer).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, Fatal, sleep, waitUntil } from './harness.ts';

const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.close();
});

// legal on POSIX; a Windows device would report each of them per path instead (unsafeRemotePath)
const odd = ['a\\..\\b', '..\\..\\escape', 'dir\\sub\\file.txt', 'back\\', '\\lead', 'new\nline', 'CON', 'what?*<>|:"', 'dots...', '-dash'];

test(
  'names with backslashes and dots are plain names on POSIX: the daemon stays up, indexes them and syncs them',
  { timeout: 300_000, skip: process.platform === 'win32' ? 'a POSIX file name test' : false },
  async () => {
    const c = new Cluster('peerfold-e2e-odd-');
    clusters.push(c);
    const a = await c.add('odd-a');
    const { share, codes } = await a.call('share', { path: a.dir });
    await waitUntil('the first scan', async () => (await a.share(share.id)).state === 'idle');
    // a file made after the first scan is seen by the watcher: from here on, it is what reports changes
    writeFileSync(join(a.dir, 'plain.txt'), 'plain\n');
    await waitUntil(
      'the watcher to report a new file',
      async () => (await a.call('files', { share: share.id })).some((f) => f.path === 'plain.txt'),
      120_000,
    );

    // created while the daemon watches: the watcher reports them
    for (const name of odd) writeFileSync(join(a.dir, name), `content of ${name}\n`);
    mkdirSync(join(a.dir, 'x\\..'));
    writeFileSync(join(a.dir, 'x\\..', 'inner'), 'inner\n');

    const expected = [...odd, 'x\\..', 'x\\../inner', 'plain.txt'].sort();
    await waitUntil(
      'the odd names to be indexed',
      async () => {
        if (a.proc?.exitCode !== null) throw new Fatal(`the daemon exited:\n${a.log}`);
        const names = (await a.call('files', { share: share.id }))
          .filter((f) => !f.deleted)
          .map((f) => f.path)
          .sort();
        return JSON.stringify(names) === JSON.stringify(expected);
      },
      120_000,
    );
    // a watcher flush happens a moment after the change; give a crash the time to show
    await sleep(1500);
    assert.equal(a.proc?.exitCode, null, `the daemon stopped:\n${a.log}`);
    assert.doesNotMatch(a.log, /unexpected error|Stopping/);
    assert.deepEqual((await a.share(share.id)).errors, []);

    // and a second device gets them, as plain names
    const b = await c.add('odd-b');
    await b.call('join', { code: codes.readWrite!, path: b.dir });
    const tree = await converged([a, b], share.id);
    for (const name of odd) assert.equal(readFileSync(join(b.dir, name), 'utf8'), `content of ${name}\n`);
    assert.equal(tree.get('x\\../inner')?.startsWith('f:'), true);

    // an edit on the receiving side goes back, so both watchers and pullers handle the names
    writeFileSync(join(b.dir, 'a\\..\\b'), 'edited on b\n');
    await converged([a, b], share.id);
    assert.equal(readFileSync(join(a.dir, 'a\\..\\b'), 'utf8'), 'edited on b\n');
    for (const d of [a, b]) {
      assert.equal(d.proc?.exitCode, null, `${d.name} stopped:\n${d.log}`);
      assert.doesNotMatch(d.log, /unexpected error|Stopping/);
    }
  },
);
