import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { hashFile, HASH_BYTES } from '../scan/file-hash.ts';
import {
  MAX_BATCH_BYTES,
  MAX_BLOCK_DATA,
  MAX_RUN_BYTES,
  type BlockRequest,
  type BlockResponse,
  type RequestBatch,
  type RequestRun,
  type ResponseBatch,
} from '../protocol/messages.ts';
import { SendQueueFullError } from '../net/channel-sender.ts';
import { BlockServer } from './block-server.ts';
import { OpenFiles } from './open-files.ts';

const SELF = 'SELFDEVICE-AAAA';
const SHARE = 's1';
const DISCOVERY = 'disc-s1';

/** Paths of this process's open file descriptors (what keeps a file open). */
function openPaths(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

interface Fixture {
  root: string;
  store: IndexStore;
  server: BlockServer;
  trusted: { value: boolean };
  /** while true, an answer that carries data fails as a full link send queue does */
  queueFull: { value: boolean };
  /** records `name` as the scan would (stat and chunks of what is on disk now) */
  record(name: string): Promise<FileRecord>;
  /** one request; resolves with the response */
  ask(req: Omit<BlockRequest, 'type' | 'id' | 'share'>): Promise<BlockResponse>;
  /** one requestRun; resolves with the responses to its ids, in id order */
  askRun(run: Omit<RequestRun, 'type' | 'id' | 'share'>): Promise<BlockResponse[]>;
  /** responses sent so far (every one, with its id) */
  sent: BlockResponse[];
  dispose(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const base = mkdtempSync(join(tmpdir(), 'pf-blocks-'));
  const root = join(base, 'share');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(root);
  const { store, db } = await IndexStore.open(join(base, 'index'), SELF, { snapshotEveryMs: 0 });
  store.addShare({ id: SHARE, name: 'S', path: root, access: 'read-write', secret: 'x', paused: false, createdAt: 1 });
  const trusted = { value: true };
  const queueFull = { value: false };
  let seq = 0;
  let nextId = 1;
  const waiting = new Map<number, (r: BlockResponse) => void>();
  const sent: BlockResponse[] = [];
  const server = new BlockServer({
    self: SELF,
    store,
    servedShare: (d) => (d === DISCOVERY ? { shareId: SHARE, root } : null),
    trustsStat: () => trusted.value,
    throttleSend: () => Promise.resolve(),
    send: async (m) => {
      if (queueFull.value && m.data.byteLength > 0) throw new SendQueueFullError('send queue full');
      // a copy: the server may reuse its buffers once a carrier says they were written
      sent.push({ ...m, data: new Uint8Array(m.data) });
      waiting.get(m.id)?.(m);
    },
    log: () => {},
  });
  return {
    root,
    store,
    server,
    trusted,
    queueFull,
    async record(name) {
      const h = await hashFile(join(root, name));
      const chunks = Array.from(h.chunkSizes, (size, k) => ({ hash: h.chunkHashes.slice(k * HASH_BYTES, (k + 1) * HASH_BYTES), size }));
      const rec: FileRecord = {
        shareId: SHARE,
        deviceId: SELF,
        path: name,
        type: 'file',
        size: h.size,
        mode: h.mode,
        mtimeMs: h.mtimeMs,
        inode: h.inode,
        symlinkTarget: null,
        version: { [SELF]: ++seq },
        sequence: seq,
        deleted: false,
        chunks,
        hash: h.hash,
        modifiedBy: SELF,
      };
      store.putFiles([rec]);
      return rec;
    },
    ask(req) {
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        server.handle({ type: 'request', id, share: DISCOVERY, ...req });
      });
    },
    sent,
    askRun(run) {
      const id = nextId;
      nextId += run.chunks.length;
      return Promise.all(
        run.chunks.map(
          (_, i) =>
            new Promise<BlockResponse>((resolve) => {
              waiting.set(id + i, resolve);
              if (i === run.chunks.length - 1) server.handleRun({ type: 'requestRun', id, share: DISCOVERY, ...run });
            }),
        ),
      );
    },
    async dispose() {
      server.close();
      await db.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** Until no descriptor of this process names `path` (at most 10 s). */
async function closedSoon(path: string): Promise<void> {
  for (let i = 0; i < 200 && openPaths().includes(path); i++) await sleep(50);
}

/** The request for chunk k of `rec`, whole (or its first part when it is larger than one message). */
function chunkRequest(rec: FileRecord, k: number) {
  const offset = rec.chunks.slice(0, k).reduce((a, c) => a + c.size, 0);
  return { path: rec.path, hash: rec.chunks[k]!.hash, offset, size: Math.min(rec.chunks[k]!.size, MAX_BLOCK_DATA) };
}

test('serves every chunk of a file, trusted by its stat or checked by hash, from one open file', async () => {
  const f = await fixture();
  try {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    writeFileSync(join(f.root, 'big.bin'), data);
    // old enough that the scan's read was not racy
    utimesSync(join(f.root, 'big.bin'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const rec = await f.record('big.bin');
    assert.ok(rec.chunks.length > 10);
    for (const trusted of [true, false]) {
      f.trusted.value = trusted;
      let offset = 0;
      for (const c of rec.chunks) {
        // a chunk larger than a message is asked for in parts, each naming the chunk's hash
        for (let at = offset; at < offset + c.size; at += MAX_BLOCK_DATA) {
          const size = Math.min(MAX_BLOCK_DATA, offset + c.size - at);
          const res = await f.ask({ path: rec.path, hash: c.hash, offset: at, size });
          assert.equal(res.status, 'ok', `chunk at ${offset}, trusted ${trusted}`);
          assert.ok(Buffer.from(res.data).equals(data.subarray(at, at + size)), `bytes at ${at}`);
        }
        offset += c.size;
      }
      assert.equal(f.server.openFiles, 1, 'the file stayed open across the requests');
    }
    // a hash the entry does not have at that offset is not served from there
    const wrong = await f.ask({ path: rec.path, hash: sha(Buffer.from('no')), offset: 0, size: rec.chunks[0]!.size });
    assert.equal(wrong.status, 'not-found');
  } finally {
    await f.dispose();
  }
});

test('a file changed on disk since its entry is refused as changed, never served wrong, with the file open or not', async () => {
  const f = await fixture();
  try {
    const p = join(f.root, 'f.bin');
    const old = new Date(Date.now() - 60_000);
    writeFileSync(p, randomBytes(600_000));
    utimesSync(p, old, old);
    const rec = await f.record('f.bin');
    assert.equal((await f.ask(chunkRequest(rec, 0))).status, 'ok'); // now open
    assert.equal(f.server.openFiles, 1);

    // rewritten in place, same size: the stat moves, so the bytes are checked and do not match
    writeFileSync(p, randomBytes(600_000));
    for (const trusted of [true, false]) {
      f.trusted.value = trusted;
      const res = await f.ask(chunkRequest(rec, 0));
      assert.equal(res.status, 'changed', `trusted ${trusted}`);
      assert.equal(res.data.length, 0);
    }

    // replaced by another file (a new inode) while the old one is still open here
    const fresh = randomBytes(600_000);
    writeFileSync(p + '.new', fresh);
    renameSync(p + '.new', p);
    f.trusted.value = true;
    assert.equal((await f.ask(chunkRequest(rec, 1))).status, 'changed');
    // once scanned again, the new content is served from the path, not from the replaced file
    const again = await f.record('f.bin');
    const res = await f.ask(chunkRequest(again, 1));
    assert.equal(res.status, 'ok');
    const at = again.chunks[0]!.size;
    assert.ok(Buffer.from(res.data).equals(fresh.subarray(at, at + again.chunks[1]!.size)));

    // a file the scan read racily is always checked: a same-size rewrite that keeps the mtime is caught
    const racy = join(f.root, 'racy.bin');
    writeFileSync(racy, randomBytes(100_000));
    const racyRec = await f.record('racy.bin');
    writeFileSync(racy, randomBytes(100_000));
    utimesSync(racy, racyRec.mtimeMs / 1000, racyRec.mtimeMs / 1000);
    f.trusted.value = false;
    assert.equal((await f.ask(chunkRequest(racyRec, 0))).status, 'changed');

    // deleted before it was asked for: changed
    const gone = join(f.root, 'gone.bin');
    writeFileSync(gone, randomBytes(100_000));
    const goneRec = await f.record('gone.bin');
    rmSync(gone);
    assert.equal((await f.ask(chunkRequest(goneRec, 0))).status, 'changed');
  } finally {
    await f.dispose();
  }
});

test('a chunk the named file no longer has is served from another file that holds it', async () => {
  const f = await fixture();
  try {
    const data = randomBytes(400_000);
    writeFileSync(join(f.root, 'a.bin'), data);
    writeFileSync(join(f.root, 'copy.bin'), data);
    const a = await f.record('a.bin');
    await f.record('copy.bin');
    writeFileSync(join(f.root, 'a.bin'), randomBytes(400_000));
    await f.record('a.bin');
    const res = await f.ask({ path: 'a.bin', hash: a.chunks[0]!.hash, offset: 0, size: a.chunks[0]!.size });
    assert.equal(res.status, 'ok');
    assert.ok(Buffer.from(res.data).equals(data.subarray(0, a.chunks[0]!.size)));
  } finally {
    await f.dispose();
  }
});

test('open files are closed when the share stops being served here and when the link closes', async () => {
  const f = await fixture();
  try {
    const p = join(f.root, 'f.bin');
    writeFileSync(p, randomBytes(300_000));
    const rec = await f.record('f.bin');
    assert.equal((await f.ask(chunkRequest(rec, 0))).status, 'ok');
    assert.ok(openPaths().includes(p), 'open while the pull goes on');
    f.server.forgetShare(SHARE);
    assert.equal(f.server.openFiles, 0);
    // the close runs on the thread pool: waited for, not timed (a loaded machine takes its time)
    await closedSoon(p);
    assert.ok(!openPaths().includes(p), 'closed when the share was paused or removed');

    assert.equal((await f.ask(chunkRequest(rec, 0))).status, 'ok');
    assert.ok(openPaths().includes(p));
    f.server.close();
    await closedSoon(p);
    assert.ok(!openPaths().includes(p), 'closed with the link');
  } finally {
    await f.dispose();
  }
});

test('OpenFiles: one open per file, the least recently used beyond the limit closed, an idle one closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-open-'));
  const files = new OpenFiles<number>({ max: 2, idleMs: 100 });
  try {
    const paths = ['a', 'b', 'c'].map((n) => {
      const p = join(dir, n);
      writeFileSync(p, n);
      return p;
    });
    const [a1, a2] = await Promise.all([files.acquire('g', paths[0]!), files.acquire('g', paths[0]!)]);
    assert.equal(a1, a2, 'two readers of one file share one open file');
    a1.memo = 7;
    files.release(a1);
    files.release(a2);
    for (const p of paths.slice(1)) files.release(await files.acquire('g', p));
    assert.equal(files.size, 2);
    await sleep(20);
    assert.ok(!openPaths().includes(paths[0]!), 'the least recently used was closed');
    const b = await files.acquire('g', paths[1]!);
    assert.equal(b.memo, null);
    // a lent file is not closed by the idle timer nor by closeGroup until it is released
    files.closeGroup('g');
    assert.equal((await b.handle.read(Buffer.alloc(1), 0, 1, 0)).bytesRead, 1);
    files.release(b);
    const c = await files.acquire('g', paths[2]!);
    files.release(c);
    await sleep(300);
    assert.equal(files.size, 0, 'idle files were closed');
    assert.deepEqual(
      openPaths().filter((p) => p.startsWith(dir)),
      [],
    );
    await assert.rejects(files.acquire('g', join(dir, 'missing')), /ENOENT/);
    assert.equal(readFileSync(paths[0]!, 'utf8'), 'a');
  } finally {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OpenFiles: with more files being read than it keeps open, a newly opened file is lent open, never closed before its read', async () => {
  // 128 small files in flight on a long link: every kept file lent, so the trim after an open
  // found only the new, not yet lent file to close, and its read failed (io-error to the puller)
  const dir = mkdtempSync(join(tmpdir(), 'pf-open-'));
  const files = new OpenFiles<number>({ max: 2, idleMs: 100 });
  try {
    const paths = Array.from({ length: 6 }, (_, i) => {
      const p = join(dir, `f${i}`);
      writeFileSync(p, `file ${i}`);
      return p;
    });
    const lent = [];
    for (const p of paths) {
      // two readers of each: the opener and one waiting for the same open
      const [x, y] = await Promise.all([files.acquire('g', p), files.acquire('g', p)]);
      lent.push(x, y);
      for (const f of [x, y]) assert.equal((await f.handle.read(Buffer.alloc(4), 0, 4, 0)).bytesRead, 4, `${p} was readable`);
    }
    for (const f of lent) files.release(f);
    assert.equal(files.size, 2);
  } finally {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an answer the link cannot queue is answered overloaded, so the requester asks again instead of waiting forever', async () => {
  const f = await fixture();
  try {
    writeFileSync(join(f.root, 'a.bin'), randomBytes(200_000));
    const rec = await f.record('a.bin');
    f.queueFull.value = true;
    const res = await f.ask(chunkRequest(rec, 0));
    assert.equal(res.status, 'overloaded');
    f.queueFull.value = false;
    const again = await f.ask(chunkRequest(rec, 0));
    assert.equal(again.status, 'ok');
  } finally {
    await f.dispose();
  }
});

/** A run of chunks k, k + 1, ... of `rec`. */
function runOf(rec: FileRecord, k: number, n: number) {
  const offset = rec.chunks.slice(0, k).reduce((a, c) => a + c.size, 0);
  return { path: rec.path, offset, chunks: rec.chunks.slice(k, k + n).map((c) => ({ hash: c.hash, size: c.size })) };
}

/** A file of small chunks (none above one message) old enough that its scan was not racy. */
async function oldFile(f: Fixture, name: string, bytes: number) {
  const data = randomBytes(bytes);
  writeFileSync(join(f.root, name), data);
  utimesSync(join(f.root, name), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const rec = await f.record(name);
  return { data, rec };
}

test('a run of chunks is answered with one response per chunk, each the bytes of its chunk, trusted or checked by hash', async () => {
  const f = await fixture();
  try {
    const { data, rec } = await oldFile(f, 'run.bin', 2 * 1024 * 1024 + 123);
    assert.ok(rec.chunks.length >= 8);
    for (const trusted of [true, false]) {
      f.trusted.value = trusted;
      const before = f.server.runsReadAtOnce;
      // the first request opens the file; the runs after it are read at once from the open file
      await f.ask(chunkRequest(rec, 0));
      for (let k = 0; k < rec.chunks.length; k += 5) {
        const run = runOf(rec, k, 5);
        const answers = await f.askRun(run);
        let at = run.offset;
        answers.forEach((res, i) => {
          assert.equal(res.status, 'ok', `chunk ${k + i}, trusted ${trusted}`);
          const size = run.chunks[i]!.size;
          assert.ok(Buffer.from(res.data).equals(data.subarray(at, at + size)), `bytes of chunk ${k + i}`);
          at += size;
        });
      }
      // untrusted (a racy file): read at once too, each chunk of the run checked by its hash
      const atOnce = f.server.runsReadAtOnce - before;
      assert.ok(atOnce >= rec.chunks.length / 5 - 1, `runs read at once: ${atOnce}, trusted ${trusted}`);
    }
  } finally {
    await f.dispose();
  }
});

test('a run that goes past the end of the file, or names a chunk the file does not have there, is answered chunk by chunk: what is there, and not-found', async () => {
  const f = await fixture();
  try {
    const { data, rec } = await oldFile(f, 'end.bin', 600_000);
    await f.ask(chunkRequest(rec, 0));
    const n = rec.chunks.length;
    const run = runOf(rec, n - 2, 2);
    // two more chunks beyond the file's end, and a wrong hash in the middle of another run
    run.chunks.push({ hash: sha(Buffer.from('x')), size: 70_000 }, { hash: sha(Buffer.from('y')), size: 80_000 });
    const answers = await f.askRun(run);
    assert.deepEqual(
      answers.map((a) => a.status),
      ['ok', 'ok', 'not-found', 'not-found'],
    );
    const last = rec.chunks[n - 1]!;
    assert.ok(Buffer.from(answers[1]!.data).equals(data.subarray(rec.size - last.size)));
    const mixed = runOf(rec, 0, 3);
    mixed.chunks[1] = { hash: sha(Buffer.from('z')), size: mixed.chunks[1]!.size };
    assert.deepEqual(
      (await f.askRun(mixed)).map((a) => a.status),
      ['ok', 'not-found', 'ok'],
    );
  } finally {
    await f.dispose();
  }
});

test('a run asking for more than a run may hold is refused before anything is read: invalid-request for each of its ids', async () => {
  const f = await fixture();
  try {
    const { rec } = await oldFile(f, 'big.bin', 3 * 1024 * 1024);
    await f.ask(chunkRequest(rec, 0));
    // sixteen chunks of 256 KiB claimed: 4 MiB, over MAX_RUN_BYTES
    const huge = { path: rec.path, offset: 0, chunks: Array.from({ length: 16 }, () => ({ hash: rec.chunks[0]!.hash, size: 256 * 1024 })) };
    assert.ok(huge.chunks.length * 256 * 1024 > MAX_RUN_BYTES);
    const answers = await f.askRun(huge);
    assert.ok(answers.every((a) => a.status === 'invalid-request' && a.data.length === 0));
    // a single chunk larger than one response can carry
    const tooBig = await f.askRun({ path: rec.path, offset: 0, chunks: [{ hash: rec.chunks[0]!.hash, size: MAX_BLOCK_DATA + 1 }] });
    assert.equal(tooBig[0]!.status, 'invalid-request');
    // an offset so large that the run's end is no longer an exact integer
    const far = await f.askRun({
      path: rec.path,
      offset: Number.MAX_SAFE_INTEGER - 10,
      chunks: [{ hash: rec.chunks[0]!.hash, size: 1000 }],
    });
    assert.equal(far[0]!.status, 'invalid-request');
  } finally {
    await f.dispose();
  }
});

test('a run of a file changed on disk since its entry is never served as the old chunks', async () => {
  const f = await fixture();
  try {
    const { rec } = await oldFile(f, 'changed.bin', 1024 * 1024);
    await f.ask(chunkRequest(rec, 0));
    // same size, new bytes, new mtime: the open file's stat no longer matches its entry
    const fresh = randomBytes(1024 * 1024);
    writeFileSync(join(f.root, 'changed.bin'), fresh);
    const answers = await f.askRun(runOf(rec, 0, 4));
    for (const a of answers) {
      assert.notEqual(a.status, 'ok');
      assert.equal(a.data.length, 0);
    }
    // a racy file (stat not trusted) rewritten at the same size with its mtime kept: the hashes catch it
    const racy = await oldFile(f, 'racy-run.bin', 1024 * 1024);
    f.trusted.value = false;
    await f.ask(chunkRequest(racy.rec, 0));
    const p = join(f.root, 'racy-run.bin');
    writeFileSync(p, randomBytes(1024 * 1024));
    utimesSync(p, racy.rec.mtimeMs / 1000, racy.rec.mtimeMs / 1000);
    for (const a of await f.askRun(runOf(racy.rec, 0, 4))) {
      assert.notEqual(a.status, 'ok');
      assert.equal(a.data.length, 0);
    }
    for (let k = 0; k < 4; k++) assert.notEqual((await f.ask(chunkRequest(racy.rec, k))).status, 'ok', `chunk ${k} alone`);
  } finally {
    await f.dispose();
  }
});

/** One requestBatch served; resolves with its one responseBatch (copied: the server reuses its buffers). */
function askBatch(f: Fixture, id: number, requests: RequestBatch['requests']): Promise<ResponseBatch[]> {
  const got: ResponseBatch[] = [];
  return new Promise((resolve) => {
    f.server.handleBatch({ type: 'requestBatch', id, share: DISCOVERY, requests }, async (m) => {
      got.push({ ...m, answers: m.answers.map((a) => ({ status: a.status, data: new Uint8Array(a.data) })) });
      // a second message for the same batch would show here
      setTimeout(() => resolve(got), 50);
    });
  });
}

test('a batch of small files is answered in one message, each with its own bytes; a file changed or deleted since its entry fails alone', async () => {
  const f = await fixture();
  try {
    const files: { data: Buffer; rec: FileRecord }[] = [];
    for (let i = 0; i < 24; i++) files.push(await oldFile(f, `small-${i}.txt`, 1000 + i * 600));
    // after its entry was recorded: one rewritten with the same size, one deleted, one replaced by a new file
    writeFileSync(join(f.root, 'small-5.txt'), randomBytes(files[5]!.data.length));
    rmSync(join(f.root, 'small-9.txt'));
    writeFileSync(join(f.root, 'small-17.txt.new'), randomBytes(files[17]!.data.length));
    renameSync(join(f.root, 'small-17.txt.new'), join(f.root, 'small-17.txt'));
    for (const trusted of [true, false]) {
      f.trusted.value = trusted;
      const requests = files.map(({ rec }) => chunkRequest(rec, 0));
      const [answer, ...more] = await askBatch(f, 100, requests);
      assert.equal(more.length, 0, 'one message answers the batch');
      assert.equal(answer!.id, 100);
      assert.equal(answer!.answers.length, files.length);
      answer!.answers.forEach((a, i) => {
        if (i === 5 || i === 9 || i === 17) {
          assert.equal(a.status, 'changed', `file ${i}, trusted ${trusted}`);
          assert.equal(a.data.length, 0);
        } else {
          assert.equal(a.status, 'ok', `file ${i}, trusted ${trusted}`);
          assert.ok(Buffer.from(a.data).equals(files[i]!.data), `file ${i}'s bytes`);
        }
      });
    }
    // the same batch once the files were scanned again: the new content of the changed ones arrives
    const again = await f.record('small-5.txt');
    const [answer] = await askBatch(f, 200, [chunkRequest(again, 0), chunkRequest(files[0]!.rec, 0)]);
    assert.deepEqual(
      answer!.answers.map((a) => a.status),
      ['ok', 'ok'],
    );
  } finally {
    await f.dispose();
  }
});

test('a batch asking for more than a batch may hold is refused before anything is read: invalid-request for each request', async () => {
  const f = await fixture();
  try {
    const { rec } = await oldFile(f, 'a.txt', 1000);
    const half = MAX_BATCH_BYTES / 2 + 1;
    const [answer] = await askBatch(f, 7, [
      { ...chunkRequest(rec, 0), size: half },
      { ...chunkRequest(rec, 0), size: half },
    ]);
    assert.deepEqual(
      answer!.answers.map((a) => [a.status, a.data.length]),
      [
        ['invalid-request', 0],
        ['invalid-request', 0],
      ],
    );
    assert.equal(f.server.openFiles, 0, 'nothing was opened');
    // a path the index does not know, with a chunk nobody has: that one not-found, the other served
    const unknown = { path: '../../etc/passwd', hash: new Uint8Array(randomBytes(32)), offset: 0, size: 10 };
    const [mixed] = await askBatch(f, 9, [chunkRequest(rec, 0), unknown]);
    assert.deepEqual(
      mixed!.answers.map((a) => a.status),
      ['ok', 'not-found'],
    );
  } finally {
    await f.dispose();
  }
});
