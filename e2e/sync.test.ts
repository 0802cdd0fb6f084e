// Several real devices (daemon processes, separate homes) syncing real files over real
// node-datachannel connections on loopback. After each test, no version any device wrote is lost:
// it is the current file, a conflict copy, or in an archive.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Cluster, contentsUnder, converged, sha, sleep, treeOf, waitUntil, type Device } from './harness.ts';

// These tests check that every version anyone wrote survives somewhere; files here change again
// within seconds, which the archive would otherwise coalesce (one version per file per 5 minutes).
process.env.PEERFOLD_ARCHIVE_COALESCE_MS = '0';

const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.close();
});

function cluster(): Cluster {
  const c = new Cluster('peerfold-e2e-sync-');
  clusters.push(c);
  return c;
}

/** Records what the test writes, to check at the end that nothing was lost. */
class Written {
  readonly contents = new Set<string>();
  write(file: string, data: string | Buffer): void {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    this.contents.add(sha(data));
  }
  assertNothingLost(devices: Device[]): void {
    const kept = new Set<string>();
    for (const d of devices) for (const h of contentsUnder(d.dir)) kept.add(h);
    const lost = [...this.contents].filter((h) => !kept.has(h));
    assert.deepEqual(lost, [], `${lost.length} written versions are nowhere: not current, not a conflict copy, not archived`);
  }
}

test(
  'three devices converge after random creates, edits, renames, moves and deletes on all of them, one of them offline for a while',
  { timeout: 300_000 },
  async () => {
    const c = cluster();
    const [a, b, d] = [await c.add('alpha'), await c.add('bravo'), await c.add('charlie')];
    const w = new Written();
    w.write(join(a.dir, 'docs/readme.txt'), 'hello\n');
    const shareId = await c.shareAmong([a, b, d]);
    await converged([a, b, d], shareId);

    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const filesOf = (dev: Device) => [...treeOf(dev.dir)].filter(([, v]) => v.startsWith('f:')).map(([p]) => p);
    // A device touches each file at most once per round: a second local change before syncing
    // would be the user discarding their own unsynced version, which no sync tool can keep.
    const mutate = (dev: Device, round: number, ops: number) => {
      const touched = new Set<string>();
      const pick = (files: string[]) => {
        const p = files[rand(files.length)];
        touched.add(p);
        return p;
      };
      for (let i = 0; i < ops; i++) {
        const files = filesOf(dev).filter((f) => !touched.has(f));
        const op = files.length < 3 ? 0 : rand(5);
        const tag = `${dev.name}-${round}-${i}`;
        if (op === 0) {
          const p = `dir${rand(3)}/new-${tag}.txt`;
          touched.add(p);
          w.write(join(dev.dir, p), `created ${tag}\n${randomBytes(rand(3000)).toString('hex')}`);
        } else if (op === 1) w.write(join(dev.dir, pick(files)), `edited ${tag}\n`);
        else if (op === 2) {
          const from = pick(files);
          const to = `${dirname(from)}/renamed-${tag}.txt`;
          touched.add(to);
          renameSync(join(dev.dir, from), join(dev.dir, to));
        } else if (op === 3) {
          const from = pick(files);
          const to = `moved${rand(2)}/m-${tag}.txt`;
          touched.add(to);
          mkdirSync(join(dev.dir, dirname(to)), { recursive: true });
          renameSync(join(dev.dir, from), join(dev.dir, to));
        } else rmSync(join(dev.dir, pick(files)));
      }
      return touched;
    };

    for (let round = 0; round < 3; round++) {
      // each device changes different files in a round so that no device overwrites its own
      // unsynced version (that would be the user discarding it, not Peerfold losing it)
      for (const dev of [a, b, d]) mutate(dev, round, 6);
      await converged([a, b, d], shareId);
    }

    // charlie goes offline; everyone keeps working; charlie comes back
    await d.stop();
    mutate(a, 10, 6);
    const offlineTouched = mutate(d, 10, 4);
    await converged([a, b], shareId);
    // a file charlie did not edit while offline (an edit would rightly win over the delete)
    const deleted = filesOf(a).find((f) => !offlineTouched.has(f))!;
    rmSync(join(a.dir, deleted));
    await converged([a, b], shareId);
    await d.start();
    const tree = await converged([a, b, d], shareId, 180_000);
    assert.ok(!tree.has(deleted), 'a file deleted while charlie was offline did not come back');
    assert.ok(tree.size > 5);
    w.assertNothingLost([a, b, d]);
  },
);

