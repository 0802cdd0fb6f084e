// Issue 13's WAN rows: Peerfold and Syncthing moving the same data across the same emulated long
// link (e2e/long-link: two network namespaces joined by a delay line), one side dialing the other
// by address. Each row opens a fresh link; Peerfold runs first, then Syncthing, on the same link.
// For every big-file run the per-second rate on the wire is printed, with the "no collapse" check:
// after the first seconds it never falls below half of the run's median.
//
// Sizes for a quick try: BENCH_WAN_BIG_MB (256), BENCH_WAN_FILES (2000), BENCH_WAN_CAP_S (a run
// still going after this many seconds is stopped and reported with what crossed so far; 240),
// BENCH_WAN_ROWS (a comma-separated subset of the row keys: 100ms, 20ms, 1g, loss; default all),
// BENCH_WAN_TOOLS (peerfold,syncthing), BENCH_WAN_DATA (big,small), BENCH_LATENCY_FILES (20; 0 skips
// write-to-arrival).
import { cpSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha, waitUntil, type Device } from '../e2e/harness.ts';
import { longLinkUnavailable, openLongLink, type LinkShape, type LongLink } from '../e2e/long-link/long-link.ts';
import { pairAcross } from '../e2e/long-link/ns-device.ts';
import { benchCluster, benchDeviceEnv, cpuSecondsOf, fmt, KiB, mb, median, MiB, now, writeRandomFile } from './lib.ts';
import { latency, type LatencyFigures } from './sync.ts';
import { status, SyncthingCluster } from './syncthing.ts';
import { spawnSync } from 'node:child_process';

export type WanTool = 'peerfold' | 'syncthing';
export type WanData = 'big' | 'small';

interface WanCase {
  key: string;
  shape: LinkShape;
  data: WanData[];
  latency: boolean;
}

const CASES: WanCase[] = [
  { key: '100ms', shape: { rttMs: 100, rateMbit: 200 }, data: ['big', 'small'], latency: true },
  { key: '20ms', shape: { rttMs: 20, rateMbit: 200 }, data: ['big', 'small'], latency: false },
  { key: '1g', shape: { rttMs: 100, rateMbit: 1000 }, data: ['big'], latency: false },
  { key: 'loss', shape: { rttMs: 100, rateMbit: 200, loss: 0.01 }, data: ['big'], latency: false },
];

export interface WanRun {
  tool: WanTool;
  data: WanData;
  bytes: number;
  files: number;
  /** from the rename into the sender's folder to everything in place; null: not done within the cap */
  seconds: number | null;
  /** what crossed the link in the data direction (wire bytes, headers and retransmissions included) */
  wireBytes: number;
  /** application bytes per second: bytes / seconds, or for an unfinished run wire bytes / cap */
  MBps: number;
  /** Mbit/s on the wire in each second, from the first second that carried data */
  perSecond: number[];
  /** null: the rate held; else what fell how far */
  collapse: string | null;
  /** CPU-seconds of the sender's and the receiver's process over the run, when measured */
  cpuSeconds?: [number, number];
  /** what carried Peerfold's chunks at the end (PeerInfo.transport) */
  transport?: string;
}
export interface WanRow {
  key: string;
  shape: LinkShape;
  runs: WanRun[];
  latency?: LatencyFigures;
  skipped?: Partial<Record<WanTool, string>>;
}
export interface WanResults {
  rows: WanRow[];
  loadBefore: number[];
  loadAfter: number[];
  skipped?: string;
}

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

export const linkLabel = (s: LinkShape) =>
  `RTT ${s.rttMs} ms, ${s.rateMbit >= 1000 ? `${s.rateMbit / 1000} Gbit/s` : `${s.rateMbit} Mbit/s`}${s.loss ? `, ${s.loss * 100} % loss` : ''}`;

/** After the first 3 seconds of data (and before the last, partial one), never under half the median. */
export function collapseOf(perSecond: number[]): string | null {
  const whole = perSecond.slice(0, -1);
  if (whole.length < 5) return null;
  const med = median(whole);
  const later = whole.slice(3);
  const min = Math.min(...later);
  if (min >= med / 2) return null;
  const at = later.indexOf(min) + 3;
  return `fell to ${fmt(min)} Mbit/s in second ${at + 1} (median ${fmt(med)})`;
}

