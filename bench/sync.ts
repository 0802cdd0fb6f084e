// Issue 3's benchmarks: two (then three) real daemons with separate homes syncing over loopback.
//   latency   median time from a small file being written on one device to its arrival on the other
//   transfer  a 1 GiB file from one device to the other (rate of the pull, and end to end)
//   delta     bytes on the wire for a one-byte insertion in the middle of a 512 MiB file
//   rename    bytes on the wire when a 200 MiB file is renamed
//   many      10,000 small files written on one device, until the other has them all; then a third
//             device joins the share and gets them from scratch (index exchange + pulls)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fatal, sleep, waitUntil, type Cluster, type Device } from '../e2e/harness.ts';
import { benchCluster, benchDeviceEnv, cpuSecondsOf, fmt, GiB, KiB, mb, median, MiB, now, peakRssOf, writeRandomFile } from './lib.ts';

export interface SyncOptions {
  fromSource: boolean;
  log: (s: string) => void;
  transferBytes: number;
  deltaBytes: number;
  renameBytes: number;
  smallFiles: number;
  latencyFiles: number;
}

export interface LatencyFigures {
  files: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}
export interface TransferFigures {
  bytes: number;
  /** from the receiver first seeing the need to the file in place */
  pullSeconds: number;
  pullMBps: number;
  /** from the file appearing in the sender's folder (scan included) to the file in place */
  endToEndSeconds: number;
  senderScanSeconds: number;
  wireBytes: number;
  senderPeakRssMB: number;
  receiverPeakRssMB: number;
  /** what carried the chunk data when the pull ended (PeerInfo.transport) */
  transport: string;
  /** CPU time of each daemon from the rename into the folder until the file is in place */
  senderCpuSeconds: number;
  receiverCpuSeconds: number;
  /** the sender's CPU time during the pull alone (from when the receiver needs the file): without its scan */
  senderPullCpuSeconds: number;
}
export interface RenameFigures {
  fileBytes: number;
  /** sent by the renaming device until the other holds the file under its new name only */
  sentBytes: number;
  receivedBytes: number;
  seconds: number;
}
export interface DeltaFigures {
  fileBytes: number;
  sentBytes: number;
  receivedBytes: number;
  seconds: number;
  initialPullMBps: number;
}
export interface ManyFigures {
  files: number;
  bytes: number;
  writeSeconds: number;
  /** from the first file written to the last one in place on the other device */
  liveSeconds: number;
  /** after the last write */
  afterLastWriteSeconds: number;
  /** a new device joins the share holding them and gets everything */
  joinSeconds: number;
  joinFiles: number;
  /** the receiver's CPU time while the files were written and synced live */
  receiverCpuSeconds: number;
  /** the sender's CPU time over the same span (its scans of the new files included) */
  senderCpuSeconds: number;
  /** while the new device joins: its CPU time, and that of the two devices it pulls from */
  joinCpuSeconds: { newcomer: number; peers: number };
}

export type SyncPart = 'latency' | 'transfer' | 'delta' | 'rename' | 'many';
export interface SyncResults {
  latency?: LatencyFigures;
  transfer?: TransferFigures;
  delta?: DeltaFigures;
  rename?: RenameFigures;
  many?: ManyFigures;
  /** VmHWM of each daemon after all the parts that ran */
  peakRssMB?: { sender: number; receiver: number };
}

/** Runs the selected parts on one pair of connected devices; calls `report` as each part ends. */
export async function benchSync(
  parts: Set<SyncPart>,
  opts: SyncOptions,
  report: (part: SyncPart, r: object) => void,
): Promise<SyncResults> {
  const c = benchCluster('peerfold-bench-sync-');
  const out: SyncResults = {};
  try {
    const env = benchDeviceEnv(opts.fromSource);
    const a = await c.add('sender', env);
    const b = await c.add('receiver', env);
    writeFileSync(join(a.dir, 'hello.txt'), 'hello\n');
    const shareId = await c.shareAmong([a, b]);
    await connected([a, b], shareId);
    await synced(a, b, shareId, 1, 60_000);
    opts.log('sync: two devices connected');

    if (parts.has('latency')) report('latency', (out.latency = await latency(a, b, opts)));
    if (parts.has('transfer')) report('transfer', (out.transfer = await transfer(c, a, b, shareId, opts)));
    if (parts.has('delta')) report('delta', (out.delta = await delta(c, a, b, shareId, opts)));
    if (parts.has('rename')) report('rename', (out.rename = await rename(c, a, b, shareId, opts)));
    if (parts.has('many')) report('many', (out.many = await many(c, a, b, shareId, opts)));
    out.peakRssMB = { sender: peakRssOf(a.proc?.pid) / 1e6, receiver: peakRssOf(b.proc?.pid) / 1e6 };
    return out;
  } catch (err) {
    if (process.env.PEERFOLD_BENCH_LOGS) console.error(c.logs());
    throw err;
  } finally {
    await c.dispose();
  }
}