test(
  'a concurrent edit yields exactly one conflict copy on every device, with the same winner everywhere',
  { timeout: 300_000 },
  async () => {
    const c = cluster();
    const [a, b, d] = [await c.add('ann'), await c.add('bob'), await c.add('cat')];
    const w = new Written();
    w.write(join(a.dir, 'plan.txt'), 'v1\n');
    const shareId = await c.shareAmong([a, b, d]);
    await converged([a, b, d], shareId);
    // pause so both edits happen before either device hears of the other
    await a.call('pause', { share: shareId });
    await b.call('pause', { share: shareId });
    w.write(join(a.dir, 'plan.txt'), 'ann was here\n');
    w.write(join(b.dir, 'plan.txt'), 'bob was here, later\n');
    await a.call('rescan', { share: shareId });
    await b.call('rescan', { share: shareId });
    await a.call('resume', { share: shareId });
    await b.call('resume', { share: shareId });
    const tree = await converged([a, b, d], shareId);

    const copies = [...tree.keys()].filter((p) => p.startsWith('plan.conflict-'));
    assert.equal(copies.length, 1, `exactly one conflict copy, got ${JSON.stringify([...tree.keys()])}`);
    assert.match(copies[0], /^plan\.conflict-(ann|bob)-[A-Z2-7]{7}-\d{8}-\d{6}\.txt$/);
    for (const dev of [a, b, d]) {
      const conflicts = await dev.call('conflicts', { share: shareId });
      assert.equal(conflicts.length, 1, `${dev.name} lists the conflict`);
      assert.equal(conflicts[0].path, 'plan.txt');
      assert.equal(readFileSync(join(dev.dir, 'plan.txt'), 'utf8'), readFileSync(join(a.dir, 'plan.txt'), 'utf8'));
    }
    w.assertNothingLost([a, b, d]);

    // resolving it on one device (keep the other device's version) syncs to all
    // whichever side won, "remote" for bob is ann's version
    await b.call('resolve', { share: shareId, path: 'plan.txt', keep: 'remote' });
    const resolved = await converged([a, b, d], shareId);
    assert.ok(![...resolved.keys()].some((p) => p.includes('.conflict-')), 'the conflict copy is gone everywhere');
    for (const dev of [a, b, d]) assert.equal((await dev.call('conflicts', { share: shareId })).length, 0);
    for (const dev of [a, b, d]) assert.equal(readFileSync(join(dev.dir, 'plan.txt'), 'utf8'), 'ann was here\n');
    w.assertNothingLost([a, b, d]);
  },
);

test('concurrent edits that end in identical content merge silently, without a conflict', { timeout: 300_000 }, async () => {
  const c = cluster();
  const [a, b] = [await c.add('one'), await c.add('two')];
  writeFileSync(join(a.dir, 'same.txt'), 'start\n');
  const shareId = await c.shareAmong([a, b]);
  await converged([a, b], shareId);
  await a.call('pause', { share: shareId });
  await b.call('pause', { share: shareId });
  writeFileSync(join(a.dir, 'same.txt'), 'identical\n');
  writeFileSync(join(b.dir, 'same.txt'), 'identical\n');
  await a.call('rescan', { share: shareId });
  await b.call('rescan', { share: shareId });
  await a.call('resume', { share: shareId });
  await b.call('resume', { share: shareId });
  const tree = await converged([a, b], shareId);
  assert.deepEqual([...tree.keys()].sort(), ['same.txt']);
  assert.equal((await a.call('conflicts', { share: shareId })).length, 0);
});

