// Issue 2 benchmark: scanning 10,000 files + one 512 MiB file, against sha256sum on the same data.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StatusResult } from '../shared/api.ts';
import { cli, fmt, mb, startDaemon, tempDir, waitFor } from './lib.ts';

export interface ScanBench {
  dataBytes: number;
  files: number;
  scanSeconds: number;
  scanMBps: number;
  sha256sumSeconds: number;
  sha256sumMBps: number;
  dbBytes: number;
  dbPercentOfData: number;
  peakRssMB: number;
  restartApiReadyMs: number;
  restartIdleMs: number;
}

export function makeTree(root: string, files: number, bigBytes: number): number {
  let total = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${i % 100}`, `e${i % 7}`);
    if (i < 700) mkdirSync(dir, { recursive: true });
    const size = (i * 7919) % (32 * 1024);
    randomFillSync(buf, 0, size);
    writeFileSync(join(dir, `f${i}.bin`), buf.subarray(0, size));
    total += size;
  }
  if (bigBytes > 0) {
    const fd = openSync(join(root, 'big.bin'), 'w');
    const block = Buffer.alloc(8 * 1024 * 1024);
    for (let done = 0; done < bigBytes; done += block.length) {
      randomFillSync(block);
      writeSync(fd, block, 0, Math.min(block.length, bigBytes - done));
    }
    closeSync(fd);
    total += bigBytes;
  }
  return total;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    n += name.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

export async function benchScan(files = 10_000, bigBytes = 512 * 1024 * 1024): Promise<ScanBench> {
  const work = tempDir('pf-bench-scan-');
  const data = join(work, 'data');
  const home = join(work, 'home');
  mkdirSync(data);
  try {
    const dataBytes = makeTree(data, files, bigBytes);

    const t0 = performance.now();
    const sum = spawnSync('bash', ['-c', `find "${data}" -type f -print0 | xargs -0 -P2 -n500 sha256sum > /dev/null`]);
    const sha256sumSeconds = (performance.now() - t0) / 1000;
    if (sum.status !== 0) throw new Error(`sha256sum failed: ${sum.stderr}`);

    let daemon = await startDaemon(home);
    const t1 = performance.now();
    const { share } = cli<{ share: { id: string } }>(home, 'share', data);
    await waitFor(home, (s: StatusResult) => s.shares.some((x) => x.id === share.id && x.state === 'idle' && x.lastScanAt !== null && x.localFiles >= files));
    const scanSeconds = (performance.now() - t1) / 1000;
    const peakRssMB = daemon.peakRssBytes() / 1e6;
    await daemon.stop();
    const dbBytes = dirBytes(home) ;

    const t2 = performance.now();
    daemon = await startDaemon(home);
    const restartApiReadyMs = performance.now() - t2;
    const idle = await waitFor(home, (s) => s.shares.every((x) => x.state === 'idle' && x.lastScanAt !== null));
    const restartIdleMs = restartApiReadyMs + idle;
    await daemon.stop();

    return {
      dataBytes, files: files + (bigBytes ? 1 : 0),
      scanSeconds, scanMBps: mb(dataBytes) / scanSeconds,
      sha256sumSeconds, sha256sumMBps: mb(dataBytes) / sha256sumSeconds,
      dbBytes, dbPercentOfData: (100 * dbBytes) / dataBytes,
      peakRssMB, restartApiReadyMs, restartIdleMs,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printScan(r: ScanBench): void {
  console.log(`scan: ${r.files} files, ${fmt(mb(r.dataBytes))} MB`);
  console.log(`  peerfold scan        ${fmt(r.scanMBps)} MB/s (${fmt(r.scanSeconds, 2)} s, both cores, includes indexing)`);
  console.log(`  sha256sum (2 procs)  ${fmt(r.sha256sumMBps)} MB/s (${fmt(r.sha256sumSeconds, 2)} s, same data, same run)`);
  console.log(`  database             ${fmt(r.dbBytes / 1e6, 2)} MB = ${fmt(r.dbPercentOfData, 3)}% of the data (home folder total)`);
  console.log(`  daemon peak RSS      ${fmt(r.peakRssMB)} MB`);
  console.log(`  restart: API ready   ${fmt(r.restartApiReadyMs, 0)} ms; idle after rescan ${fmt(r.restartIdleMs, 0)} ms`);
}