/** Waits until every device reports the others connected for the share. */
export async function connected(devices: Device[], shareId: string): Promise<void> {
  for (const d of devices)
    await waitUntil(`${d.name} to connect`, async () => (await d.share(shareId)).peersConnected >= devices.length - 1, 60_000, 50);
}

/**
 * Waits until `b` has `files` files, needs nothing and is idle, and so is `a`. Fails fast when both
 * have settled on another count (files went missing) instead of waiting out the timeout.
 */
export async function synced(a: Device, b: Device, shareId: string, files: number, timeoutMs: number, everyMs = 100): Promise<void> {
  let settled = '';
  let settledAt = 0;
  await waitUntil(
    `${b.name} to hold ${files} files`,
    async () => {
      const [sa, sb] = [await a.share(shareId), await b.share(shareId)];
      const quiet = sa.state === 'idle' && sb.state === 'idle' && !sa.needFiles && !sb.needFiles && !sb.pulling.length;
      if (quiet && sa.localFiles === files && sb.localFiles === files) return true;
      const key = quiet ? `${sa.localFiles}/${sb.localFiles}` : '';
      if (key !== settled) [settled, settledAt] = [key, now()];
      if (key && now() - settledAt > 30_000) {
        throw new Fatal(
          `settled with ${sa.localFiles} files on ${a.name} and ${sb.localFiles} on ${b.name}, not ${files}: files went missing`,
        );
      }
      return false;
    },
    timeoutMs,
    everyMs,
  );
}

/** Small files written one at a time into `folder` of a's share, each timed until it is on b. */
export async function latency(
  a: Device,
  b: Device,
  opts: Pick<SyncOptions, 'latencyFiles' | 'log'>,
  folder = 'latency',
): Promise<LatencyFigures> {
  opts.log(`sync/latency: writing ${opts.latencyFiles} small files one at a time`);
  mkdirSync(join(a.dir, folder));
  const samplesMs: number[] = [];
  for (let i = 0; i < opts.latencyFiles; i++) {
    const data = randomBytes(200 + i * 37);
    const rel = join(folder, `note-${i}.txt`);
    const t0 = now();
    writeFileSync(join(a.dir, rel), data);
    // pulled files are renamed into place whole, so existence with the right size is arrival
    await waitUntil(
      `${rel} to arrive`,
      () => {
        try {
          return statSync(join(b.dir, rel)).size === data.length;
        } catch {
          return false;
        }
      },
      30_000,
      5,
    );
    samplesMs.push(now() - t0);
    await sleep(300);
  }
  return {
    files: samplesMs.length,
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    samplesMs: samplesMs.map((x) => Math.round(x)),
  };
}

const sumPeers = async (d: Device, key: 'inBytes' | 'outBytes') =>
  (await d.call('peers', {})).filter((p) => p.connected).reduce((n, p) => n + p[key], 0);

/**
 * Writes a random file beside the share; the returned function renames it in, so that it appears
 * whole, as a finished download would (and the clock starts after the data was generated).
 */
export function stage(c: Cluster, d: Device, name: string, bytes: number): () => void {
  const staging = join(c.base, `staging-${name}`);
  writeRandomFile(staging, bytes);
  return () => renameSync(staging, join(d.dir, name));
}

