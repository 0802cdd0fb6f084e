// A member peer turned hostile (it holds the read-write code, so the handshake accepts it) against
// a real daemon. After every attack: nothing is written outside the share, the daemon is alive and
// answers status, and what was refused is visible (a per-path error, or the peer dropped with a
// logged reason).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownNet } from '../main/engine/net/index.ts';
import { craftIndexUpdate } from '../main/engine/protocol/test-support.ts';
import { Cluster, Fatal, sha, waitUntil, type Device } from './harness.ts';
import { HostilePeer, hostileHome } from './hostile-peer.ts';

const clusters: Cluster[] = [];
const peers: HostilePeer[] = [];
after(async () => {
  for (const p of peers) p.close();
  for (const c of clusters) await c.close();
  await shutdownNet('tests over');
});

interface Target {
  c: Cluster;
  a: Device;
  shareId: string;
  code: string;
  /** a folder outside the share that no attack may reach */
  outside: string;
  /** files the test itself put outside, with their content */
  planted: Map<string, string>;
  connect(name: string): Promise<HostilePeer>;
}

async function target(name: string): Promise<Target> {
  const c = new Cluster(`peerfold-e2e-hostile-${name}-`);
  clusters.push(c);
  const a = await c.add('alpha');
  const { share, codes } = await a.call('share', { path: a.dir });
  const outside = join(c.base, 'outside');
  mkdirSync(outside);
  let n = 0;
  return {
    c,
    a,
    shareId: share.id,
    code: codes.readWrite!,
    outside,
    planted: new Map(),
    async connect(peerName: string) {
      const p = await HostilePeer.connect(a, codes.readWrite!, hostileHome(c.base, `${peerName}-${++n}`), peerName);
      peers.push(p);
      return p;
    },
  };
}

/** The per-path error the daemon shows for `path`, once it shows one; fails at once on an escape. */
async function pathError(t: Target, path: string): Promise<string> {
  return waitUntil(
    `a per-path error for ${path}`,
    async () => {
      const escaped = readdirSync(t.outside).filter(
        (n) => !t.planted.has(n) || readFileSync(join(t.outside, n), 'utf8') !== t.planted.get(n),
      );
      if (escaped.length) throw new Fatal(`written outside the share: ${escaped.join(', ')}`);
      const s = await t.a.share(t.shareId);
      return s.errors.find((e) => e.path === path)?.error;
    },
    60_000,
    250,
  );
}

/** The daemon still runs, answers status, and logged nothing unexpected. */
async function assertAlive(t: Target): Promise<void> {
  assert.equal(t.a.proc?.exitCode, null, `the daemon exited:\n${t.a.log}`);
  const s = await t.a.share(t.shareId);
  assert.notEqual(s.state, 'error', JSON.stringify(s));
  assert.doesNotMatch(t.a.log, /unhandled promise rejection|unexpected error/);
}

function assertOutsideEmpty(t: Target): void {
  assert.deepEqual(readdirSync(t.outside), [], 'something was written outside the share');
}

test(
  'a synced symlink never leads a pull outside the share: a file through it, a folder through it, both in one update',
  { timeout: 240_000 },
  async () => {
    const t = await target('symlink');
    const mallory = await t.connect('mallory');
    await mallory.announce([{ path: 'lnk', symlinkTarget: t.outside }]);
    await waitUntil('the synced link on disk', () => existsSync(join(t.a.dir, 'lnk')) && lstatSync(join(t.a.dir, 'lnk')).isSymbolicLink());
    await mallory.announce([{ path: 'lnk/pwned.txt', data: 'ssh-ed25519 AAAA attacker\n' }]);
    await mallory.announce([
      { path: 'lnk/sub', type: 'dir' },
      { path: 'lnk/sub/deeper.txt', data: 'x' },
    ]);
    // a link and a file through it in the same update: pulled at once, in any order
    await mallory.announce([
      { path: 'both', symlinkTarget: t.outside },
      { path: 'both/pwned2.txt', data: 'y' },
    ]);
    const errors = await Promise.all([pathError(t, 'lnk/pwned.txt'), pathError(t, 'lnk/sub'), pathError(t, 'lnk/sub/deeper.txt')]);
    for (const e of errors) assert.match(e, /symbolic link/);
    // which of the two lands first varies: the file first makes both/ a real folder (then the link is
    // refused, or that folder, rescanned, wins over it as a concurrent version), or the link comes
    // first and the file through it is refused. Either way nothing leaves the share.
    await waitUntil('both and both/pwned2.txt settled', async () => {
      if ((await t.a.share(t.shareId)).errors.some((e) => e.path.startsWith('both'))) return true;
      return lstatSync(join(t.a.dir, 'both')).isDirectory() && existsSync(join(t.a.dir, 'both', 'pwned2.txt'));
    });
    assertOutsideEmpty(t);
    assert.ok(mallory.isOpen, 'a refused path is a per-path error, not a reason to drop the peer');
    await assertAlive(t);
  },
);

