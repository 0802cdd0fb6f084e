import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkBoundaries } from './cdc.ts';
import { HashPool } from './hasher.ts';
import { IGNORE_FILE, loadIgnore, tempNameFor } from './ignore.ts';
import { scan, type PreviousState, type ScanEvent, type ScannedEntry, type ScanOptions, type ScanSummary } from './scanner.ts';

let pool: HashPool;
before(() => {
  pool = new HashPool({ size: 2 });
});
after(async () => {
  await pool.close();
});

async function collect(opts: Partial<ScanOptions> & { root: string }) {
  const events: ScanEvent[] = [];
  for await (const ev of scan({ previous: () => undefined, pool, ...opts })) events.push(ev);
  const done = events.at(-1);
  assert.equal(done?.kind, 'done', 'the last event is done');
  const summary = (done as { summary: ScanSummary }).summary;
  const changed = new Map<string, ScannedEntry>();
  for (const ev of events) if (ev.kind === 'changed') changed.set(ev.entry.path, ev.entry);
  const of = (k: ScanEvent['kind']) =>
    events
      .filter((e) => e.kind === k)
      .map((e) => ('path' in e ? e.path : ''))
      .sort();
  return {
    events,
    summary,
    changed,
    unchanged: of('unchanged'),
    errors: events.filter((e) => e.kind === 'error') as { path: string; error: string }[],
    ignored: of('ignored'),
    skipped: of('skipped'),
  };
}

function previousFrom(entries: Map<string, ScannedEntry>): (p: string) => PreviousState | undefined {
  return (p) => {
    const e = entries.get(p);
    return e && { type: e.type, size: e.size, mtimeMs: e.mtimeMs, inode: e.inode, mode: e.mode, racy: e.racy };
  };
}

function fileHashOf(data: Buffer): string {
  let start = 0;
  const hashes = chunkBoundaries(data).map((end) => {
    const h = createHash('sha256').update(data.subarray(start, end)).digest();
    start = end;
    return h;
  });
  return createHash('sha256').update(Buffer.concat(hashes)).digest('hex');
}

