import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IGNORE_FILE, IgnoreRules, tempNameFor } from './ignore.ts';
import { isWatchLimitError, watch } from './watcher.ts';

/** Collects reported paths; `until` waits (generously, not timed) for one to show up. */
function recorder() {
  const batches: string[][] = [];
  const waiters: { pred: (p: string) => boolean; resolve: () => void }[] = [];
  const onPaths = (paths: string[]) => {
    batches.push(paths);
    for (const w of [...waiters]) {
      if (paths.some(w.pred)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const until = (pred: (p: string) => boolean, what: string) =>
    batches.flat().some(pred)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`not reported within 15 s: ${what}; got ${JSON.stringify(batches)}`)), 15_000);
          waiters.push({
            pred,
            resolve: () => {
              clearTimeout(t);
              resolve();
            },
          });
        });
  return { batches, onPaths, until, all: () => batches.flat() };
}

test('a written file is reported (debounced, share-relative paths)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
  mkdirSync(join(root, 'sub/deeper'), { recursive: true });
  writeFileSync(join(root, 'existing.txt'), 'v1');
  const rec = recorder();
  const w = watch(root, rec.onPaths, { debounceMs: 100 });
  try {
    await w.ready;
    assert.equal(w.state(), 'watching');
    writeFileSync(join(root, 'sub/deeper/new.txt'), 'hello');
    await rec.until((p) => p === 'sub/deeper/new.txt', 'a new file');
    appendFileSync(join(root, 'existing.txt'), 'v2');
    await rec.until((p) => p === 'existing.txt', 'a modified file');
    mkdirSync(join(root, 'made'));
    writeFileSync(join(root, 'made/inside.txt'), 'x');
    await rec.until((p) => p === 'made' || p === 'made/inside.txt', 'a new folder');
  } finally {
    await w.close();
    await rm(root, { recursive: true, force: true });
  }
});