/** Times one big file from a to b: when a has indexed it, when b first needs it, when b has it. */
export async function timeBigFile(a: Device, b: Device, shareId: string, name: string, bytes: number, filesAfter: number, put: () => void) {
  const inBefore = await sumPeers(b, 'inBytes');
  const cpuBefore = [cpuSecondsOf(a.proc?.pid), cpuSecondsOf(b.proc?.pid)];
  const t0 = now();
  put();
  let tIndexed = 0;
  let tNeed = 0;
  let senderCpuAtNeed = 0;
  await waitUntil(
    `${name} to arrive`,
    async () => {
      if (!tIndexed) {
        const sa = await a.share(shareId);
        if (sa.state === 'idle' && sa.localFiles === filesAfter) tIndexed = now();
      }
      const sb = await b.share(shareId);
      if (!tNeed && (sb.needFiles > 0 || sb.pulling.length > 0)) {
        tNeed = now();
        senderCpuAtNeed = cpuSecondsOf(a.proc?.pid);
      }
      if (sb.state !== 'idle' || sb.needFiles || sb.pulling.length) return false;
      try {
        return statSync(join(b.dir, name)).size === bytes;
      } catch {
        return false;
      }
    },
    1_800_000,
    50,
  );
  const tDone = now();
  const wireBytes = (await sumPeers(b, 'inBytes')) - inBefore;
  return {
    endToEndSeconds: (tDone - t0) / 1000,
    senderScanSeconds: ((tIndexed || tNeed) - t0) / 1000,
    pullSeconds: (tDone - (tNeed || tIndexed)) / 1000,
    wireBytes,
    senderCpuSeconds: cpuSecondsOf(a.proc?.pid) - cpuBefore[0]!,
    receiverCpuSeconds: cpuSecondsOf(b.proc?.pid) - cpuBefore[1]!,
    senderPullCpuSeconds: cpuSecondsOf(a.proc?.pid) - (senderCpuAtNeed || cpuBefore[0]!),
  };
}

async function transfer(c: Cluster, a: Device, b: Device, shareId: string, opts: SyncOptions): Promise<TransferFigures> {
  opts.log(`sync/transfer: ${opts.transferBytes / MiB} MiB from one device to the other`);
  const files = (await a.share(shareId)).localFiles;
  // the TCP or udx stream comes up a moment after the link (unless both are off or have no path)
  await waitUntil(
    'the bulk stream',
    async () => (await b.call('peers', {})).some((p) => p.connected && p.transport !== 'datachannel'),
    5_000,
  ).catch(() => opts.log('sync/transfer: chunk data goes over the data channel'));
  const t = await timeBigFile(
    a,
    b,
    shareId,
    'big-transfer.bin',
    opts.transferBytes,
    files + 1,
    stage(c, a, 'big-transfer.bin', opts.transferBytes),
  );
  const figures: TransferFigures = {
    bytes: opts.transferBytes,
    ...t,
    pullMBps: mb(opts.transferBytes) / t.pullSeconds,
    senderPeakRssMB: peakRssOf(a.proc?.pid) / 1e6,
    receiverPeakRssMB: peakRssOf(b.proc?.pid) / 1e6,
    transport: (await b.call('peers', {})).find((p) => p.connected)?.transport ?? 'none',
  };
  // make room for the next parts (b keeps the deleted file in its archive: remove that too)
  rmSync(join(a.dir, 'big-transfer.bin'));
  await synced(a, b, shareId, files, 120_000);
  rmSync(join(b.dir, '.peerfold', 'archive'), { recursive: true, force: true });
  return figures;
}

async function delta(c: Cluster, a: Device, b: Device, shareId: string, opts: SyncOptions): Promise<DeltaFigures> {
  opts.log(`sync/delta: a ${opts.deltaBytes / MiB} MiB file, then one byte inserted in its middle`);
  const name = 'big-delta.bin';
  const files = (await a.share(shareId)).localFiles;
  const first = await timeBigFile(a, b, shareId, name, opts.deltaBytes, files + 1, stage(c, a, name, opts.deltaBytes));

  const sentBefore = await sumPeers(a, 'outBytes');
  const recvBefore = await sumPeers(b, 'inBytes');
  // the edited version is written beside the share and renamed over the old one, as editors save
  const old = readFileSync(join(a.dir, name));
  const mid = old.length >> 1;
  const edited = Buffer.concat([old.subarray(0, mid), Buffer.from('!'), old.subarray(mid)]);
  const staging = join(c.base, 'staging-delta');
  writeFileSync(staging, edited);
  const t0 = now();
  renameSync(staging, join(a.dir, name));
  await waitUntil(
    'the edit to arrive',
    async () => {
      const sb = await b.share(shareId);
      if (sb.state !== 'idle' || sb.needFiles || sb.pulling.length) return false;
      try {
        return statSync(join(b.dir, name)).size === edited.length;
      } catch {
        return false;
      }
    },
    600_000,
    50,
  );
  const seconds = (now() - t0) / 1000;
  const sentAfter = await sumPeers(a, 'outBytes');
  const recvAfter = await sumPeers(b, 'inBytes');
  if (sentAfter < sentBefore || recvAfter < recvBefore)
    throw new Error('the devices reconnected during the delta benchmark (byte counters restarted); run it again');
  if (!readFileSync(join(b.dir, name)).equals(edited)) throw new Error('the edited file arrived with different content');

  rmSync(join(a.dir, name));
  await synced(a, b, shareId, files, 120_000);
  rmSync(join(b.dir, '.peerfold', 'archive'), { recursive: true, force: true });
  return {
    fileBytes: edited.length,
    sentBytes: sentAfter - sentBefore,
    receivedBytes: recvAfter - recvBefore,
    seconds,
    initialPullMBps: mb(opts.deltaBytes) / first.pullSeconds,
  };
}