test('a 200 MiB rename transfers under 1 MiB; deletes propagate and land in the archive', { timeout: 180_000 }, async () => {
  const c = cluster();
  const [a, b] = [await c.add('src'), await c.add('dst')];
  const big = randomBytes(200 * 1024 * 1024);
  mkdirSync(join(a.dir, 'media'));
  writeFileSync(join(a.dir, 'media/movie.bin'), big);
  writeFileSync(join(a.dir, 'gone.txt'), 'delete me\n');
  const shareId = await c.shareAmong([a, b]);
  await converged([a, b], shareId, 180_000);

  const before = await b.bytesIn();
  mkdirSync(join(a.dir, 'archive-2026'));
  renameSync(join(a.dir, 'media/movie.bin'), join(a.dir, 'archive-2026/film.bin'));
  rmSync(join(a.dir, 'gone.txt'));
  await converged([a, b], shareId);
  const moved = (await b.bytesIn()) - before;
  assert.ok(moved < 1024 * 1024, `the rename moved ${moved} bytes over the network`);
  assert.equal(sha(readFileSync(join(b.dir, 'archive-2026/film.bin'))), sha(big));
  assert.ok(!existsSync(join(b.dir, 'gone.txt')));
  const archived = await b.call('archive', { share: shareId });
  assert.ok(
    archived.some((e) => e.path === 'gone.txt' && e.reason === 'deleted'),
    'the deleted file is in the archive',
  );
  // restoring it brings it back, and everywhere
  await b.call('restore', { share: shareId, archivedPath: archived.find((e) => e.path === 'gone.txt')!.archivedPath });
  await converged([a, b], shareId);
  assert.equal(readFileSync(join(a.dir, 'gone.txt'), 'utf8'), 'delete me\n');
});

test('a kill -9 of the receiver mid-transfer resumes without refetching what it had', { timeout: 180_000 }, async () => {
  const c = cluster();
  const [a, b] = [await c.add('sender'), await c.add('receiver')];
  // a receive limit (a user setting) makes the transfer last long enough to interrupt it
  await b.call('setSettings', { maxRecvKBps: 20_000 });
  const size = 120 * 1024 * 1024;
  const data = randomBytes(size);
  writeFileSync(join(a.dir, 'big.bin'), data);
  const shareId = await c.shareAmong([a]);
  await waitUntil('sender scanned', async () => (await a.share(shareId)).localFiles === 1);
  const code = (await a.call('codes', { share: shareId })).readWrite!;
  await b.call('join', { code, path: b.dir });
  const done = await waitUntil(
    'a third of the file to arrive',
    async () => {
      const p = (await b.share(shareId)).pulling.find((x) => x.path === 'big.bin');
      return p && p.done > size / 3 ? p.done : false;
    },
    120_000,
    50,
  );
  await b.kill9();
  assert.ok(
    readdirSync(b.dir).some((n) => n.startsWith('.pftmp-')),
    'the partial temp file is still there',
  );
  await b.start();
  await b.call('setSettings', { maxRecvKBps: 0 });
  await converged([a, b], shareId);
  const fetchedAfter = await b.bytesIn();
  assert.equal(sha(readFileSync(join(b.dir, 'big.bin'))), sha(data));
  assert.ok(
    fetchedAfter < size - done + 8 * 1024 * 1024,
    `after the restart it fetched ${fetchedAfter} bytes; ${done} of ${size} were already there`,
  );
  assert.ok(!readdirSync(b.dir).some((n) => n.startsWith('.pftmp-')), 'no temp file left behind');
});