/** Samples the link's data direction every second until stopped. */
function sampler(link: LongLink): { stop(): Promise<{ perSecond: number[]; wireBytes: number }> } {
  const samples: { atMs: number; bytes: number }[] = [];
  const take = () => link.counters().then((c) => samples.push({ atMs: c.atMs, bytes: c.aToB.outBytes }));
  const first = take();
  const timer = setInterval(() => void take(), 1000);
  return {
    async stop() {
      clearInterval(timer);
      await first;
      await take();
      const rates = samples.slice(1).map((s, i) => ((s.bytes - samples[i].bytes) * 8) / (s.atMs - samples[i].atMs) / 1e3);
      const max = Math.max(0, ...rates);
      const start = rates.findIndex((r) => r > max / 100);
      return { perSecond: start < 0 ? [] : rates.slice(start), wireBytes: samples[samples.length - 1].bytes - samples[0].bytes };
    },
  };
}

/** The data of one row, made once and copied for each tool: one big file, or a folder of small ones. */
interface Dataset {
  path: string;
  bytes: number;
  files: number;
}

function makeData(dir: string, data: WanData, sizes: { bigBytes: number; files: number }): Dataset {
  if (data === 'big') {
    const path = join(dir, 'big.bin');
    writeRandomFile(path, sizes.bigBytes);
    return { path, bytes: sizes.bigBytes, files: 1 };
  }
  const path = join(dir, 'small');
  let bytes = 0;
  for (let i = 0; i < sizes.files; i++) {
    const sub = join(path, `d${i % 50}`);
    if (i < 50) mkdirSync(sub, { recursive: true });
    const b = randomBytes(KiB + ((i * 7919) % (15 * KiB)));
    bytes += b.length;
    writeFileSync(join(sub, `f${i}.bin`), b);
  }
  return { path, bytes, files: sizes.files };
}

/** A copy of the dataset beside the sender's folder, ready to be renamed in. */
function stageCopy(ds: Dataset, dir: string, name: string): string {
  const to = join(dir, `staged-${name}`);
  if (statSync(ds.path).isDirectory()) cpSync(ds.path, to, { recursive: true });
  else copyFileSync(ds.path, to);
  return to;
}

/** sha-256 over every file under `p` (sorted relative paths and contents). */
function digest(p: string): string {
  if (!statSync(p).isDirectory()) return sha(readFileSync(p));
  const parts: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(p, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (statSync(join(p, r)).isDirectory()) walk(r);
      else parts.push(`${r}:${sha(readFileSync(join(p, r)))}`);
    }
  };
  walk('');
  return sha(parts.join('\n'));
}

async function timedRun(
  link: LongLink,
  tool: WanTool,
  ds: Dataset,
  data: WanData,
  capMs: number,
  go: () => void,
  arrived: () => Promise<boolean>,
): Promise<WanRun> {
  const s = sampler(link);
  const t0 = now();
  go();
  let seconds: number | null = null;
  try {
    await waitUntil(`${tool}: the ${data} data to arrive`, arrived, capMs, 100);
    seconds = (now() - t0) / 1000;
  } catch (err) {
    if (!/timed out/.test((err as Error).message)) throw err;
  }
  const { perSecond, wireBytes } = await s.stop();
  const MBps = seconds ? mb(ds.bytes) / seconds : mb(wireBytes) / (capMs / 1000);
  return {
    tool,
    data,
    bytes: ds.bytes,
    files: ds.files,
    seconds,
    wireBytes,
    MBps,
    perSecond,
    collapse: data === 'big' ? collapseOf(perSecond) : null,
  };
}

/** The two folders of a run, and what a tool's receiving side says once everything arrived. */
interface RunSides {
  tool: WanTool;
  /** where staged copies are made (the same file system as the sender's folder) */
  base: string;
  from: string;
  to: string;
  /** the receiver holds at least this much and has nothing left to do */
  arrived: (want: { files: number; bytes: number }) => Promise<boolean>;
  /** what to add to the run's log line once it is done */
  note?: (run: WanRun) => Promise<string>;
  /** CPU-seconds each side's process has used so far (sender, receiver), when they are known */
  cpu?: () => [number, number];
  /** for BENCH_WAN_TRACE: what each side's index holds now (the sender's scan, the receiver's pull) */
  progress?: () => Promise<string>;
}

