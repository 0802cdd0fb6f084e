// Issue 11's scale part: the same scenario at several sizes (default 10,000 and 100,000 small
// files), printed side by side with Syncthing beside Peerfold, so that growth that is not linear
// shows. For each size and program: one device scans and indexes the tree, then a new device joins
// and gets all of it. Syncthing runs first at each size (minutes where Peerfold takes longer), so a
// run cut short still has both programs' figures for the sizes it finished.
//   BENCH_SCALE_FILES=10000,100000        the sizes (files of 1-16 KiB, 100 per folder)
//   BENCH_SCALE_PROGRAMS=syncthing,peerfold  which programs (both by default; syncthing is skipped
//                                          with the reason when it is not installed)
//   BENCH_SCALE_CAP_MIN=120                 the longest a scan or a new device may take (per program
//                                          and size): past it the row says how far it got, and the
//                                          run goes on
//   BENCH_SCALE_TOGETHER=1                  both programs at once at each size (the same minutes and
//                                          load for both, on a machine whose load moves a lot)
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, type Device } from '../e2e/harness.ts';
import { benchCluster, benchDeviceEnv, cpuSecondsOf, dirBytes, fmt, KiB, mb, now, peakRssOf } from './lib.ts';
import { api, pidOf, status, SyncthingCluster, type Instance } from './syncthing.ts';

/** One program's figures at one size. */
export interface ProgramScale {
  scanSeconds: number;
  /** a new device joins and gets everything */
  syncSeconds: number;
  /** set when the scan or the new device was cut at the cap: how far it got (its seconds are the cap) */
  capped?: string;
  sourcePeakRssMB: number;
  receiverPeakRssMB: number;
  /** resident memory once idle (hash workers gone) minus the same daemon's before it shared anything, per file */
  sourceBytesPerFile: number;
  receiverBytesPerFile: number;
  /** the source's index after a clean stop (its own entries and the receiver's), per file */
  indexBytesPerFile: number;
  /**
   * CPU-seconds (user + system, every thread) of the source during its scan, and of the source and
   * the receiver while the new device got everything: on a loaded machine these say more than
   * wall time (the same work, whatever share of the cores the daemon got)
   */
  scanCpuSeconds?: number;
  syncCpuSeconds?: [source: number, receiver: number];
  /** seconds from the join until the new device held its first file (it makes folders first) */
  firstFileSeconds?: number;
}

export interface ScaleFigures {
  files: number;
  dataBytes: number;
  peerfold?: ProgramScale;
  syncthing?: ProgramScale | { skipped: string };
  /** 1-minute load average, lowest and highest sampled while this size ran */
  load: [number, number];
}

/** Resident memory now (VmRSS), bytes. */
function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
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

/** The longest one phase (a scan, a new device) may take before the row says how far it got. */
const CAP_MS = Number(process.env.BENCH_SCALE_CAP_MIN ?? 120) * 60_000;

/**
 * Polls `progress` until it says done, logging where it stands every minute (a run cut short
 * still says how far it got). At the cap it stops waiting: null when done, else where it stood.
 */
async function until(
  what: string,
  log: (s: string) => void,
  progress: () => Promise<{ done: boolean; said: string }>,
): Promise<string | null> {
  const t0 = now();
  let lastLog = t0;
  let said = '';
  for (;;) {
    const p = await progress().catch((err: Error) => ({ done: false, said: `status failed: ${err.message}` }));
    if (p.done) return null;
    said = p.said;
    if (now() - t0 > CAP_MS) {
      log(`scale: gave up waiting for ${what} at the cap: ${said} after ${fmt((now() - t0) / 1000, 0)} s (load ${fmt(loadavg()[0]!)})`);
      return `${said} after ${fmt((now() - t0) / 1000, 0)} s (cap)`;
    }
    if (now() - lastLog > 60_000) {
      lastLog = now();
      log(`scale: waiting for ${what}: ${said} after ${fmt((lastLog - t0) / 1000, 0)} s (load ${fmt(loadavg()[0]!)})`);
    }
    await sleep(1000); // status reads the index: polling fast would slow what is measured
  }
}

/** Waits for idle with at least `files` local files; `sawFiles` hears each count polled. */
function settled(
  d: Device,
  shareId: string,
  files: number,
  log: (s: string) => void,
  sawFiles?: (n: number) => void,
): Promise<string | null> {
  return until(`${d.name} to hold ${files} files`, log, async () => {
    const s = await d.share(shareId);
    sawFiles?.(s.localFiles);
    return {
      done: s.state === 'idle' && s.lastScanAt !== null && s.localFiles >= files && !s.needFiles && !s.pulling.length,
      said: `${s.localFiles} files, ${s.state}`,
    };
  });
}

