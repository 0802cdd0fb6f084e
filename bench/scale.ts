// Issue 11's scale part: the same scenario at several sizes (default 10,000 and 100,000 small
// files), printed side by side, so that growth that is not linear shows. For each size: one device
// scans and indexes the tree, then a new device joins and gets all of it.
//   BENCH_SCALE_FILES=10000,100000   the sizes (files of 1-16 KiB, 100 per folder)
import { randomFillSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitUntil, type Device } from '../e2e/harness.ts';
import { benchCluster, benchDeviceEnv, dirBytes, fmt, KiB, mb, now, peakRssOf } from './lib.ts';

export interface ScaleFigures {
  files: number;
  dataBytes: number;
  scanSeconds: number;
  /** a new device joins and gets everything */
  syncSeconds: number;
  sourcePeakRssMB: number;
  receiverPeakRssMB: number;
  /** resident memory once idle (hash workers gone) minus the same daemon's before it shared anything, per file */
  sourceBytesPerFile: number;
  receiverBytesPerFile: number;
  /** the index folder after a clean stop, per file: the source (its own entries and the receiver's) */
  indexBytesPerFile: number;
}

/** Resident memory now (VmRSS), bytes. */
function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function makeSmallFiles(root: string, files: number): number {
  const buf = Buffer.alloc(16 * KiB);
  let total = 0;
  for (let i = 0; i < files; i++) {
    const dir = join(root, `dir${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    const size = KiB + ((i * 7919) % (15 * KiB));
    randomFillSync(buf, 0, size);
    writeFileSync(join(dir, `file-${i}.bin`), buf.subarray(0, size));
    total += size;
  }
  return total;
}

/** Waits for idle with at least `files` local files, then until the hash workers have exited (30 s idle). */
async function settled(d: Device, shareId: string, files: number): Promise<void> {
  await waitUntil(
    `${d.name} to hold ${files} files`,
    async () => {
      const s = await d.share(shareId);
      return s.state === 'idle' && s.lastScanAt !== null && s.localFiles >= files && !s.needFiles && !s.pulling.length;
    },
    7_200_000,
    1000, // status reads the index: polling fast would slow what is measured
  );
}

export async function benchScale(opts: { sizes: number[]; fromSource: boolean; log: (s: string) => void }): Promise<ScaleFigures[]> {
  const out: ScaleFigures[] = [];
  for (const files of opts.sizes) {
    const c = benchCluster(`peerfold-bench-scale-${files}-`);
    try {
      const env = benchDeviceEnv(opts.fromSource);
      const a = await c.add('source', env);
      const b = await c.add('receiver', env);
      opts.log(`scale: ${files} files`);
      const dataBytes = makeSmallFiles(a.dir, files);
      await sleep(3000); // both daemons idle and settled before the baseline
      const idle = [rssOf(a.proc?.pid), rssOf(b.proc?.pid)];
      const t0 = now();
      const { share } = await a.call('share', { path: a.dir });
      await settled(a, share.id, files);
      const scanSeconds = (now() - t0) / 1000;
      opts.log(`scale: ${files} files scanned in ${fmt(scanSeconds, 1)} s; a new device joins`);
      const code = (await a.call('codes', { share: share.id })).readWrite!;
      const t1 = now();
      await b.call('join', { code, path: b.dir });
      await settled(b, share.id, files);
      const syncSeconds = (now() - t1) / 1000;
      opts.log(`scale: ${files} files synced in ${fmt(syncSeconds, 1)} s; waiting for the hash workers to exit`);
      await sleep(35_000);
      const sourceBytesPerFile = (rssOf(a.proc?.pid) - idle[0]!) / files;
      const receiverBytesPerFile = (rssOf(b.proc?.pid) - idle[1]!) / files;
      const sourcePeakRssMB = peakRssOf(a.proc?.pid) / 1e6;
      const receiverPeakRssMB = peakRssOf(b.proc?.pid) / 1e6;
      await a.stop();
      const indexBytesPerFile = dirBytes(join(a.home, 'index')) / files;
      // each size's figures as soon as they are known: a long run cut short still leaves them
      opts.log(
        `scale: ${files} files: peak RSS ${fmt(sourcePeakRssMB, 0)} / ${fmt(receiverPeakRssMB, 0)} MB, ` +
          `beyond idle ${fmt(sourceBytesPerFile, 0)} / ${fmt(receiverBytesPerFile, 0)} B per file, index ${fmt(indexBytesPerFile, 0)} B per file`,
      );
      out.push({
        files,
        dataBytes,
        scanSeconds,
        syncSeconds,
        sourcePeakRssMB,
        receiverPeakRssMB,
        sourceBytesPerFile,
        receiverBytesPerFile,
        indexBytesPerFile,
      });
    } finally {
      await c.dispose();
    }
  }
  return out;
}

export function printScale(rows: ScaleFigures[]): void {
  const cols: [string, (r: ScaleFigures) => string][] = [
    ['files', (r) => String(r.files)],
    ['data', (r) => `${fmt(mb(r.dataBytes), 0)} MB`],
    ['scan + index', (r) => `${fmt(r.scanSeconds, 1)} s (${fmt(r.files / r.scanSeconds, 0)} files/s)`],
    ['to a new device', (r) => `${fmt(r.syncSeconds, 1)} s (${fmt(r.files / r.syncSeconds, 0)} files/s)`],
    ['peak RSS source / receiver', (r) => `${fmt(r.sourcePeakRssMB, 0)} / ${fmt(r.receiverPeakRssMB, 0)} MB`],
    ['resident beyond idle, per file, source / receiver', (r) => `${fmt(r.sourceBytesPerFile, 0)} / ${fmt(r.receiverBytesPerFile, 0)} B`],
    ['index on disk per file (source, both devices)', (r) => `${fmt(r.indexBytesPerFile, 0)} B`],
  ];
  console.log(`scale: the same scenario at ${rows.map((r) => r.files).join(' and ')} files`);
  console.log(`| figure | ${rows.map((r) => `${r.files} files`).join(' | ')} |`);
  console.log(`| --- | ${rows.map(() => '---').join(' | ')} |`);
  for (const [name, f] of cols.slice(1)) console.log(`| ${name} | ${rows.map(f).join(' | ')} |`);
}