/**
 * BENCH_WAN_TRACE=1: a line every 200 ms of a run, the time from the rename, each side's progress
 * and CPU-seconds since the rename, to see where a small-file run spends its time (scan, index, pull).
 */
function traceRun(sides: RunSides, log: (s: string) => void): () => void {
  if (process.env.BENCH_WAN_TRACE !== '1' || !sides.progress) return () => {};
  const t0 = now();
  const cpu0 = sides.cpu?.() ?? [0, 0];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void sides.progress!()
      .then((p) => {
        const c = sides.cpu?.() ?? [0, 0];
        log(`  +${String(Math.round(now() - t0)).padStart(5)} ms ${p}, CPU-s ${fmt(c[0] - cpu0[0], 2)} / ${fmt(c[1] - cpu0[1], 2)}`);
      })
      .catch(() => {})
      .finally(() => (busy = false));
  }, 200);
  return () => clearInterval(timer);
}

/**
 * The case's data sets one after the other, each renamed into the sender's folder at once and
 * timed until it is all in place at the receiver (checked byte for byte); the totals grow with
 * each set, since earlier ones stay in the folder.
 */
async function runEachDataSet(
  link: LongLink,
  c: WanCase,
  sets: Map<WanData, Dataset>,
  opts: { capMs: number; log: (s: string) => void },
  sides: RunSides,
  row: WanRow,
): Promise<void> {
  const want = { files: 0, bytes: 0 };
  for (const data of c.data) {
    const ds = sets.get(data)!;
    const name = data === 'big' ? 'big.bin' : 'small';
    const staged = stageCopy(ds, sides.base, name);
    want.files += ds.files;
    want.bytes += ds.bytes;
    const total = { ...want };
    const cpuBefore = sides.cpu?.();
    const stopTrace = traceRun(sides, opts.log);
    const run = await timedRun(
      link,
      sides.tool,
      ds,
      data,
      opts.capMs,
      () => renameSync(staged, join(sides.from, name)),
      () => sides.arrived(total),
    ).finally(stopTrace);
    if (run.seconds !== null && digest(join(sides.to, name)) !== digest(join(sides.from, name)))
      throw new Error(`${sides.tool}: the ${data} data arrived different`);
    const cpuAfter = sides.cpu?.();
    if (cpuBefore && cpuAfter) run.cpuSeconds = [cpuAfter[0] - cpuBefore[0], cpuAfter[1] - cpuBefore[1]];
    const cpu = run.cpuSeconds ? `, CPU-s sender ${fmt(run.cpuSeconds[0], 2)} / receiver ${fmt(run.cpuSeconds[1], 2)}` : '';
    const note = (sides.note ? await sides.note(run) : '') + cpu;
    opts.log(`wan ${c.key}: ${sides.tool} ${data}: ${run.seconds === null ? 'not done' : `${fmt(run.seconds, 1)} s`}${note}`);
    row.runs.push(run);
  }
}

async function peerfoldRow(
  link: LongLink,
  c: WanCase,
  sets: Map<WanData, Dataset>,
  opts: { fromSource: boolean; capMs: number; log: (s: string) => void; latencyFiles: number },
  row: WanRow,
): Promise<void> {
  const cluster = benchCluster('peerfold-bench-wan-');
  try {
    const { a, b, shareId } = await pairAcross(cluster, link, ['wan-sender', 'wan-receiver'], benchDeviceEnv(opts.fromSource));
    opts.log(`wan ${c.key}: peerfold connected across ${linkLabel(c.shape)}`);
    const sides: RunSides = {
      tool: 'peerfold',
      base: cluster.base,
      from: a.dir,
      to: b.dir,
      arrived: async (want) => {
        const sb = await b.share(shareId);
        return sb.state === 'idle' && !sb.needFiles && !sb.pulling.length && sb.localFiles >= want.files;
      },
      note: async (run) => {
        const peer = (await b.call('peers', {})).find((p) => p.connected);
        run.transport = peer && `${peer.transport}${(peer.streams ?? 1) > 1 ? ` x${peer.streams}` : ''}`;
        return ` (chunks over ${run.transport})`;
      },
      cpu: () => [cpuSecondsOf(a.proc?.pid), cpuSecondsOf(b.proc?.pid)],
      progress: async () => {
        const [sa, sb] = await Promise.all([a.share(shareId), b.share(shareId)]);
        return `sender ${sa.localFiles} files (${sa.state}), receiver ${sb.localFiles} of ${sb.globalFiles} (${sb.state})`;
      },
    };
    await runEachDataSet(link, c, sets, opts, sides, row);
    if (c.latency && opts.latencyFiles > 0) {
      row.latency = await latency(a as Device, b as Device, { latencyFiles: opts.latencyFiles, log: opts.log });
    }
  } finally {
    await cluster.dispose();
  }
}