test('a peer sending a corrupt chunk is dropped and the file still arrives intact', { timeout: 180_000 }, async () => {
  const c = cluster();
  const a = await c.add('honest');
  const m = await c.add('mallory', { PEERFOLD_FAULT_CORRUPT_SERVE: '1' });
  const data = randomBytes(40 * 1024 * 1024);
  writeFileSync(join(a.dir, 'data.bin'), data);
  const shareId = await c.shareAmong([a, m]);
  await converged([a, m], shareId);
  // the honest device goes away for a moment so the newcomer starts with mallory alone
  await a.stop();
  const r = await c.add('receiver');
  await r.call('join', { code: (await m.call('codes', { share: shareId })).readWrite!, path: r.dir });
  await waitUntil('the receiver to drop mallory', () => r.log.includes('does not match its hash'), 60_000);
  await a.start();
  await converged([a, m, r], shareId);
  assert.equal(sha(readFileSync(join(r.dir, 'data.bin'))), sha(data));
});

test('a peer with the wrong code never connects and gets nothing', { timeout: 60_000 }, async () => {
  const c = cluster();
  const [a, x] = [await c.add('owner'), await c.add('stranger')];
  writeFileSync(join(a.dir, 'secret.txt'), 'not for strangers\n');
  await c.shareAmong([a]);
  // the stranger has a share of its own (a different code) and is pointed straight at the owner
  const { share } = await x.call('share', { path: x.dir });
  const port = (await a.status()).device.listenPort;
  await x.call('addPeer', { share: share.id, address: `127.0.0.1:${port}` });
  await sleep(4000);
  assert.equal((await x.call('peers', {})).filter((p) => p.connected).length, 0);
  assert.equal((await a.call('peers', {})).filter((p) => p.connected).length, 0);
  assert.ok(!existsSync(join(x.dir, 'secret.txt')));
});

test('a share whose folder vanishes (an unmounted drive) stops with an error and sends no deletions', { timeout: 120_000 }, async () => {
  const c = cluster();
  const [a, b] = [await c.add('nas'), await c.add('laptop')];
  for (let i = 0; i < 5; i++) writeFileSync(join(a.dir, `photo${i}.jpg`), `picture ${i}\n`);
  const shareId = await c.shareAmong([a, b]);
  await converged([a, b], shareId);

  // the drive goes away; an empty mount point is left where the folder was
  renameSync(a.dir, `${a.dir}-unplugged`);
  mkdirSync(a.dir);
  await a.call('rescan', { share: shareId });
  const failed = await waitUntil('the share to stop with an error', async () => {
    const s = await a.share(shareId);
    return s.state === 'error' ? s : false;
  });
  assert.match(failed.error ?? '', /marker/);
  await sleep(3000);
  assert.equal(readdirSync(b.dir).filter((n) => n.startsWith('photo')).length, 5, 'the other device deleted nothing');
  assert.equal((await b.share(shareId)).localFiles, 5);

  // the drive comes back: syncing resumes, nothing was lost
  rmSync(a.dir, { recursive: true });
  renameSync(`${a.dir}-unplugged`, a.dir);
  await a.call('rescan', { share: shareId });
  writeFileSync(join(a.dir, 'photo9.jpg'), 'after the drive came back\n');
  const tree = await converged([a, b], shareId);
  assert.equal([...tree.keys()].filter((p) => p.startsWith('photo')).length, 6);
});

test('a case-only rename syncs as a rename', { timeout: 60_000 }, async () => {
  const c = cluster();
  const [a, b] = [await c.add('upper'), await c.add('lower')];
  writeFileSync(join(a.dir, 'Report.TXT'), 'numbers\n');
  const shareId = await c.shareAmong([a, b]);
  await converged([a, b], shareId);
  renameSync(join(a.dir, 'Report.TXT'), join(a.dir, 'report.txt'));
  const tree = await converged([a, b], shareId);
  assert.deepEqual([...tree.keys()], ['report.txt']);
  assert.equal(readFileSync(join(b.dir, 'report.txt'), 'utf8'), 'numbers\n');
});

