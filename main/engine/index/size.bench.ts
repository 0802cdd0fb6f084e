// The index's bytes on disk per path (issue 11: <= 250 B per file with a peer's entry beside the
// device's own): one-chunk files named as the scale bench names them, this device's entries as a
// scan makes them, then a peer's entry for every path as a sync leaves it (same version and content,
// the peer's own sequence, no inode, mtime in whole ms), in batches of 1,000. Prints the snapshot's size per path and
// sqlite's dbstat per table and index.
//   node --import tsx main/engine/index/size.bench.ts [files=10000] [order=local-first|peer-first|local-only]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from './store.ts';
import type { FileRecord } from './rows.ts';

const FILES = Number(process.argv[2] ?? 10_000);
const ORDER = process.argv[3] ?? 'local-first';
const LOCAL = 'LOCAL-7Q2XK-4M8ZT-PL3VA-BD9RW-6HNQE-J5CYS-UF2GT';
const PEER = 'PEER0-8R3YL-5N9AU-QM4WB-CE0SX-7IORF-K6DZT-VG3HU';

function local(i: number): FileRecord {
  const hash = createHash('sha256').update(`file-${i}`).digest();
  return {
    shareId: 'share-1',
    deviceId: LOCAL,
    path: `file-${i}.bin`,
    type: 'file',
    size: 1000 + (i % 30_000),
    mode: 0o644,
    mtimeMs: 1_764_650_000_000 + i * 7.25,
    inode: 5_000_000 + i,
    symlinkTarget: null,
    version: { [LOCAL]: 1 }, // a new share: every counter 1
    sequence: i + 1,
    deleted: false,
    chunks: [{ hash, size: 1000 + (i % 30_000) }],
    hash: createHash('sha256').update(hash).digest('hex'),
    modifiedBy: LOCAL,
  };
}

// as it comes back over the wire: whole milliseconds (protocol/messages.ts), no inode
const peer = (i: number): FileRecord => ({ ...local(i), deviceId: PEER, sequence: i + 1, inode: 0, mtimeMs: Math.floor(local(i).mtimeMs) });

const dir = mkdtempSync(join(tmpdir(), 'peerfold-index-size-'));
try {
  const { store, db } = await IndexStore.open(dir, LOCAL, { snapshotEveryMs: 0, journalLimitBytes: 1 << 30 });
  store.addShare({ id: 'share-1', name: 's', path: '/s', access: 'read-write', secret: 'x', paused: false, createdAt: 0 });
  const put = (make: (i: number) => FileRecord) => {
    for (let at = 0; at < FILES; at += 1000) store.putFiles(Array.from({ length: Math.min(1000, FILES - at) }, (_, k) => make(at + k)));
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  if (ORDER === 'peer-first') {
    put(peer);
    put(local);
  } else {
    put(local);
    if (ORDER !== 'local-only') put(peer);
  }
  const c = process.cpuUsage(c0);
  console.log(
    `${ORDER}: ${FILES} paths written in ${(performance.now() - t0).toFixed(0)} ms (cpu ${((c.user + c.system) / 1000).toFixed(0)} ms)`,
  );
  await db.close();
  // sql.js has no dbstat: the sqlite3 command-line tool reads the snapshot's image (after its 32-byte header)
  const file = readFileSync(join(dir, 'index.snapshot'));
  writeFileSync(join(dir, 'image.db'), file.subarray(32));
  const stats = execFileSync('sqlite3', [
    '-separator',
    ' ',
    join(dir, 'image.db'),
    'SELECT name, count(*), sum(pgsize), sum(payload), sum(unused) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC',
  ])
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  for (const [name, pages, bytes, payload, unused] of stats) {
    const per = (n: string | undefined) => (Number(n) / FILES).toFixed(1).padStart(6);
    console.log(
      `  ${String(name).padEnd(24)} ${String(pages).padStart(5)} pages ${per(bytes)} B/path (payload ${per(payload)}, unused ${per(unused)})`,
    );
  }
  const size = file.length;
  console.log(`snapshot ${size} B = ${(size / FILES).toFixed(1)} B per path`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