async function peerfoldAt(
  files: number,
  fromSource: boolean,
  log: (s: string) => void,
): Promise<{ dataBytes: number; figures: ProgramScale }> {
  const c = benchCluster(`peerfold-bench-scale-${files}-`);
  try {
    const env = benchDeviceEnv(fromSource);
    const a = await c.add('source', env);
    const b = await c.add('receiver', env);
    log(`scale/peerfold: ${files} files`);
    const dataBytes = makeSmallFiles(a.dir, files);
    await sleep(3000); // both daemons idle and settled before the baseline
    const idle = [rssOf(a.proc?.pid), rssOf(b.proc?.pid)];
    const cpu = () => [cpuSecondsOf(a.proc?.pid), cpuSecondsOf(b.proc?.pid)] as const;
    const cpu0 = cpu();
    const t0 = now();
    const { share } = await a.call('share', { path: a.dir });
    let capped = await settled(a, share.id, files, log);
    const scanSeconds = (now() - t0) / 1000;
    const cpu1 = cpu();
    log(
      `scale/peerfold: ${files} files scanned in ${fmt(scanSeconds, 1)} s (${fmt(cpu1[0] - cpu0[0], 1)} CPU-s, load ${fmt(loadavg()[0]!)}); a new device joins`,
    );
    const code = (await a.call('codes', { share: share.id })).readWrite!;
    const t1 = now();
    let firstFileSeconds: number | undefined;
    await b.call('join', { code, path: b.dir });
    capped ??= await settled(b, share.id, files, log, (n) => {
      if (n > 0) firstFileSeconds ??= (now() - t1) / 1000;
    });
    const syncSeconds = (now() - t1) / 1000;
    const cpu2 = cpu();
    log(
      `scale/peerfold: ${files} files synced in ${fmt(syncSeconds, 1)} s (first file after ${fmt(firstFileSeconds ?? Number.NaN, 1)} s; ` +
        `CPU-s source ${fmt(cpu2[0] - cpu1[0], 1)}, receiver ${fmt(cpu2[1] - cpu1[1], 1)}; load ${fmt(loadavg()[0]!)}); waiting for the hash workers to exit`,
    );
    await sleep(35_000);
    const figures: ProgramScale = {
      scanSeconds,
      syncSeconds,
      ...(capped ? { capped } : {}),
      sourceBytesPerFile: (rssOf(a.proc?.pid) - idle[0]!) / files,
      receiverBytesPerFile: (rssOf(b.proc?.pid) - idle[1]!) / files,
      sourcePeakRssMB: peakRssOf(a.proc?.pid) / 1e6,
      receiverPeakRssMB: peakRssOf(b.proc?.pid) / 1e6,
      indexBytesPerFile: 0,
      scanCpuSeconds: cpu1[0] - cpu0[0],
      syncCpuSeconds: [cpu2[0] - cpu1[0], cpu2[1] - cpu1[1]],
      ...(firstFileSeconds !== undefined ? { firstFileSeconds } : {}),
    };
    await a.stop();
    figures.indexBytesPerFile = dirBytes(join(a.home, 'index')) / files;
    return { dataBytes, figures };
  } finally {
    await c.dispose();
  }
}

