// The share's own writes cause no scan; a user's change to the same path right after still does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreviousState } from '../scan/scanner.ts';
import { OWN_WRITE_MS, OwnWrites } from './own-writes.ts';
import { openShareFixture, until } from './share-fixture.ts';

function recordOf(full: string): PreviousState {
  const s = lstatSync(full);
  return { type: s.isDirectory() ? 'dir' : 'file', size: s.size, mtimeMs: s.mtimeMs, inode: s.ino, mode: s.mode & 0o7777 };
}

test("a path the share wrote is not scanned while disk and index agree; a user's change to it, a path the share did not write, and an old write are", async () => {
  const root = mkdtempSync(join(tmpdir(), 'peerfold-own-'));
  try {
    const index = new Map<string, PreviousState | undefined>();
    let now = 1_000_000;
    const own = new OwnWrites({ root: () => root, recorded: (p) => index.get(p), now: () => now });
    writeFileSync(join(root, 'pulled.txt'), 'from a peer');
    writeFileSync(join(root, 'edited.txt'), 'from a peer');
    writeFileSync(join(root, 'users.txt'), 'the user wrote this');
    mkdirSync(join(root, 'dir'));
    mkdirSync(join(root, 'replaced'));
    for (const p of ['pulled.txt', 'edited.txt', 'users.txt', 'dir', 'replaced']) index.set(p, recordOf(join(root, p)));
    index.set('deleted.txt', undefined); // a deletion the share carried out
    index.set('recreated.txt', undefined);
    own.note(['pulled.txt', 'edited.txt', 'dir', 'replaced', 'deleted.txt', 'recreated.txt']);

    // the user acts right behind the pulls
    writeFileSync(join(root, 'edited.txt'), 'the user edited this one');
    writeFileSync(join(root, 'recreated.txt'), 'back again');
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'x'), 'x');
    rmSync(join(root, 'replaced'), { recursive: true });
    renameSync(join(root, 'elsewhere'), join(root, 'replaced'));

    const reported = ['pulled.txt', 'edited.txt', 'users.txt', 'dir', 'replaced', 'deleted.txt', 'recreated.txt', 'replaced/x'];
    assert.deepEqual(await own.needsScan(reported), ['edited.txt', 'users.txt', 'replaced', 'recreated.txt', 'replaced/x']);

    // a racy record (a same-size rewrite could hide) is always scanned
    index.set('pulled.txt', { ...recordOf(join(root, 'pulled.txt')), racy: true });
    assert.deepEqual(await own.needsScan(['pulled.txt']), ['pulled.txt']);
    index.set('pulled.txt', recordOf(join(root, 'pulled.txt')));

    // reported while the pull is still installing it (it fsyncs the folder before it records)
    let installed!: () => void;
    own.during('late.txt', new Promise<void>((resolve) => (installed = resolve)));
    const report = own.needsScan(['late.txt']);
    writeFileSync(join(root, 'late.txt'), 'pulled');
    index.set('late.txt', recordOf(join(root, 'late.txt')));
    own.note(['late.txt']);
    installed();
    assert.deepEqual(await report, []);

    // long after the write, a report is scanned as any other
    now += OWN_WRITE_MS;
    assert.deepEqual(await own.needsScan(['pulled.txt', 'dir', 'late.txt']), ['pulled.txt', 'dir', 'late.txt']);
    assert.equal(own.size, 0, 'old writes are forgotten');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test(
  "files and folders a pull installs cause no scan job; the user's edit right after one is still scanned and recorded",
  { timeout: 120_000 },
  async () => {
    const f = await openShareFixture();
    try {
      await f.settled();
      // the watcher is live once it reports a file the user writes
      writeFileSync(join(f.root, 'probe.txt'), 'watching?');
      await until('the watcher to report a new file', () => f.local('probe.txt'));

      f.peerWrites('many', '', { type: 'dir' });
      const pulled = ['many'];
      for (let i = 0; i < 40; i++) {
        f.peerWrites(`many/f${i}.txt`, `file ${i} from the peer`);
        pulled.push(`many/f${i}.txt`);
      }
      await until('every file to be pulled', () =>
        pulled.every((p) => f.local(p)?.version.PEERDEVICEPEERDEVICEPEERDEVICEPEERDEVICEPEERDEVICEPEE),
      );
      const scansBefore = f.scans.length;

      // the user's own change after the pulls: once it is recorded, the watcher has reported the pulls too
      writeFileSync(join(f.root, 'many', 'f3.txt'), 'the user edited this right after it arrived');
      writeFileSync(join(f.root, 'user.txt'), 'new');
      await until(
        'the user edit to be recorded',
        () => f.local('many/f3.txt')?.size === 'the user edited this right after it arrived'.length && f.local('user.txt'),
      );
      await f.settled();

      const scanned = f.scans.slice(scansBefore).flatMap((s) => s ?? ['(everything)']);
      const ownScanned = scanned.filter((p) => p === 'many' || (p.startsWith('many/') && p !== 'many/f3.txt'));
      assert.deepEqual(ownScanned, [], `scans of what the pull wrote: ${ownScanned.join(', ')}`);
      assert.ok(scanned.includes('many/f3.txt'), 'the edited file was scanned');
      assert.equal(f.local('many/f3.txt')?.modifiedBy, 'SELFDEVICESELFDEVICESELFDEVICESELFDEVICESELFDEVICESEL');
    } finally {
      await f.close();
    }
  },
);
