// Measures a need pass on a share where both devices hold every file (the source after a sync):
// over every path, against one that reads only the paths of one index batch changed since.
//   node --import tsx main/engine/pull/need.bench.ts [files=100000] [batch=500]
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { computeNeed, updateNeedBook } from './need.ts';
import { RetryBook } from './retry.ts';

const FILES = Number(process.argv[2] ?? 100_000);
const BATCH = Number(process.argv[3] ?? 500);
const SELF = 'SELF0-7Q2XK-4M8ZT-PL3VA-BD9RW-6HNQE-J5CYS-UF2GT';
const PEER = 'PEER0-8R3YL-5N9AU-QM4WB-CE0SX-7IORF-K6DZT-VG3HU';

function record(deviceId: string, i: number, sequence: number): FileRecord {
  const hash = createHash('sha256').update(`f${i}`).digest();
  return {
    shareId: 's',
    deviceId,
    path: `dir${Math.floor(i / 100)}/file-${i}.bin`,
    type: 'file',
    size: 1024 + i,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + i,
    inode: i,
    symlinkTarget: null,
    version: { [SELF]: 1 },
    sequence,
    deleted: false,
    chunks: [{ hash, size: 1024 + i }],
    hash: createHash('sha256').update(hash).digest('hex'),
    modifiedBy: SELF,
  };
}

function timed<T>(what: string, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  const c = process.cpuUsage(c0);
  console.log(`${what}: ${(performance.now() - t0).toFixed(0)} ms (cpu ${((c.user + c.system) / 1000).toFixed(0)} ms)`);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'peerfold-need-bench-'));
const { store, db } = await IndexStore.open(dir, SELF, { snapshotEveryMs: 0, journalLimitBytes: 1 << 30 });
try {
  store.addShare({ id: 's', name: 'S', path: '/data/s', access: 'read-write', secret: 'x', paused: false, createdAt: 1 });
  for (let at = 0; at < FILES; at += 5000) {
    const n = Math.min(5000, FILES - at);
    store.putFiles(Array.from({ length: n }, (_, k) => record(SELF, at + k, at + k + 1)));
    store.putFiles(Array.from({ length: n }, (_, k) => record(PEER, at + k, at + k + 1)));
  }
  timed(`full pass over ${FILES} paths (computeNeed)`, () => computeNeed(store.iterateByPath('s'), SELF, new RetryBook(), 0));
  let book = timed('first pass of a need book (every path)', () => updateNeedBook(null, store, 's', SELF, false, new RetryBook())).book;
  for (let round = 0; round < 3; round++) {
    // the peer sends back a batch of entries it holds (an echo of what it pulled)
    store.putFiles(Array.from({ length: BATCH }, (_, k) => record(PEER, (round * BATCH + k) % FILES, FILES + round * BATCH + k + 1)));
    book = timed(`pass after ${BATCH} changed paths (need book)`, () => {
      const next = updateNeedBook(book, store, 's', SELF, false, new RetryBook());
      next.book.plan(next.local, new RetryBook(), 0, () => []);
      return next.book;
    });
  }
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