test(
  'a link the user made inside the share is not followed, and a target behind it is an error, not an endless rescan',
  { timeout: 240_000 },
  async () => {
    const t = await target('planted');
    writeFileSync(join(t.outside, 'victim.txt'), 'precious\n');
    t.planted.set('victim.txt', 'precious\n');
    symlinkSync(t.outside, join(t.a.dir, 'planted'));
    const mallory = await t.connect('mallory');
    await mallory.announce([
      { path: 'planted/new.txt', data: 'new' },
      { path: 'planted/victim.txt', data: 'overwritten' },
      { path: 'planted/dir', type: 'dir' },
    ]);
    for (const p of ['planted/new.txt', 'planted/victim.txt', 'planted/dir']) assert.match(await pathError(t, p), /symbolic link/);
    assert.deepEqual(readdirSync(t.outside), ['victim.txt']);
    assert.equal(readFileSync(join(t.outside, 'victim.txt'), 'utf8'), 'precious\n');
    await assertAlive(t);
  },
);

test('paths that leave the share or name its internals drop the peer; nothing is written', { timeout: 300_000 }, async () => {
  const t = await target('paths');
  const bad = [
    '../escape.txt',
    '/tmp/abs.txt',
    'a/../../escape2.txt',
    '.peerfold/marker',
    '.PEERFOLD/marker',
    '.PeerFold/ignore',
    '.pftmp-0123456789abcdef-victim.txt',
    'd/.PFTMP-0123456789ABCDEF-x',
  ];
  for (const path of bad) {
    const mallory = await t.connect('mallory');
    await mallory.announce([{ path, data: 'evil' }]);
    const reason = await mallory.dropped();
    assert.match(reason, /malformed path|protocol violation/, path);
  }
  assert.ok(!existsSync(join(t.c.base, 'escape.txt')) && !existsSync(join(t.c.base, 'escape2.txt')));
  assert.ok(!existsSync(join(t.a.dir, '.PEERFOLD')) && !existsSync(join(t.a.dir, '.PeerFold')));
  assert.deepEqual(readdirSync(t.a.dir).sort(), ['.peerfold']);
  assert.match(t.a.log, /malformed path/);
  assertOutsideEmpty(t);
  await assertAlive(t);
});

test('a peer serving corrupt chunks is dropped and the file it offered is not installed', { timeout: 240_000 }, async () => {
  const t = await target('corrupt');
  writeFileSync(join(t.a.dir, 'doc.txt'), 'the real content\n');
  await waitUntil('doc.txt indexed', async () => (await t.a.call('files', { share: t.shareId })).some((f) => f.path === 'doc.txt'));
  const mallory = await t.connect('mallory');
  mallory.replies = 'corrupt';
  const data = randomBytes(300_000);
  await mallory.announce([{ path: 'offered.bin', data }]);
  assert.match(await mallory.dropped(), /corrupt/);
  await waitUntil('the log line', () => /does not match its hash/.test(t.a.log));
  assert.ok(!existsSync(join(t.a.dir, 'offered.bin')), 'a file built from corrupt chunks was installed');
  assert.equal(readFileSync(join(t.a.dir, 'doc.txt'), 'utf8'), 'the real content\n');
  assert.equal(sha(readFileSync(join(t.a.dir, 'doc.txt'))), sha('the real content\n'));
  await assertAlive(t);
});

/** The daemon process's resident memory in bytes (Linux). */
function rssOf(d: Device): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc!.pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