async function rename(c: Cluster, a: Device, b: Device, shareId: string, opts: SyncOptions): Promise<RenameFigures> {
  opts.log(`sync/rename: a ${opts.renameBytes / MiB} MiB file, then renamed`);
  const [name, renamed] = ['big-rename.bin', 'big-renamed.bin'];
  const files = (await a.share(shareId)).localFiles;
  await timeBigFile(a, b, shareId, name, opts.renameBytes, files + 1, stage(c, a, name, opts.renameBytes));
  const sentBefore = await sumPeers(a, 'outBytes');
  const recvBefore = await sumPeers(b, 'inBytes');
  const t0 = now();
  renameSync(join(a.dir, name), join(a.dir, renamed));
  await waitUntil(
    'the rename to arrive',
    async () => {
      const sb = await b.share(shareId);
      if (sb.state !== 'idle' || sb.needFiles || sb.pulling.length) return false;
      return !existsSync(join(b.dir, name)) && existsSync(join(b.dir, renamed)) && statSync(join(b.dir, renamed)).size === opts.renameBytes;
    },
    600_000,
    50,
  );
  const seconds = (now() - t0) / 1000;
  const sentBytes = (await sumPeers(a, 'outBytes')) - sentBefore;
  const receivedBytes = (await sumPeers(b, 'inBytes')) - recvBefore;
  if (sentBytes < 0 || receivedBytes < 0) throw new Error('the devices reconnected during the rename benchmark; run it again');
  rmSync(join(a.dir, renamed));
  await synced(a, b, shareId, files, 120_000);
  rmSync(join(b.dir, '.peerfold', 'archive'), { recursive: true, force: true });
  return { fileBytes: opts.renameBytes, sentBytes, receivedBytes, seconds };
}

async function many(c: Cluster, a: Device, b: Device, shareId: string, opts: SyncOptions): Promise<ManyFigures> {
  opts.log(`sync/many: ${opts.smallFiles} small files written on one device`);
  const before = (await a.share(shareId)).localFiles;
  const cpuBefore = cpuSecondsOf(b.proc?.pid);
  const senderCpuBefore = cpuSecondsOf(a.proc?.pid);
  const dirs = Math.ceil(opts.smallFiles / 100);
  let bytes = 0;
  const t0 = now();
  for (let i = 0; i < opts.smallFiles; i++) {
    const dir = join(a.dir, 'many', `dir${i % dirs}`);
    if (i < dirs) mkdirSync(dir, { recursive: true });
    const data = randomBytes(100 + ((i * 7919) % (4 * KiB)));
    writeFileSync(join(dir, `file-${i}.txt`), data);
    bytes += data.length;
  }
  const tWritten = now();
  await synced(a, b, shareId, before + opts.smallFiles, 1_800_000, 500);
  const tDone = now();
  const receiverCpuSeconds = cpuSecondsOf(b.proc?.pid) - cpuBefore;
  const senderCpuSeconds = cpuSecondsOf(a.proc?.pid) - senderCpuBefore;
  const got = readdirSync(join(b.dir, 'many')).reduce((n, d) => n + readdirSync(join(b.dir, 'many', d)).length, 0);
  if (got !== opts.smallFiles) throw new Error(`the receiver holds ${got} of ${opts.smallFiles} files`);
  opts.log(`sync/many: all ${opts.smallFiles} files across ${((tDone - t0) / 1000).toFixed(1)} s after the first write`);

  opts.log('sync/many: a third device joins the share and gets them all');
  const env = benchDeviceEnv(opts.fromSource);
  const d = await c.add('newcomer', env);
  const code = (await a.call('codes', { share: shareId })).readWrite!;
  const peersCpu = () => cpuSecondsOf(a.proc?.pid) + cpuSecondsOf(b.proc?.pid);
  const [newcomerCpuBefore, peersCpuBefore] = [cpuSecondsOf(d.proc?.pid), peersCpu()];
  const t1 = now();
  await d.call('join', { code, path: d.dir });
  await synced(a, d, shareId, before + opts.smallFiles, 1_800_000, 500);
  const joinSeconds = (now() - t1) / 1000;
  const joinCpuSeconds = { newcomer: cpuSecondsOf(d.proc?.pid) - newcomerCpuBefore, peers: peersCpu() - peersCpuBefore };
  if (!existsSync(join(d.dir, 'many'))) throw new Error('the newcomer did not get the files');
  await d.stop();
  return {
    files: opts.smallFiles,
    bytes,
    writeSeconds: (tWritten - t0) / 1000,
    liveSeconds: (tDone - t0) / 1000,
    afterLastWriteSeconds: (tDone - tWritten) / 1000,
    joinSeconds,
    joinFiles: before + opts.smallFiles,
    receiverCpuSeconds,
    senderCpuSeconds,
    joinCpuSeconds,
  };
}