/** Why syncthing cannot run here, or null. */
function syncthingUnavailable(): string | null {
  const v = spawnSync('syncthing', ['--version'], { encoding: 'utf8' });
  return v.error || v.status !== 0 ? 'syncthing is not installed (flock /tmp/apt.lock apt-get install -y syncthing)' : null;
}

async function syncthingRow(
  link: LongLink,
  c: WanCase,
  sets: Map<WanData, Dataset>,
  opts: { capMs: number; log: (s: string) => void },
  row: WanRow,
) {
  const sides = [link.a, link.b];
  // the watcher's delay as in issue 13's measurements (1 s; its default is 10 s): a row times the
  // transfer, not the wait before it
  const st = new SyncthingCluster(
    mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), 'peerfold-bench-syncthing-')),
    {
      spawn: (i, cmd, args, env) => link.net.spawn(sides[i].ns, cmd, args, { env }),
      forward: async (i, port) => (await link.net.forward(sides[i].ns, '127.0.0.1', port)).port,
      host: (i) => sides[i].address,
    },
    1,
  );
  try {
    const [a, b] = await st.create(['st-sender', 'st-receiver']);
    // only the sender dials: when both dial across a delayed link the crossed attempts repeat in lockstep
    st.configure(a, [b], false, [b]);
    st.configure(b, [a], false, []);
    await st.start(a);
    await st.start(b);
    opts.log(`wan ${c.key}: syncthing across ${linkLabel(c.shape)}, waiting for it to connect`);
    await st.connected(a, b);
    await st.connected(b, a);
    await st.synced(a, b, 0, 200, 120_000);
    const sides: RunSides = {
      tool: 'syncthing',
      base: st.base,
      from: a.folder,
      to: b.folder,
      arrived: async (want) => {
        const s = await status(b);
        return s.state === 'idle' && s.needFiles === 0 && s.localFiles >= want.files && s.localBytes >= want.bytes;
      },
    };
    await runEachDataSet(link, c, sets, opts, sides, row);
  } finally {
    await st.close();
  }
}

export async function benchWan(opts: {
  fromSource: boolean;
  log: (s: string) => void;
  report: (row: WanRow) => void;
}): Promise<WanResults> {
  const loadBefore = loadavg();
  const unavailable = longLinkUnavailable();
  if (unavailable) return { rows: [], loadBefore, loadAfter: loadavg(), skipped: unavailable };
  const sizes = { bigBytes: num('BENCH_WAN_BIG_MB', 256) * MiB, files: num('BENCH_WAN_FILES', 2000) };
  const capMs = num('BENCH_WAN_CAP_S', 240) * 1000;
  const keys = (process.env.BENCH_WAN_ROWS ?? CASES.map((c) => c.key).join(',')).split(',');
  const tools = (process.env.BENCH_WAN_TOOLS ?? 'peerfold,syncthing').split(',') as WanTool[];
  const kinds = (process.env.BENCH_WAN_DATA ?? 'big,small').split(',');
  const stUnavailable = syncthingUnavailable();
  const scratch = benchCluster('peerfold-bench-wan-data-');
  const sets = new Map<WanData, Dataset>();
  const rows: WanRow[] = [];
  try {
    for (const c of CASES.filter((x) => keys.includes(x.key)).map((x) => ({ ...x, data: x.data.filter((d) => kinds.includes(d)) }))) {
      for (const d of c.data) if (!sets.has(d)) sets.set(d, makeData(scratch.base, d, sizes));
      const row: WanRow = { key: c.key, shape: c.shape, runs: [] };
      opts.log(`wan ${c.key}: ${linkLabel(c.shape)}`);
      const link = await openLongLink(c.shape);
      try {
        if (tools.includes('peerfold'))
          await peerfoldRow(link, c, sets, { ...opts, capMs, latencyFiles: num('BENCH_LATENCY_FILES', 20) }, row);
        if (tools.includes('syncthing')) {
          if (stUnavailable) row.skipped = { syncthing: stUnavailable };
          else
            // a Syncthing that fails to start or connect costs its own runs, not the rest of the table
            await syncthingRow(link, c, sets, { capMs, log: opts.log }, row).catch((err: unknown) => {
              opts.log(`wan ${c.key}: syncthing failed: ${(err as Error).message}`);
              row.skipped = { ...row.skipped, syncthing: (err as Error).message.split('\n')[0]! };
            });
        }
      } finally {
        await link.close();
      }
      rows.push(row);
      opts.report(row);
    }
  } finally {
    await scratch.dispose();
  }
  return { rows, loadBefore, loadAfter: loadavg() };
}