test(
  'joining into a folder that already holds files merges them: identical files silently, different ones as conflicts, nothing deleted',
  { timeout: 120_000 },
  async () => {
    const c = cluster();
    const [a, b] = [await c.add('origin'), await c.add('joiner')];
    const w = new Written();
    w.write(join(a.dir, 'same.txt'), 'the same on both\n');
    w.write(join(a.dir, 'differs.txt'), 'origin version\n');
    w.write(join(a.dir, 'only-origin.txt'), 'from origin\n');
    w.write(join(b.dir, 'same.txt'), 'the same on both\n');
    w.write(join(b.dir, 'differs.txt'), 'joiner version\n');
    w.write(join(b.dir, 'only-joiner.txt'), 'from joiner\n');
    const shareId = await c.shareAmong([a, b]);
    const tree = await converged([a, b], shareId);
    const names = [...tree.keys()].sort();
    assert.ok(names.includes('only-origin.txt') && names.includes('only-joiner.txt') && names.includes('same.txt'));
    assert.equal(names.filter((n) => n.startsWith('differs.conflict-')).length, 1, `one conflict copy: ${names.join(', ')}`);
    assert.ok(!names.some((n) => n.startsWith('same.conflict-')), 'identical files are not conflicts');
    w.assertNothingLost([a, b]);
  },
);

test(
  'a joined share says it waits for a peer, never "up to date", until the peer\'s index arrives, even an empty one',
  { timeout: 120_000 },
  async () => {
    const c = cluster();
    const [a, b] = [await c.add('owner'), await c.add('newcomer')];
    // the owner's folder is empty: its index has no entries, and the newcomer must still hear that
    const { share, codes } = await a.call('share', { path: a.dir });
    await a.stop();
    await b.call('join', { code: codes.readWrite!, path: b.dir });
    const seen = new Set<string>();
    await waitUntil('the newcomer to have scanned its folder', async () => {
      const s = await b.share(share.id);
      seen.add(s.state);
      return s.lastScanAt !== null && s.state === 'waiting';
    });
    // no peer: it keeps waiting
    for (let i = 0; i < 10; i++) {
      seen.add((await b.share(share.id)).state);
      await sleep(200);
    }
    assert.ok(!seen.has('idle'), `states seen before any peer: ${[...seen].join(', ')}`);
    await a.start();
    await waitUntil(
      'the newcomer to be up to date once the owner answered',
      async () => (await b.share(share.id)).state === 'idle',
      60_000,
    );
    writeFileSync(join(a.dir, 'later.txt'), 'written after the join\n');
    await waitUntil('the first file', () => existsSync(join(b.dir, 'later.txt')), 60_000);
  },
);

test(
  'a second share between two devices that are already connected syncs too, and pausing one share leaves the other syncing',
  { timeout: 120_000 },
  async () => {
    const c = cluster();
    const [a, b] = [await c.add('home'), await c.add('work')];
    writeFileSync(join(a.dir, 'first.txt'), 'first share\n');
    const first = await c.shareAmong([a, b]);
    await converged([a, b], first);

    const second = join(c.base, 'second-a');
    const secondB = join(c.base, 'second-b');
    mkdirSync(second);
    writeFileSync(join(second, 'second.txt'), 'second share\n');
    const { share, codes } = await a.call('share', { path: second });
    await b.call('join', { code: codes.readWrite!, path: secondB });
    await waitUntil('the second share to arrive', () => existsSync(join(secondB, 'second.txt')), 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${c.logs()}`);
    });

    await a.call('pause', { share: share.id });
    writeFileSync(join(a.dir, 'while-paused.txt'), 'the first share still syncs\n');
    await waitUntil('the first share to keep syncing', () => existsSync(join(b.dir, 'while-paused.txt')), 60_000);
    await a.call('resume', { share: share.id });
    writeFileSync(join(second, 'after-resume.txt'), 'and the second is back\n');
    await waitUntil('the resumed share to sync again', () => existsSync(join(secondB, 'after-resume.txt')), 60_000);
  },
);
