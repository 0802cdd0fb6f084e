import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkBoundaries } from './cdc.ts';
import { hashFile, HashError } from './file-hash.ts';
import { defaultWorkerUrl, HashPool, placeTask } from './hasher.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pf-hash-'));
}

/** What the hash of `data` must be, computed the obvious way in memory. */
function expected(data: Buffer) {
  let start = 0;
  const chunks = chunkBoundaries(data).map((end) => {
    const c = { hash: createHash('sha256').update(data.subarray(start, end)).digest('hex'), size: end - start };
    start = end;
    return c;
  });
  const hash = createHash('sha256')
    .update(Buffer.concat(chunks.map((c) => Buffer.from(c.hash, 'hex'))))
    .digest('hex');
  return { size: data.length, chunks, hash };
}

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

test('hashFile streams a file into the same chunks as chunking it in memory', async () => {
  const dir = await tempDir();
  try {
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    const p = join(dir, 'f');
    await writeFile(p, data);
    // a read size that is not a multiple of anything, to cross chunk edges inside reads
    const got = await hashFile(p, { readSize: 100_003 });
    const want = expected(data);
    assert.equal(got.size, want.size);
    assert.equal(got.hash, want.hash);
    assert.deepEqual(
      [...got.chunkSizes],
      want.chunks.map((c) => c.size),
    );
    assert.equal(got.chunkHashes.length, want.chunks.length * 32);
    assert.equal(hex(got.chunkHashes.subarray(0, 32)), want.chunks[0].hash);

    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    const e = await hashFile(empty);
    assert.equal(e.size, 0);
    assert.equal(e.chunkSizes.length, 0);
    assert.equal(e.hash, createHash('sha256').digest('hex'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFile reads again when the file changes while it is read', async () => {
  const dir = await tempDir();
  try {
    const p = join(dir, 'f');
    await writeFile(p, randomBytes(4 * 1024 * 1024));
    const attempts: number[] = [];
    const got = await hashFile(p, {
      readSize: 1024 * 1024,
      onRead: (attempt, soFar) => {
        attempts.push(attempt);
        // during the first read, after the first MiB: append (size and mtime change)
        if (attempt === 1 && soFar === 1024 * 1024) appendFileSync(p, 'more');
      },
    });
    assert.ok(attempts.includes(2), 'the file was read a second time');
    assert.ok(!attempts.includes(3));
    const { readFileSync } = await import('node:fs');
    assert.equal(got.hash, expected(readFileSync(p)).hash, 'the hash is of the final content');
    assert.equal(got.size, 4 * 1024 * 1024 + 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFile reports a file that keeps changing after a few attempts', async () => {
  const dir = await tempDir();
  try {
    const p = join(dir, 'f');
    await writeFile(p, randomBytes(2 * 1024 * 1024));
    let reads = 0;
    await assert.rejects(
      hashFile(p, {
        maxAttempts: 3,
        onRead: () => {
          reads++;
          appendFileSync(p, 'x');
        },
      }),
      (err: unknown) => err instanceof HashError && err.code === 'UNSTABLE' && /kept changing/.test(err.message),
    );
    assert.ok(reads >= 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFile: a file replaced by another (new inode, same size) during the read is read again', async () => {
  const dir = await tempDir();
  try {
    const p = join(dir, 'f');
    const a = randomBytes(2 * 1024 * 1024);
    const b = randomBytes(2 * 1024 * 1024);
    await writeFile(p, a);
    const got = await hashFile(p, {
      onRead: (attempt, soFar) => {
        if (attempt === 1 && soFar === 1024 * 1024) {
          writeFileSync(join(dir, 'tmp'), b);
          execFileSync('mv', [join(dir, 'tmp'), p]);
        }
      },
    });
    assert.equal(got.hash, expected(b).hash);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFile errors: gone, a FIFO (no hang), a directory', async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(hashFile(join(dir, 'nope')), (e: unknown) => e instanceof HashError && e.code === 'ENOENT');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await assert.rejects(hashFile(join(dir, 'fifo')), (e: unknown) => e instanceof HashError && e.code === 'ENOTREG');
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(hashFile(join(dir, 'sub')), (e: unknown) => e instanceof HashError && e.code === 'ENOTREG');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the worker script is a sibling with this module's extension", () => {
  assert.match(defaultWorkerUrl().pathname, /\/main\/engine\/scan\/hash-worker\.ts$/);
});

test('HashPool hashes files in parallel in worker threads, matching hashFile', async () => {
  const dir = await tempDir();
  const pool = new HashPool({ size: 2 });
  try {
    const datas = [randomBytes(1), randomBytes(700_000), randomBytes(2_500_000), Buffer.alloc(0), randomBytes(300_000)];
    const paths = await Promise.all(
      datas.map(async (d, i) => {
        const p = join(dir, `f${i}`);
        await writeFile(p, d);
        return p;
      }),
    );
    const got = await Promise.all(paths.map((p) => pool.hash(p)));
    got.forEach((g, i) => {
      const want = expected(datas[i]);
      assert.equal(g.size, want.size);
      assert.equal(g.hash, want.hash);
      assert.deepEqual(
        g.chunks.map((c) => ({ hash: hex(c.hash), size: c.size })),
        want.chunks,
      );
      assert.equal(typeof g.mtimeMs, 'number');
      assert.ok(g.inode > 0);
    });
    await assert.rejects(pool.hash(join(dir, 'missing')), (e: unknown) => e instanceof HashError && e.code === 'ENOENT');
    // the pool still works after an error
    assert.equal((await pool.hash(paths[1])).hash, expected(datas[1]).hash);
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('HashPool queues several files per worker: 300 files at once, big and small, each get their own answer', async () => {
  const dir = await tempDir();
  const pool = new HashPool({ size: 2 });
  try {
    const datas = Array.from({ length: 300 }, (_, i) => randomBytes(i === 7 ? 6_000_000 : (i * 997) % 40_000));
    const paths = datas.map((d, i) => {
      const p = join(dir, `f${i}`);
      writeFileSync(p, d);
      return p;
    });
    const jobs = paths.map((p, i) => pool.hash(p, datas[i].length));
    assert.equal(pool.pending, 300);
    const got = await Promise.all([...jobs, pool.hash(join(dir, 'missing')).catch((e: HashError) => e.code)]);
    got.slice(0, 300).forEach((g, i) => assert.equal((g as { hash: string }).hash, expected(datas[i]).hash, `file ${i}`));
    assert.equal(got[300], 'ENOENT');
    assert.equal(pool.pending, 0);
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('placeTask: a free reading slot first, then a new worker, then room in a queue; nothing waits behind a big file', () => {
  const MiB = 1024 * 1024;
  // the least busy worker with a free reading slot (an idle one first)
  assert.equal(
    placeTask(
      [
        { tasks: 1, waiting: 0 },
        { tasks: 0, waiting: 0 },
      ],
      true,
      100,
    ),
    1,
  );
  // a worker reading one file reads another beside it (also beside a 512 MiB one) before a new worker starts
  assert.equal(placeTask([{ tasks: 1, waiting: 0 }], true, 100), 0);
  assert.equal(placeTask([{ tasks: 2, waiting: 0 }], true, 100), 'spawn');
  // the least loaded worker with room
  assert.equal(
    placeTask(
      [
        { tasks: 4, waiting: 30 },
        { tasks: 3, waiting: 20 },
      ],
      false,
      100,
    ),
    1,
  );
  // a worker with a 512 MiB file waiting takes nothing more; the small file goes to the other one
  assert.equal(
    placeTask(
      [
        { tasks: 3, waiting: 512 * MiB },
        { tasks: 5, waiting: 50 },
      ],
      false,
      100,
    ),
    1,
  );
  // a big file waits in the pool's queue for a free reading slot rather than behind small ones
  assert.equal(
    placeTask(
      [
        { tasks: 3, waiting: 20 },
        { tasks: 3, waiting: 512 * MiB },
      ],
      false,
      64 * MiB,
    ),
    null,
  );
  // queues are bounded in tasks as well as bytes
  assert.equal(placeTask([{ tasks: 8, waiting: 80 }], false, 1), null);
});

test('HashPool: workers idle for idleMs exit, and the next files start them again (a big file across several reads too)', async () => {
  const dir = await tempDir();
  const pool = new HashPool({ size: 2, idleMs: 100 });
  try {
    const datas = [randomBytes(5_000_000), randomBytes(20_000), randomBytes(0)];
    const paths = datas.map((d, i) => {
      const p = join(dir, `f${i}`);
      writeFileSync(p, d);
      return p;
    });
    const hashAll = async () => {
      const got = await Promise.all(paths.map((p, i) => pool.hash(p, datas[i].length)));
      got.forEach((g, i) => assert.equal(g.hash, expected(datas[i]).hash, `file ${i}`));
    };
    await hashAll();
    assert.ok(pool.workers > 0);
    const deadline = Date.now() + 60_000;
    while (pool.workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.workers, 0, 'idle workers exit');
    await hashAll();
    assert.ok(pool.workers > 0, 'the next files start workers again');
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('HashPool.close rejects what is still queued and refuses new work', async () => {
  const dir = await tempDir();
  const pool = new HashPool({ size: 2 });
  try {
    const p = join(dir, 'big');
    await writeFile(p, randomBytes(8 * 1024 * 1024));
    const jobs = Array.from({ length: 6 }, () =>
      pool.hash(p).then(
        () => 'ok',
        (e: HashError) => e.code,
      ),
    );
    await pool.close();
    const results = await Promise.all(jobs);
    assert.ok(results.includes('ECLOSED'), JSON.stringify(results));
    await assert.rejects(pool.hash(p), (e: unknown) => e instanceof HashError && e.code === 'ECLOSED');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFile: small files read in one blocking call hash exactly as when streamed', async () => {
  const dir = await tempDir();
  try {
    // empty, below the minimum chunk, several chunks, exactly the read size, one byte over it
    for (const size of [0, 1, 5000, 16 * 1024, 300_000, 1024 * 1024, 1024 * 1024 + 1]) {
      const data = randomBytes(size);
      const p = join(dir, `f${size}`);
      await writeFile(p, data);
      const fast = await hashFile(p, { blockingSmallFiles: true });
      const streamed = await hashFile(p, { readSize: 100_003 });
      assert.equal(fast.hash, expected(data).hash, `size ${size}`);
      assert.deepEqual(fast, { ...streamed, racy: fast.racy }, `size ${size}`);
    }
    await assert.rejects(
      hashFile(join(dir, 'nope'), { blockingSmallFiles: true }),
      (e: unknown) => e instanceof HashError && e.code === 'ENOENT',
    );
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await assert.rejects(
      hashFile(join(dir, 'fifo'), { blockingSmallFiles: true }),
      (e: unknown) => e instanceof HashError && e.code === 'ENOTREG',
    );
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(
      hashFile(join(dir, 'sub'), { blockingSmallFiles: true }),
      (e: unknown) => e instanceof HashError && e.code === 'ENOTREG',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('HashPool of one worker: a small file is read beside a big one and answered first', async () => {
  const dir = await tempDir();
  const pool = new HashPool({ size: 1 });
  try {
    const big = randomBytes(48 * 1024 * 1024);
    const small = randomBytes(20_000);
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), small);
    const order: string[] = [];
    const jobs = [
      pool.hash(join(dir, 'big'), big.length).then((h) => (order.push('big'), h)),
      pool.hash(join(dir, 'small'), small.length).then((h) => (order.push('small'), h)),
    ];
    const [gotBig, gotSmall] = await Promise.all(jobs);
    assert.equal(pool.workers, 1);
    assert.deepEqual(order, ['small', 'big']);
    assert.equal(gotBig.hash, expected(big).hash);
    assert.equal(gotSmall.hash, expected(small).hash);
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});