const describe = (r: WanRun) =>
  r.seconds === null
    ? `not done after the cap: ${fmt(mb(r.wireBytes))} MB crossed (${fmt(r.MBps, 2)} MB/s)`
    : `${fmt(r.seconds, 1)} s (${fmt(r.MBps, 1)} MB/s)`;

export function printWanRow(row: WanRow): void {
  console.log(`wan: ${linkLabel(row.shape)}`);
  for (const r of row.runs) {
    console.log(
      `  ${r.tool.padEnd(9)} ${r.data === 'big' ? `${fmt(r.bytes / MiB, 0)} MiB file` : `${r.files} files`}: ${describe(r)}${r.transport ? ` (chunks over ${r.transport})` : ''}`,
    );
    if (r.data === 'big') {
      console.log(`    Mbit/s each second: ${r.perSecond.map((x) => fmt(x, 0)).join(' ')}`);
      console.log(`    ${r.collapse ? `COLLAPSE: ${r.collapse}` : 'no collapse (never under half the median after the first 3 s)'}`);
    }
  }
  if (row.latency)
    console.log(
      `  peerfold  write -> arrival: median ${fmt(row.latency.medianMs, 0)} ms (min ${fmt(row.latency.minMs, 0)}, max ${fmt(row.latency.maxMs, 0)})`,
    );
  for (const [tool, why] of Object.entries(row.skipped ?? {})) console.log(`  ${tool}: skipped: ${why}`);
}

/** The table bench/README.md keeps. */
export function printWanTable(w: WanResults): void {
  if (w.skipped) {
    console.log(`wan: skipped: ${w.skipped}`);
    return;
  }
  const fmtLoad = (l: number[]) => l.map((x) => fmt(x, 1)).join(', ');
  console.log(`\nWAN rows (load average before: ${fmtLoad(w.loadBefore)}; after: ${fmtLoad(w.loadAfter)})\n`);
  console.log('| link | data | Syncthing | Peerfold | Peerfold / Syncthing |\n|---|---|---|---|---|');
  for (const row of w.rows) {
    for (const data of ['big', 'small'] as const) {
      const p = row.runs.find((r) => r.tool === 'peerfold' && r.data === data);
      const s = row.runs.find((r) => r.tool === 'syncthing' && r.data === data);
      if (!p && !s) continue;
      const what = data === 'big' ? `one ${fmt((p ?? s)!.bytes / MiB, 0)} MiB file` : `${(p ?? s)!.files} files of 1–16 KiB`;
      const ratio = p && s ? `${fmt(p.MBps / s.MBps, 2)}×` : '—';
      console.log(`| ${linkLabel(row.shape)} | ${what} | ${s ? describe(s) : '—'} | ${p ? describe(p) : '—'} | ${ratio} |`);
    }
  }
  for (const row of w.rows)
    if (row.latency)
      console.log(`\nwrite -> arrival across ${linkLabel(row.shape)}: median ${fmt(row.latency.medianMs, 0)} ms of ${row.latency.files}`);
}