test("a folder's own mode or times set is not reported as a child of its name; a real child of that name still is", async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
  mkdirSync(join(root, 'many/inner'), { recursive: true });
  mkdirSync(join(root, 'same/same'), { recursive: true });
  const rec = recorder();
  const w = watch(root, rec.onPaths, { debounceMs: 100 });
  try {
    await w.ready;
    chmodSync(join(root, 'many'), 0o750);
    utimesSync(join(root, 'many'), new Date(1_000_000), new Date(1_000_000));
    // a real child named like its folder is still reported as that child
    utimesSync(join(root, 'same/same'), new Date(2_000_000), new Date(2_000_000));
    writeFileSync(join(root, 'marker.txt'), 'after');
    await rec.until((p) => p === 'marker.txt', 'a file written after');
    await rec.until((p) => p === 'same/same', 'the child named like its folder');
    assert.ok(!rec.all().includes('many/many'), `reported: ${JSON.stringify(rec.batches)}`);
  } finally {
    await w.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('folders made, moved in or replaced while watching are watched too, however deep', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
  const outside = await mkdtemp(join(tmpdir(), 'pf-watch-outside-'));
  const rec = recorder();
  const w = watch(root, rec.onPaths, { debounceMs: 50 });
  try {
    await w.ready;
    // a whole tree made at once: its files may be written before the new folders are watched
    mkdirSync(join(root, 'a/b/c'), { recursive: true });
    writeFileSync(join(root, 'a/b/c/first.txt'), '1');
    await rec.until((p) => p === 'a' || p.startsWith('a/'), 'the new tree');
    // a later write deep inside is reported as itself: every new level got its own watch
    await rec.until(() => true, 'anything');
    const deep = () => rec.all().includes('a/b/c/second.txt');
    for (let i = 0; i < 50 && !deep(); i++) {
      writeFileSync(join(root, 'a/b/c/second.txt'), String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    await rec.until((p) => p === 'a/b/c/second.txt', 'a file deep in a folder made while watching');

    // a folder moved in from outside the share, with contents
    mkdirSync(join(outside, 'moved/inner'), { recursive: true });
    writeFileSync(join(outside, 'moved/inner/x.txt'), 'x');
    renameSync(join(outside, 'moved'), join(root, 'moved'));
    await rec.until((p) => p === 'moved', 'the folder moved in');
    const inner = () => rec.all().includes('moved/inner/y.txt');
    for (let i = 0; i < 50 && !inner(); i++) {
      writeFileSync(join(root, 'moved/inner/y.txt'), String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    await rec.until((p) => p === 'moved/inner/y.txt', 'a file in a folder moved in');

    // removed and made again: the new folder is watched, not the old one's dead watch
    rmSync(join(root, 'a'), { recursive: true });
    await rec.until((p) => p === 'a', 'the removed folder');
    mkdirSync(join(root, 'a'));
    const again = () => rec.all().includes('a/again.txt');
    for (let i = 0; i < 50 && !again(); i++) {
      writeFileSync(join(root, 'a/again.txt'), String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    await rec.until((p) => p === 'a/again.txt', 'a file in a folder made again');
    assert.equal(w.state(), 'watching');
  } finally {
    await w.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('.peerfold/, temp files and ignored folders are not reported; a new ignore file asks for a full rescan', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
  mkdirSync(join(root, '.peerfold/archive'), { recursive: true });
  mkdirSync(join(root, 'node_modules/pkg'), { recursive: true });
  writeFileSync(join(root, IGNORE_FILE), 'node_modules/\n');
  const rules = new IgnoreRules(root);
  await rules.reload();
  const rec = recorder();
  const w = watch(root, rec.onPaths, { debounceMs: 100, ignore: rules });
  try {
    await w.ready;
    writeFileSync(join(root, '.peerfold/archive/old.txt'), 'archived');
    writeFileSync(join(root, tempNameFor('doc.txt', '12'.repeat(32))), 'partial');
    writeFileSync(join(root, 'node_modules/pkg/index.js'), 'x');
    writeFileSync(join(root, 'marker.txt'), 'after the others');
    await rec.until((p) => p === 'marker.txt', 'the marker');
    assert.deepEqual(
      rec.all().filter((p) => p !== 'marker.txt'),
      [],
    );

    writeFileSync(join(root, IGNORE_FILE), '*.log\n');
    await rec.until((p) => p === '', 'a full rescan after the ignore file changed');
    assert.equal(rules.source, '*.log\n');
    // node_modules is no longer ignored: after the restart it is watched
    writeFileSync(join(root, 'node_modules/pkg/other.js'), 'y');
    await rec.until((p) => p.startsWith('node_modules'), 'a change in a folder no longer ignored');
  } finally {
    await w.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('watch-limit errors are recognised', () => {
  assert.ok(isWatchLimitError(Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' })));
  assert.ok(isWatchLimitError(Object.assign(new Error('too many'), { code: 'EMFILE' })));
  assert.ok(!isWatchLimitError(Object.assign(new Error('denied'), { code: 'EACCES' })));
});

test('when the OS watch limit is hit the watcher says rescan-only', async (t) => {
  // A user namespace has its own inotify limits, so the test can run out of watches without
  // touching the machine's. Skipped where user namespaces are unavailable.
  const probe = spawnSync('unshare', ['-U', '-r', 'sh', '-c', 'echo 8 > /proc/sys/user/max_inotify_watches'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`no user namespaces here (${(probe.stderr || String(probe.error)).trim()})`);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
  try {
    for (let i = 0; i < 30; i++) mkdirSync(join(root, `d${i}`, 'e'), { recursive: true });
    const script = join(root, 'child.mts');
    const watcherTs = fileURLToPath(new URL('./watcher.ts', import.meta.url));
    writeFileSync(
      script,
      `
      import { watch } from ${JSON.stringify(watcherTs)};
      const w = watch(process.argv[2], () => {}, { onState: (s, why) => console.log(JSON.stringify({ s, why })) });
      await w.ready;
      console.log(JSON.stringify({ final: w.state() }));
      await w.close();
    `,
    );
    const child = spawnSync(
      'unshare',
      [
        '-U',
        '-r',
        'sh',
        '-c',
        'echo 8 > /proc/sys/user/max_inotify_watches && exec "$0" --import tsx "$1" "$2"',
        process.execPath,
        script,
        root,
      ],
      {
        encoding: 'utf8',
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        timeout: 60_000,
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const lines = child.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-1), { final: 'rescan-only' }, child.stdout + child.stderr);
    const st = lines.find((l) => l.s);
    assert.equal(st.s, 'rescan-only');
    assert.match(st.why, /limit on file watches/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test(
  'names with backslashes are reported as plain names, and the watcher keeps going',
  { skip: process.platform === 'win32' ? 'POSIX names' : false },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
    const rec = recorder();
    const errors: string[] = [];
    const w = watch(root, rec.onPaths, { debounceMs: 50, onError: (m) => errors.push(m) });
    try {
      await w.ready;
      writeFileSync(join(root, 'a\\..\\b'), 'odd');
      await rec.until((p) => p === 'a\\..\\b', 'a name with backslashes');
      writeFileSync(join(root, 'after.txt'), 'still watching');
      await rec.until((p) => p === 'after.txt', 'a later change');
      assert.deepEqual(errors, []);
    } finally {
      await w.close();
      await rm(root, { recursive: true, force: true });
    }
  },
);

test(
  'a folder with a backslash in its name does not disturb watching the other folders',
  { skip: process.platform === 'win32' ? 'POSIX names' : false },
  async () => {
    // chokidar 6.0.0 read the backslash as a separator: `x\..` collapsed onto the share root, its
    // bookkeeping recursed until the stack overflowed, and sub/ silently lost its watch (5.x is fine)
    for (const existing of [false, true]) {
      const root = await mkdtemp(join(tmpdir(), 'pf-watch-'));
      mkdirSync(join(root, 'sub'));
      if (existing) mkdirSync(join(root, 'x\\..'));
      const rec = recorder();
      const errors: string[] = [];
      const w = watch(root, rec.onPaths, { debounceMs: 50, onError: (m) => errors.push(m) });
      try {
        await w.ready;
        if (!existing) mkdirSync(join(root, 'x\\..'));
        writeFileSync(join(root, 'x\\..', 'inner.txt'), 'x');
        await rec.until((p) => p.startsWith('x\\..'), 'the odd folder or its file');
        writeFileSync(join(root, 'sub', 'deep.txt'), 'x');
        await rec.until((p) => p === 'sub/deep.txt', `a file in another folder (existing=${existing})`);
        assert.equal(w.state(), 'watching');
        assert.deepEqual(errors, []);
      } finally {
        await w.close();
        await rm(root, { recursive: true, force: true });
      }
    }
  },
);