test('oversized chunk lists drop the peer at their first message; memory and need stay sane', { timeout: 240_000 }, async () => {
  const t = await target('oversized');
  const MiB = 1024 * 1024;
  const attacks = [
    // the reported one: 4,194,304 chunks of 16 MiB (a 70 TB "need", 3.2 GB of daemon memory)
    { path: 'huge.bin', size: 4_194_304 * 16 * MiB, chunkCount: 4_194_304, chunkSize: 16 * MiB, refs: 5000 },
    // chunks of a legal size, but millions of them for a 1000-byte file
    { path: 'many.bin', size: 1000, chunkCount: 4_194_304, chunkSize: 1000, refs: 1 },
    // a 1 TiB claim with a list of four chunks
    { path: 'short.bin', size: 1024 * 1024 * MiB, chunkCount: 4, chunkSize: 256 * 1024, refs: 4 },
  ];
  for (const a of attacks) {
    const mallory = await t.connect('mallory');
    await mallory.sendRaw(
      'index',
      craftIndexUpdate({
        share: mallory.share,
        indexId: mallory.index,
        maxSequence: 1,
        hash: new Uint8Array(32).fill(7),
        device: mallory.deviceId,
        sequence: mallory.nextSequence(),
        ...a,
      }),
    );
    // dropped at this message: it never gets to send the millions of chunk references it announced
    assert.match(await mallory.dropped(30_000), /protocol violation|malformed/, a.path);
  }
  assert.match(t.a.log, /dropping mallory/);
  const s = await t.a.share(t.shareId);
  assert.equal(s.needBytes, 0);
  assert.equal(s.needFiles, 0);
  const rss = rssOf(t.a);
  assert.ok(rss < 400 * MiB, `daemon RSS ${Math.round(rss / MiB)} MiB`);
  assertOutsideEmpty(t);
  await assertAlive(t);
});

test(
  'a peer that never answers a chunk request does not stall a pull: it is reported, then the file comes from another peer',
  { timeout: 300_000 },
  async () => {
    const c = new Cluster('peerfold-e2e-hostile-silent-');
    clusters.push(c);
    const bravo = await c.add('bravo');
    const data = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(bravo.dir, 'big.bin'), data);
    const { share, codes } = await bravo.call('share', { path: bravo.dir });
    await waitUntil('big.bin indexed on bravo', async () =>
      (await bravo.call('files', { share: share.id })).some((f) => f.path === 'big.bin'),
    );
    // mallory learns bravo's version of big.bin, then claims to hold it, to alpha, and never answers
    const spy = await HostilePeer.connect(bravo, codes.readWrite!, hostileHome(c.base, 'spy'), 'mallory');
    peers.push(spy);
    const entry = await spy.learn('big.bin');
    spy.close();
    // alpha finds nobody by itself: first only mallory reaches it, then bravo is added by address
    const alpha = await c.add('alpha', { PEERFOLD_CHUNK_TIMEOUT_MS: '5000' });
    await alpha.call('setSettings', { lanDiscovery: false });
    await alpha.call('join', { code: codes.readWrite!, path: alpha.dir });
    const mallory = await HostilePeer.connect(alpha, codes.readWrite!, hostileHome(c.base, 'mallory'), 'mallory');
    peers.push(mallory);
    // it answers pings (a liveness check finds nothing wrong), never a chunk request
    mallory.replies = 'silent';
    await mallory.claim(entry, data);
    await waitUntil('alpha asking mallory for chunks', () => mallory.requests.length > 0);
    const error = await waitUntil(
      'a per-path error for big.bin',
      async () => (await alpha.share(share.id)).errors.find((e) => e.path === 'big.bin')?.error,
      120_000,
      250,
    );
    assert.match(error, /no connected peer could supply/);
    await waitUntil('the log line', () => /mallory did not answer a request for big\.bin/.test(alpha.log));
    const port = (await bravo.status()).device.listenPort;
    await alpha.call('addPeer', { share: share.id, address: `127.0.0.1:${port}` });
    await waitUntil(
      'big.bin on alpha, from bravo',
      () => existsSync(join(alpha.dir, 'big.bin')) && sha(readFileSync(join(alpha.dir, 'big.bin'))) === sha(data),
      180_000,
      500,
    ).catch(async (err) => {
      const why = JSON.stringify({ share: await alpha.share(share.id), peers: await alpha.call('peers', {}) });
      throw new Error(`${(err as Error).message}\n${why}\n${alpha.log.slice(-3000)}`);
    });
    assert.equal(alpha.proc?.exitCode, null);
    assert.doesNotMatch(alpha.log, /unhandled promise rejection|unexpected error/);
    await alpha.status();
  },
);
