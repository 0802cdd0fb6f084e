// Measures the index: putFiles batches, snapshot, open (from a snapshot and from a journal replay).
//   node --import tsx main/engine/index/index.bench.ts [files=10000] [chunksPerFile=10]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from './store.ts';
import type { FileRecord } from './rows.ts';

const FILES = Number(process.argv[2] ?? 10_000);
const CHUNKS = Number(process.argv[3] ?? 10);
const LOCAL = 'LOCAL-7Q2XK-4M8ZT-PL3VA-BD9RW-6HNQE-J5CYS-UF2GT';
const PEER = 'PEER0-8R3YL-5N9AU-QM4WB-CE0SX-7IORF-K6DZT-VG3HU';
const PEER2 = 'PEER2-3K8ZL-7N1AU-QM4WB-CE0SX-7IORF-K6DZT-VG3HU';

function records(deviceId: string, shareId: string, seqBase: number, tag: string): FileRecord[] {
  const out: FileRecord[] = [];
  for (let i = 0; i < FILES; i++) {
    const chunks = [];
    for (let c = 0; c < CHUNKS; c++) chunks.push({ hash: createHash('sha256').update(`${tag}/${i}/${c}`).digest(), size: 65_536 + c });
    const h = createHash('sha256');
    for (const c of chunks) h.update(c.hash);
    out.push({
      shareId,
      deviceId,
      path: `projects/dir-${i % 200}/sub-${i % 7}/file-${i}.dat`,
      type: 'file',
      size: chunks.reduce((a, c) => a + c.size, 0),
      mode: 0o644,
      mtimeMs: 1_700_000_000_000 + i * 1000.5,
      inode: 5_000_000 + i,
      symlinkTarget: null,
      version: { [LOCAL]: 1 + (i % 3), [PEER]: i % 2 },
      sequence: seqBase + i + 1,
      deleted: false,
      chunks,
      hash: h.digest('hex'),
      modifiedBy: deviceId,
    });
  }
  return out;
}

// Wall time, and this process's CPU time over the same span (less disturbed by other load on the machine).
let cpu0 = process.cpuUsage();
function ms(t0: number): string {
  const c = process.cpuUsage(cpu0);
  cpu0 = process.cpuUsage();
  return `${(performance.now() - t0).toFixed(0)} ms (cpu ${((c.user + c.system) / 1000).toFixed(0)} ms)`;
}
function start(): number {
  cpu0 = process.cpuUsage();
  return performance.now();
}
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const dir = mkdtempSync(join(tmpdir(), 'peerfold-index-bench-'));
const opts = { snapshotEveryMs: 0, journalLimitBytes: 1 << 30 };
const wasmMB = () => ((process.memoryUsage().external - process.memoryUsage().arrayBuffers) / 1e6).toFixed(1);
try {
  let t = start();
  const { store, db } = await IndexStore.open(dir, LOCAL, opts);
  console.log(`open (new database):                                   ${ms(t)}`);
  store.addShare({ id: 'share-1', name: 'One', path: '/tmp/one', access: 'read-write', secret: 'x', paused: false, createdAt: 0 });
  store.addShare({ id: 'warm', name: 'Warm', path: '/tmp/warm', access: 'read-write', secret: 'x', paused: false, createdAt: 0 });

  const local = records(LOCAL, 'share-1', 0, 'l');
  const peer = records(PEER, 'share-1', 0, 'p');
  const warm = records(LOCAL, 'warm', 0, 'w').slice(0, 1000);

  t = start();
  store.putFiles(warm);
  console.log(`putFiles 1,000 (cold: first batch in the process):     ${ms(t)}`);
  store.removeShare('warm');

  const j0 = db.stats().journalBytes;
  t = start();
  store.putFiles(local);
  console.log(
    `putFiles ${FILES} new local files (${FILES * CHUNKS} chunks):      ${ms(t)}   journal +${mib(db.stats().journalBytes - j0)}`,
  );
  let j = db.stats().journalBytes;
  t = start();
  store.putFiles(local.map((r) => ({ ...r, mtimeMs: r.mtimeMs + 1, sequence: r.sequence + FILES })));
  console.log(`putFiles ${FILES} local updates (same content):         ${ms(t)}   journal +${mib(db.stats().journalBytes - j)}`);

  const replayImage = mkdtempSync(join(tmpdir(), 'peerfold-index-bench-img-'));
  cpSync(dir, replayImage, { recursive: true });

  t = start();
  await db.snapshot();
  console.log(`snapshot (${FILES} files, ${FILES * CHUNKS} chunks):               ${ms(t)}   size ${mib(db.stats().snapshotBytes)}`);
  t = start();
  let found = 0;
  for (let i = 0; i < 10_000; i++) found += store.findChunk(local[i % FILES]!.chunks[i % CHUNKS]!.hash).length;
  console.log(`findChunk x 10,000:                                    ${ms(t)}   (${found} hits)`);
  t = start();
  let n = 0;
  for (let after = 0; ;) {
    const page = store.filesSince('share-1', LOCAL, after, 1000);
    if (!page.length) break;
    n += page.length;
    after = page[page.length - 1]!.sequence;
  }
  console.log(`filesSince, all ${n} in pages of 1000:                  ${ms(t)}`);
  await db.close();

  t = start();
  let o = await IndexStore.open(dir, LOCAL, opts);
  console.log(`open from snapshot (${FILES} files + ${FILES * CHUNKS} chunks):     ${ms(t)}`);
  t = start();
  const replay = await IndexStore.open(replayImage, LOCAL, opts);
  console.log(`open replaying the journal instead (crash before any snapshot): ${ms(t)}   (${replay.db.stats().replayedRecords} records)`);
  await replay.db.close();
  rmSync(replayImage, { recursive: true, force: true });

  j = o.db.stats().journalBytes;
  t = start();
  o.store.putFiles(peer);
  console.log(`putFiles ${FILES} new peer records:                     ${ms(t)}   journal +${mib(o.db.stats().journalBytes - j)}`);
  t = start();
  let groups = 0;
  for (const g of o.store.iterateByPath('share-1')) groups += g.entries.length > 0 ? 1 : 0;
  console.log(`iterateByPath over ${groups} paths x 2 devices:         ${ms(t)}   wasm+external ${wasmMB()} MB`);
  // what a sync leaves behind: a peer's entry for every path, equal to the local one (schema 5: references)
  const echoed = local.map((r) => ({ ...r, deviceId: PEER2, mtimeMs: r.mtimeMs + 1, sequence: r.sequence + FILES, inode: 0 }));
  j = o.db.stats().journalBytes;
  t = start();
  o.store.putFiles(echoed);
  console.log(`putFiles ${FILES} peer records equal to the local ones:  ${ms(t)}   journal +${mib(o.db.stats().journalBytes - j)}`);
  await o.db.close();
  t = start();
  o = await IndexStore.open(dir, LOCAL, opts);
  console.log(`open from snapshot with the peer's index too:          ${ms(t)}   size ${mib(o.db.stats().snapshotBytes)}`);
  await o.db.close();
  console.log(`peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}   wasm+external now ${wasmMB()} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