export function printSyncPart(part: SyncPart, r: object): void {
  if (part === 'latency') {
    const x = r as LatencyFigures;
    console.log(`sync latency: ${x.files} small files written one at a time`);
    console.log(
      `  write -> arrival       median ${fmt(x.medianMs, 0)} ms (min ${fmt(x.minMs, 0)}, max ${fmt(x.maxMs, 0)}; target < 1000 ms)`,
    );
  } else if (part === 'transfer') {
    const x = r as TransferFigures;
    console.log(`sync transfer: ${fmt(x.bytes / GiB, 2)} GiB between two daemons on loopback (chunk data over ${x.transport})`);
    console.log(
      `  pull                   ${fmt(x.pullMBps)} MB/s (${fmt(x.pullSeconds, 2)} s from need to file in place; ${fmt(mb(x.wireBytes))} MB on the wire)`,
    );
    console.log(`  end to end             ${fmt(x.endToEndSeconds, 2)} s (of which the sender's scan ${fmt(x.senderScanSeconds, 2)} s)`);
    console.log(`  peak RSS               sender ${fmt(x.senderPeakRssMB)} MB, receiver ${fmt(x.receiverPeakRssMB)} MB`);
    console.log(
      `  CPU                    sender ${fmt(x.senderCpuSeconds, 2)} s (${fmt(x.senderPullCpuSeconds, 2)} s of it during the pull), receiver ${fmt(x.receiverCpuSeconds, 2)} s`,
    );
  } else if (part === 'delta') {
    const x = r as DeltaFigures;
    console.log(`sync delta: one byte inserted in the middle of a ${fmt(x.fileBytes / MiB, 0)} MiB file`);
    console.log(
      `  bytes sent             ${fmt(x.sentBytes / KiB)} KiB by the sender, ${fmt(x.receivedBytes / KiB)} KiB received (target < 512 KiB); ${fmt(x.seconds, 2)} s`,
    );
    console.log(`  (its first transfer    ${fmt(x.initialPullMBps)} MB/s)`);
  } else if (part === 'rename') {
    const x = r as RenameFigures;
    console.log(`sync rename: a ${fmt(x.fileBytes / MiB, 0)} MiB file renamed`);
    console.log(
      `  bytes sent             ${fmt(x.sentBytes / KiB)} KiB by the sender, ${fmt(x.receivedBytes / KiB)} KiB received; ${fmt(x.seconds, 2)} s`,
    );
  } else {
    const x = r as ManyFigures;
    console.log(`sync many: ${x.files} small files (${fmt(mb(x.bytes))} MB)`);
    console.log(
      `  written live           ${fmt(x.liveSeconds, 1)} s from the first write to all in place (writing took ${fmt(x.writeSeconds, 1)} s; ${fmt(x.afterLastWriteSeconds, 1)} s after the last write)`,
    );
    console.log(
      `  new device joins       ${fmt(x.joinSeconds, 1)} s to get all ${x.joinFiles} files (index exchange + pulls from two peers)`,
    );
    console.log(`  CPU, live              sender ${fmt(x.senderCpuSeconds, 2)} s, receiver ${fmt(x.receiverCpuSeconds, 2)} s`);
    console.log(
      `  CPU, new device        new device ${fmt(x.joinCpuSeconds.newcomer, 2)} s, the two it pulls from ${fmt(x.joinCpuSeconds.peers, 2)} s`,
    );
  }
}
