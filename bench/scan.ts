// Issue 2's benchmark: one daemon scans a generated tree (10,000 small files + one 512 MiB file);
// sha256sum hashes the same data in the same run; then the daemon restarts on the index it built.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil, type Device } from '../e2e/harness.ts';
import { connectToDaemon } from '../main/headless/client.ts';
import { benchCluster, benchDeviceEnv, dirBytes, fmt, mb, MiB, now, peakRssOf, writeRandomFile } from './lib.ts';

export interface ScanFigures {
  files: number;
  dataBytes: number;
  scanSeconds: number;
  scanMBps: number;
  sha256sum1Seconds: number;
  sha256sum1MBps: number;
  sha256sum2Seconds: number;
  sha256sum2MBps: number;
  dbBytes: number;
  dbPercentOfData: number;
  peakRssMB: number;
  restartPeakRssMB: number;
  restartApiMs: number;
  restartIdleMs: number;
}

/** Small files of 0..32 KiB (random content) in 700 folders two levels deep, plus one big file. */
export function makeTree(root: string, files: number, bigBytes: number): number {
  let total = 0;
  const buf = Buffer.alloc(32 * 1024);
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${i % 100}`, `e${i % 7}`);
    if (i < 700) mkdirSync(dir, { recursive: true });
    const size = (i * 7919) % buf.length;
    randomFillSync(buf, 0, size);
    writeFileSync(join(dir, `f${i}.bin`), buf.subarray(0, size));
    total += size;
  }
  if (bigBytes > 0) {
    writeRandomFile(join(root, 'big.bin'), bigBytes);
    total += bigBytes;
  }
  return total;
}

/** sha256sum over every file of `dir` with `procs` processes; seconds. */
function sha256sum(dir: string, procs: number): number {
  const t0 = now();
  const r = spawnSync('bash', ['-c', `find "$0" -type f -print0 | xargs -0 -P${procs} -n500 sha256sum > /dev/null`, dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`);
  return (now() - t0) / 1000;
}

/** Starts a stopped device; ms until its API answers (polled every 10 ms, beside the harness's own wait). */
async function timedStart(d: Device): Promise<{ apiMs: number; t0: number }> {
  const t0 = now();
  const starting = d.start();
  let apiMs = 0;
  await waitUntil(
    'the API to answer',
    async () => {
      const c = await connectToDaemon(d.home);
      await c.call('status', {});
      c.close();
      apiMs = now() - t0;
      return true;
    },
    120_000,
    10,
  );
  await starting;
  return { apiMs, t0 };
}

export async function benchScan(opts: {
  files: number;
  bigBytes: number;
  fromSource: boolean;
  log: (s: string) => void;
}): Promise<ScanFigures> {
  const c = benchCluster('peerfold-bench-scan-');
  try {
    const d = await c.add('scanner', benchDeviceEnv(opts.fromSource));
    // stopped while this process is busy writing and hashing (a loaded machine can take minutes):
    // a client that answers no ping is dropped by the daemon
    await d.stop();
    opts.log(`scan: generating ${opts.files} files + ${opts.bigBytes / MiB} MiB in ${d.dir}`);
    const dataBytes = makeTree(d.dir, opts.files, opts.bigBytes);
    const files = opts.files + (opts.bigBytes > 0 ? 1 : 0);

    // both read from the page cache, as the scan right after does
    const sha256sum1Seconds = sha256sum(d.dir, 1);
    const sha256sum2Seconds = sha256sum(d.dir, 2);
    await d.start();

    opts.log('scan: sharing the folder');
    const t1 = now();
    const { share } = await d.call('share', { path: d.dir });
    await waitUntil(
      'the scan to finish',
      async () => {
        const s = await d.share(share.id);
        return s.state === 'idle' && s.lastScanAt !== null && s.localFiles >= files;
      },
      1_800_000,
      250,
    ); // a status call reads the whole index: polling faster would slow the scan
    const scanSeconds = (now() - t1) / 1000;
    const peakRssMB = peakRssOf(d.proc?.pid) / 1e6;
    await d.stop();
    const dbBytes = dirBytes(join(d.home, 'index'));

    opts.log('scan: restarting the daemon on that index');
    const { apiMs, t0 } = await timedStart(d);
    await waitUntil(
      'the restarted daemon to be idle',
      async () => {
        const s = await d.share(share.id);
        // lastScanAt is null until this run's first full scan is done
        return s.state === 'idle' && s.lastScanAt !== null;
      },
      600_000,
      100,
    );
    const restartIdleMs = now() - t0;
    const restartPeakRssMB = peakRssOf(d.proc?.pid) / 1e6;
    await d.stop();

    return {
      files,
      dataBytes,
      scanSeconds,
      scanMBps: mb(dataBytes) / scanSeconds,
      sha256sum1Seconds,
      sha256sum1MBps: mb(dataBytes) / sha256sum1Seconds,
      sha256sum2Seconds,
      sha256sum2MBps: mb(dataBytes) / sha256sum2Seconds,
      dbBytes,
      dbPercentOfData: (100 * dbBytes) / dataBytes,
      peakRssMB,
      restartPeakRssMB,
      restartApiMs: apiMs,
      restartIdleMs,
    };
  } finally {
    await c.dispose();
  }
}

export function printScan(r: ScanFigures): void {
  console.log(`scan (issue 2): ${r.files} files, ${fmt(mb(r.dataBytes))} MB`);
  console.log(`  peerfold scan          ${fmt(r.scanMBps)} MB/s (${fmt(r.scanSeconds, 2)} s: walk, hash on 1 worker thread, index)`);
  console.log(`  sha256sum, 1 process   ${fmt(r.sha256sum1MBps)} MB/s (${fmt(r.sha256sum1Seconds, 2)} s, same data, same run)`);
  console.log(`  sha256sum, 2 processes ${fmt(r.sha256sum2MBps)} MB/s (${fmt(r.sha256sum2Seconds, 2)} s)`);
  console.log(`  database               ${fmt(r.dbBytes / 1e6, 2)} MB = ${fmt(r.dbPercentOfData, 3)}% of the data`);
  console.log(`  daemon peak RSS        ${fmt(r.peakRssMB)} MB scanning; ${fmt(r.restartPeakRssMB)} MB restarting`);
  console.log(
    `  restart                API answers after ${fmt(r.restartApiMs, 0)} ms; idle (rescan done) after ${fmt(r.restartIdleMs, 0)} ms`,
  );
}