/** A share with a bit of everything. */
async function makeTree(): Promise<{ root: string; big: Buffer }> {
  const root = await mkdtemp(join(tmpdir(), 'pf-scan-'));
  const w = (rel: string, data: string | Buffer) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), data);
  };
  w('a.txt', 'hello\n');
  w('empty.txt', '');
  w('nested/y.txt', 'y');
  w('nested/deeper/deepest/x.bin', randomBytes(100_000));
  mkdirSync(join(root, 'nested/empty-dir'));
  const big = randomBytes(40 * 1024 * 1024);
  w('big.bin', big);
  symlinkSync('a.txt', join(root, 'link-file'));
  symlinkSync('nested', join(root, 'link-dir'));
  symlinkSync('does-not-exist', join(root, 'dangling'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  w(IGNORE_FILE, '*.log\n!keep.log\nignored-dir/\n');
  w('x.log', 'no');
  w('keep.log', 'yes');
  w('ignored-dir/inside.txt', 'hidden');
  w(tempNameFor('a.txt', 'ff'.repeat(32)), 'partial download');
  w('cafe\u0301.txt', 'nfd on disk');
  // Written an hour ago, as far as mtimes go: not racy (see the racy test).
  const past = new Date(Date.now() - 3600_000);
  for (const f of ['a.txt', 'empty.txt', 'nested/y.txt', 'nested/deeper/deepest/x.bin', 'big.bin', 'keep.log', 'cafe\u0301.txt'])
    utimesSync(join(root, f), past, past);
  return { root, big };
}

test('scans a tree: nested folders, empty files, a large file, symlinks, FIFO, ignore rules, NFC', async () => {
  const { root, big } = await makeTree();
  try {
    const ignore = await loadIgnore(root);
    let lastProgress = { entries: 0, filesHashed: 0, bytesHashed: 0, hashing: 0 };
    const r = await collect({ root, ignore, onProgress: (p) => (lastProgress = p) });
    const paths = [...r.changed.keys()].sort();
    assert.deepEqual(
      paths,
      [
        'a.txt',
        'big.bin',
        'café.txt',
        'dangling',
        'empty.txt',
        'keep.log',
        'link-dir',
        'link-file',
        'nested',
        'nested/deeper',
        'nested/deeper/deepest',
        'nested/deeper/deepest/x.bin',
        'nested/empty-dir',
        'nested/y.txt',
      ].sort(),
    );
    assert.deepEqual(r.errors, []);
    // temp files are never synced, but reported so the share can remove the ones no pull wants
    assert.deepEqual(r.ignored, ['.pftmp-ffffffffffffffff-a.txt', 'ignored-dir', 'x.log']);
    assert.deepEqual(r.skipped, ['fifo']);
    assert.deepEqual(r.summary.roots, ['']);
    assert.deepEqual(r.summary.incomplete, []);

    const a = r.changed.get('a.txt')!;
    assert.equal(a.type, 'file');
    assert.equal(a.size, 6);
    assert.equal(a.hash, fileHashOf(Buffer.from('hello\n')));
    assert.equal(a.chunks.length, 1);
    assert.equal(Buffer.from(a.chunks[0].hash).toString('hex'), createHash('sha256').update('hello\n').digest('hex'));
    assert.equal(a.symlinkTarget, null);
    assert.equal(a.racy, false);

    const empty = r.changed.get('empty.txt')!;
    assert.equal(empty.size, 0);
    assert.deepEqual(empty.chunks, []);
    assert.equal(empty.hash, createHash('sha256').digest('hex'));

    const b = r.changed.get('big.bin')!;
    assert.equal(b.size, big.length);
    assert.equal(b.hash, fileHashOf(big));
    assert.equal(
      b.chunks.reduce((s, c) => s + c.size, 0),
      big.length,
    );

    const dir = r.changed.get('nested')!;
    assert.equal(dir.type, 'dir');
    assert.equal(dir.size, 0);
    assert.equal(dir.hash, '');

    assert.deepEqual(
      ['link-file', 'link-dir', 'dangling'].map((p) => [r.changed.get(p)!.type, r.changed.get(p)!.symlinkTarget]),
      [
        ['symlink', 'a.txt'],
        ['symlink', 'nested'],
        ['symlink', 'does-not-exist'],
      ],
    );
    assert.ok(![...r.changed.keys()].some((p) => p.startsWith('link-dir/')), 'symlinked folders are not followed');
    assert.ok(![...r.changed.keys()].some((p) => p.includes('.pftmp-') || p.startsWith('.peerfold')));
    assert.equal(r.changed.get('café.txt')!.size, 'nfd on disk'.length, 'NFD name on disk is reported NFC and readable');

    assert.equal(r.summary.filesHashed, 7);
    assert.equal(lastProgress.filesHashed, 7);
    assert.equal(lastProgress.bytesHashed, r.summary.bytesHashed);
    assert.ok(r.summary.bytesHashed > big.length);

    // Second scan with the first as the index: nothing is hashed.
    const prev = previousFrom(r.changed);
    const again = await collect({ root, ignore, previous: prev });
    assert.equal(again.changed.size, 0, `changed: ${[...again.changed.keys()]}`);
    assert.deepEqual(again.unchanged, paths);
    assert.equal(again.summary.filesHashed, 0);

    // Change one file's content, another's mode, touch a third's mtime: only those are reported.
    writeFileSync(join(root, 'nested/y.txt'), 'Y!');
    chmodSync(join(root, 'a.txt'), 0o600);
    utimesSync(join(root, 'empty.txt'), new Date(), new Date(Date.now() - 5000));
    const third = await collect({ root, ignore, previous: prev });
    assert.deepEqual([...third.changed.keys()].sort(), ['a.txt', 'empty.txt', 'nested/y.txt']);
    assert.equal(third.changed.get('a.txt')!.mode, 0o600);
    assert.equal(third.changed.get('nested/y.txt')!.hash, fileHashOf(Buffer.from('Y!')));
    assert.equal(third.summary.filesHashed, 3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('partial scans: sub-paths, symlinked ancestors, missing paths, ignored paths', async () => {
  const { root } = await makeTree();
  try {
    const ignore = await loadIgnore(root);
    const sub = await collect({ root, ignore, paths: ['nested/deeper', 'nested/deeper/deepest'] });
    assert.deepEqual(sub.summary.roots, ['nested/deeper']);
    assert.deepEqual([...sub.changed.keys()].sort(), ['nested/deeper', 'nested/deeper/deepest', 'nested/deeper/deepest/x.bin']);

    // The request goes through a symlinked folder: never follow it; report the link itself.
    const viaLink = await collect({ root, ignore, paths: ['link-dir/y.txt'] });
    assert.deepEqual(viaLink.summary.roots, ['link-dir']);
    assert.deepEqual([...viaLink.changed.keys()], ['link-dir']);
    assert.equal(viaLink.changed.get('link-dir')!.type, 'symlink');

    // Gone: nothing to report; the walked root tells the engine to delete what it had there.
    const gone = await collect({ root, ignore, paths: ['gone/x/y', 'a.txt'] });
    assert.deepEqual(gone.summary.roots, ['a.txt', 'gone']);
    assert.deepEqual([...gone.changed.keys()], ['a.txt']);

    // Inside an ignored folder, or our own: nothing.
    const ign = await collect({ root, ignore, paths: ['ignored-dir/inside.txt', '.peerfold/archive/z'] });
    assert.deepEqual(ign.summary.roots, []);
    assert.equal(ign.events.length, 1);

    // An NFC request for a name stored NFD on disk finds it.
    const nfc = await collect({ root, ignore, paths: ['caf\u00e9.txt'] });
    assert.deepEqual([...nfc.changed.keys()], ['café.txt']);

    // Changed ignore rules turn a partial scan into a full one.
    writeFileSync(join(root, IGNORE_FILE), '*.log\n');
    const widened = await collect({ root, ignore, paths: ['a.txt'] });
    assert.deepEqual(widened.summary.roots, ['']);
    assert.ok(widened.changed.has('ignored-dir/inside.txt'));
    assert.ok(!widened.changed.has('keep.log'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('races: a file removed between listing and reading, a file replaced by a folder or a FIFO', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-scan-'));
  try {
    writeFileSync(join(root, 'victim.txt'), 'soon gone');
    writeFileSync(join(root, 'morph.txt'), 'soon a folder');
    writeFileSync(join(root, 'pipe.txt'), 'soon a FIFO');
    writeFileSync(join(root, 'stays.txt'), 'here');
    // previous() runs after the walk's lstat and before hashing: the window a real race hits.
    const previous = (p: string): PreviousState | undefined => {
      if (p === 'victim.txt') unlinkSync(join(root, p));
      if (p === 'morph.txt') {
        unlinkSync(join(root, p));
        mkdirSync(join(root, p));
        writeFileSync(join(root, p, 'child'), 'c');
      }
      if (p === 'pipe.txt') {
        unlinkSync(join(root, p));
        execFileSync('mkfifo', [join(root, p)]);
      }
      return undefined;
    };
    const r = await collect({ root, previous });
    assert.deepEqual(r.errors, []);
    assert.deepEqual([...r.changed.keys()].sort(), ['morph.txt', 'stays.txt']);
    assert.equal(r.changed.get('morph.txt')!.type, 'dir');
    assert.deepEqual(r.summary.incomplete, ['morph.txt'], 'the new folder was not walked: do not delete under it');
    assert.deepEqual(r.skipped, ['pipe.txt']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('unreadable files and folders are per-path errors, not a failed scan', async () => {
  // Root reads anything whatever its mode, so as root the scan runs as "nobody" in a child process.
  const root = await mkdtemp(join(tmpdir(), 'pf-scan-'));
  try {
    await chmod(root, 0o755);
    writeFileSync(join(root, 'ok.txt'), 'fine');
    writeFileSync(join(root, 'secret.txt'), 'no');
    chmodSync(join(root, 'secret.txt'), 0o000);
    mkdirSync(join(root, 'locked'));
    writeFileSync(join(root, 'locked', 'inside.txt'), 'x');
    chmodSync(join(root, 'locked'), 0o000);
    const cli = fileURLToPath(new URL('./scan-cli.ts', import.meta.url));
    const asRoot = process.getuid?.() === 0;
    const child = spawnSync(process.execPath, ['--import', 'tsx', cli, root], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      ...(asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: tmpdir() } } : {}),
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const events = child.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanEvent);
    const errors = events.filter((e) => e.kind === 'error') as { path: string; error: string }[];
    assert.deepEqual(errors.map((e) => e.path).sort(), ['locked', 'secret.txt']);
    for (const e of errors) assert.match(e.error, /permission denied/);
    const changed = events
      .filter((e) => e.kind === 'changed')
      .map((e) => (e as { entry: { path: string } }).entry.path)
      .sort();
    assert.deepEqual(changed, ['locked', 'ok.txt']);
    const done = events.at(-1) as { kind: string; summary: ScanSummary };
    assert.equal(done.kind, 'done');
    assert.deepEqual(done.summary.incomplete, ['locked']);
    assert.equal(done.summary.errors, 2);
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
    await rm(root, { recursive: true, force: true });
  }
});

test('a missing share root is an error, never an empty share', async () => {
  const root = join(tmpdir(), `pf-scan-missing-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const r = await collect({ root });
  assert.equal(r.errors.length, 1);
  assert.deepEqual(r.summary.incomplete, ['']);
});

test('a file that keeps changing is reported as an error for that path', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-scan-'));
  const busyPool = new HashPool({ size: 2, maxAttempts: 2, readSize: 64 * 1024 });
  try {
    writeFileSync(join(root, 'calm.txt'), 'calm');
    const busy = join(root, 'busy.bin');
    writeFileSync(busy, randomBytes(32 * 1024 * 1024));
    let stop = false;
    // a writer appending as fast as it can while the scan reads
    const writer = (async () => {
      const { appendFile } = await import('node:fs/promises');
      while (!stop) await appendFile(busy, randomBytes(4096));
    })();
    const r = await collect({ root, pool: busyPool });
    stop = true;
    await writer;
    assert.ok(r.changed.has('calm.txt'));
    // Whether the writer won every attempt depends on timing; when it did, the error says so.
    if (!r.changed.has('busy.bin')) {
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].path, 'busy.bin');
      assert.match(r.errors[0].error, /^busy.bin kept changing/);
    } else {
      const e = r.changed.get('busy.bin')!;
      assert.equal(
        e.chunks.reduce((s, c) => s + c.size, 0),
        e.size,
      );
    }
  } finally {
    await busyPool.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('racy files: modified moments before they were read are hashed again next time', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-scan-'));
  try {
    const f = join(root, 'fresh.txt');
    // whole-millisecond mtimes, so that utimes can put back exactly the same one below
    const t = new Date(Math.floor(Date.now()) - 100);
    writeFileSync(f, 'version 1');
    utimesSync(f, t, t);
    const first = await collect({ root });
    const e = first.changed.get('fresh.txt')!;
    assert.equal(e.racy, true, 'just written: racy');

    // A same-size rewrite in the same clock tick leaves size, mtime and inode as they were.
    writeFileSync(f, 'version 2');
    utimesSync(f, t, t);
    const prev = previousFrom(first.changed);
    const second = await collect({ root, previous: prev });
    assert.equal(second.changed.get('fresh.txt')?.hash, fileHashOf(Buffer.from('version 2')), 'the racy entry was hashed again');

    // Trusting the stat (no racy flag) would have missed it: that is what the flag is for.
    const trusting = await collect({ root, previous: (p) => ({ ...prev(p)!, racy: false }) });
    assert.deepEqual(trusting.unchanged, ['fresh.txt']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