/** The same scenario for Syncthing: both instances start with the folder paused (the idle baseline), then each unpauses it in turn. */
async function syncthingAt(files: number, log: (s: string) => void): Promise<ProgramScale> {
  const c = new SyncthingCluster(mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), `peerfold-bench-scale-st-${files}-`)));
  try {
    const [a, b] = (await c.create(['st-source', 'st-receiver'])) as [Instance, Instance];
    log(`scale/syncthing: ${files} files`);
    makeSmallFiles(a.folder, files);
    c.configure(a, [b], true);
    c.configure(b, [a], true);
    await c.start(a);
    await c.start(b);
    await c.connected(a, b);
    await sleep(3000);
    const idle = [rssOf(pidOf(a)), rssOf(pidOf(b))];
    const cpu = () => [cpuSecondsOf(pidOf(a)), cpuSecondsOf(pidOf(b))] as const;
    const cpu0 = cpu();
    const unpause = (i: Instance) => api(i, '/rest/config/folders/bench', { method: 'PATCH', body: JSON.stringify({ paused: false }) });
    const t0 = now();
    await unpause(a);
    let capped = await until(`st-source to hold ${files} files`, log, async () => {
      const s = await status(a);
      return { done: s.state === 'idle' && s.localFiles >= files, said: `${s.localFiles} files, ${s.state}` };
    });
    const scanSeconds = (now() - t0) / 1000;
    const cpu1 = cpu();
    log(
      `scale/syncthing: ${files} files scanned in ${fmt(scanSeconds, 1)} s (${fmt(cpu1[0] - cpu0[0], 1)} CPU-s, load ${fmt(loadavg()[0]!)}); a new device joins`,
    );
    const t1 = now();
    let firstFileSeconds: number | undefined;
    await unpause(b);
    capped ??= await until(`st-receiver to hold ${files} files`, log, async () => {
      const [sa, sb] = [await status(a), await status(b)];
      if (sb.localFiles > 0) firstFileSeconds ??= (now() - t1) / 1000;
      return {
        done: sa.state === 'idle' && sb.state === 'idle' && !sb.needFiles && sb.localFiles >= files,
        said: `${sb.localFiles} files, ${sb.state}`,
      };
    });
    const syncSeconds = (now() - t1) / 1000;
    const cpu2 = cpu();
    log(
      `scale/syncthing: ${files} files synced in ${fmt(syncSeconds, 1)} s (first file after ${fmt(firstFileSeconds ?? Number.NaN, 1)} s; ` +
        `CPU-s source ${fmt(cpu2[0] - cpu1[0], 1)}, receiver ${fmt(cpu2[1] - cpu1[1], 1)}; load ${fmt(loadavg()[0]!)}); 35 s idle before reading memory`,
    );
    await sleep(35_000);
    const figures: ProgramScale = {
      scanSeconds,
      syncSeconds,
      ...(capped ? { capped } : {}),
      sourceBytesPerFile: (rssOf(pidOf(a)) - idle[0]!) / files,
      receiverBytesPerFile: (rssOf(pidOf(b)) - idle[1]!) / files,
      sourcePeakRssMB: peakRssOf(pidOf(a)) / 1e6,
      receiverPeakRssMB: peakRssOf(pidOf(b)) / 1e6,
      indexBytesPerFile: 0,
      scanCpuSeconds: cpu1[0] - cpu0[0],
      syncCpuSeconds: [cpu2[0] - cpu1[0], cpu2[1] - cpu1[1]],
      ...(firstFileSeconds !== undefined ? { firstFileSeconds } : {}),
    };
    await c.stop(a);
    figures.indexBytesPerFile =
      readdirSync(a.home)
        .filter((f) => f.startsWith('index-'))
        .reduce((n, f) => n + dirBytes(join(a.home, f)), 0) / files;
    return figures;
  } finally {
    await c.close();
  }
}

function logFigures(who: string, files: number, f: ProgramScale, log: (s: string) => void): void {
  log(
    `scale/${who}: ${files} files: scan ${fmt(f.scanSeconds, 1)} s, new device ${fmt(f.syncSeconds, 1)} s, ` +
      `peak RSS ${fmt(f.sourcePeakRssMB, 0)} / ${fmt(f.receiverPeakRssMB, 0)} MB, ` +
      `beyond idle ${fmt(f.sourceBytesPerFile, 0)} / ${fmt(f.receiverBytesPerFile, 0)} B per file, index ${fmt(f.indexBytesPerFile, 0)} B per file, ` +
      `CPU-s scan ${fmt(f.scanCpuSeconds ?? Number.NaN, 1)}, new device ${fmt(f.syncCpuSeconds?.[0] ?? Number.NaN, 1)} / ${fmt(f.syncCpuSeconds?.[1] ?? Number.NaN, 1)}` +
      (f.capped ? `; not done: ${f.capped}` : ''),
  );
}

export async function benchScale(opts: {
  sizes: number[];
  programs: Set<'peerfold' | 'syncthing'>;
  /** both programs at once at each size */
  together?: boolean;
  fromSource: boolean;
  log: (s: string) => void;
}): Promise<ScaleFigures[]> {
  const out: ScaleFigures[] = [];
  const v = spawnSync('syncthing', ['--version'], { encoding: 'utf8' });
  const noSyncthing = v.error || v.status !== 0 ? 'syncthing is not installed (flock /tmp/apt.lock apt-get install -y syncthing)' : null;
  for (const files of opts.sizes) {
    const load: [number, number] = [loadavg()[0]!, loadavg()[0]!];
    const sampler = setInterval(() => {
      const l = loadavg()[0]!;
      load[0] = Math.min(load[0], l);
      load[1] = Math.max(load[1], l);
    }, 10_000);
    const row: ScaleFigures = { files, dataBytes: 0, load };
    const syncthing = async () => {
      if (noSyncthing) row.syncthing = { skipped: noSyncthing };
      else {
        // whatever goes wrong with it is reported, and Peerfold's figures still come
        row.syncthing = await syncthingAt(files, opts.log).catch((err: Error) => ({ skipped: `failed: ${err.message.split('\n')[0]}` }));
        if (!('skipped' in row.syncthing)) logFigures('syncthing', files, row.syncthing, opts.log);
        else opts.log(`scale/syncthing: ${row.syncthing.skipped}`);
      }
    };
    const peerfold = async () => {
      const r = await peerfoldAt(files, opts.fromSource, opts.log);
      row.dataBytes = r.dataBytes;
      row.peerfold = r.figures;
      // each size's figures as soon as they are known: a long run cut short still leaves them
      logFigures('peerfold', files, r.figures, opts.log);
    };
    const runs = [...(opts.programs.has('syncthing') ? [syncthing] : []), ...(opts.programs.has('peerfold') ? [peerfold] : [])];
    try {
      if (opts.together) await Promise.all(runs.map((run) => run()));
      else for (const run of runs) await run();
    } finally {
      clearInterval(sampler);
    }
    opts.log(`scale: ${files} files done, load average ${fmt(load[0])}-${fmt(load[1])}`);
    out.push(row);
  }
  return out;
}

type Col = [name: string, show: (f: ProgramScale, files: number) => string, total?: (f: ProgramScale, files: number) => number];

export function printScale(rows: ScaleFigures[]): void {
  const cols: Col[] = [
    ['scan + index', (f, n) => `${fmt(f.scanSeconds, 1)} s (${fmt(n / f.scanSeconds, 0)} files/s)`, (f) => f.scanSeconds],
    [
      'to a new device',
      (f, n) => (f.capped ? `not done: ${f.capped}` : `${fmt(f.syncSeconds, 1)} s (${fmt(n / f.syncSeconds, 0)} files/s)`),
      (f) => (f.capped ? Number.NaN : f.syncSeconds),
    ],
    [
      'first file on the new device',
      (f) => (f.firstFileSeconds === undefined ? '—' : `${fmt(f.firstFileSeconds, 1)} s`),
      (f) => f.firstFileSeconds ?? Number.NaN,
    ],
    [
      'CPU-s of the scan',
      (f) => (f.scanCpuSeconds === undefined ? '—' : `${fmt(f.scanCpuSeconds, 1)} s`),
      (f) => f.scanCpuSeconds ?? Number.NaN,
    ],
    [
      'CPU-s to a new device, source / receiver',
      (f) => (f.syncCpuSeconds ? `${fmt(f.syncCpuSeconds[0], 1)} / ${fmt(f.syncCpuSeconds[1], 1)} s` : '—'),
      (f) => (f.syncCpuSeconds ? f.syncCpuSeconds[0] + f.syncCpuSeconds[1] : Number.NaN),
    ],
    ['peak RSS source / receiver', (f) => `${fmt(f.sourcePeakRssMB, 0)} / ${fmt(f.receiverPeakRssMB, 0)} MB`, (f) => f.receiverPeakRssMB],
    [
      'resident beyond idle per file, source / receiver',
      (f) => `${fmt(f.sourceBytesPerFile, 0)} / ${fmt(f.receiverBytesPerFile, 0)} B`,
      (f, n) => f.receiverBytesPerFile * n,
    ],
    ['index on disk per file (source, both devices)', (f) => `${fmt(f.indexBytesPerFile, 0)} B`, (f, n) => f.indexBytesPerFile * n],
  ];
  const programs = [
    ['Peerfold', (r: ScaleFigures) => r.peerfold],
    ['Syncthing', (r: ScaleFigures) => (r.syncthing && !('skipped' in r.syncthing) ? r.syncthing : undefined)],
  ] as const;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const growth = rows.length > 1 && first && last;
  const header = [
    'figure',
    ...rows.flatMap((r) => programs.map(([p]) => `${p}, ${r.files} files`)),
    ...(growth ? programs.map(([p]) => `${p} growth ${last.files}/${first.files} (×${fmt(last.files / first.files, 1)} files)`) : []),
  ];
  console.log(`scale: the same scenario at ${rows.map((r) => r.files).join(' and ')} files, Syncthing beside Peerfold`);
  for (const r of rows) if (r.syncthing && 'skipped' in r.syncthing) console.log(`  syncthing at ${r.files} files: ${r.syncthing.skipped}`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const [name, show, total] of cols) {
    const cells = rows.flatMap((r) => programs.map(([, get]) => (get(r) ? show(get(r)!, r.files) : '—')));
    const ratios = growth
      ? programs.map(([, get]) => {
          const [a, b] = [get(first), get(last)];
          return a && b && total ? `${fmt(total(b, last.files) / total(a, first.files), 1)}×` : '—';
        })
      : [];
    console.log(`| ${name} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  console.log(`| data | ${rows.flatMap((r) => programs.map(() => `${fmt(mb(r.dataBytes), 0)} MB`)).join(' | ')} |`);
  console.log(
    `| load average (1 min, lowest-highest) | ${rows.flatMap((r) => programs.map(() => `${fmt(r.load[0])}-${fmt(r.load[1])}`)).join(' | ')} |`,
  );
}
