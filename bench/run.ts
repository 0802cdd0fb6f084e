// npm run bench [-- PART...] [--json] [--from-source]
//   PART: scan (issue 2), raw, latency, transfer, delta, many, sync (= raw latency transfer delta
//   many), reconnect, addshare, links (= reconnect addshare; issue 8), syncthing (a reference;
//   skipped with the reason when it is not installed). No PART runs them all.
// Prints each part's figures as it ends, then one table of them all; --json prints one JSON line per
// part instead. Figures live here, never in timed tests: the machines are shared and noisy.
// Sizes can be shrunk for a quick try: BENCH_FILES, BENCH_BIG_MB, BENCH_TRANSFER_MB, BENCH_DELTA_MB,
// BENCH_SMALL_FILES, BENCH_LATENCY_FILES. Every packet stays on loopback.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../e2e/harness.ts';
import { benchScan, printScan, type ScanFigures } from './scan.ts';
import { benchSync, printSyncPart, type SyncPart, type SyncResults } from './sync.ts';
import { benchSyncthing, printSyncthing, type SyncthingFigures } from './syncthing.ts';
import { benchLinks, printLinksPart, type LinksPart, type LinksResults } from './links.ts';
import { buildHeadless, closeAllClusters, fmt, freeBytes, GiB, KiB, MiB } from './lib.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const fromSource = args.includes('--from-source');
const named = new Set(args.filter((a) => !a.startsWith('--')));
const syncParts: SyncPart[] = ['latency', 'transfer', 'delta', 'many'];
const linksParts: LinksPart[] = ['reconnect', 'addshare'];
const known = new Set(['scan', 'raw', 'sync', 'syncthing', 'links', ...syncParts, ...linksParts]);
for (const n of named)
  if (!known.has(n)) {
    console.error(`unknown part "${n}"; parts: ${[...known].join(', ')}`);
    process.exit(2);
  }
const want = (part: string) =>
  named.size === 0 ||
  named.has(part) ||
  (named.has('sync') && (part === 'raw' || (syncParts as string[]).includes(part))) ||
  (named.has('links') && (linksParts as string[]).includes(part));

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const sizes = {
  files: num('BENCH_FILES', 10_000),
  bigBytes: num('BENCH_BIG_MB', 512) * MiB,
  transferBytes: num('BENCH_TRANSFER_MB', 1024) * MiB,
  deltaBytes: num('BENCH_DELTA_MB', 512) * MiB,
  smallFiles: num('BENCH_SMALL_FILES', 10_000),
  latencyFiles: num('BENCH_LATENCY_FILES', 20),
  linkRounds: num('BENCH_LINK_ROUNDS', 5),
};
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const emit = (bench: string, r: object, print: () => void) => (json ? console.log(JSON.stringify({ bench, ...r })) : print());

interface RawFigures {
  bytes: number;
  MBps: number;
  results: { messageBytes: number; MBps: number }[];
}
const results: {
  scan?: ScanFigures;
  raw?: RawFigures;
  sync?: SyncResults;
  links?: LinksResults;
  syncthing?: SyncthingFigures | { skipped: string };
} = {};

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the daemons and deleting the benchmark's data`);
    void closeAllClusters().finally(() => process.exit(130));
  });
}

const free = freeBytes(process.env.PEERFOLD_E2E_DIR ?? tmpdir());
if (free < 6 * GiB) log(`only ${fmt(free / GiB)} GiB free in the temp folder; the full run needs about 5 GiB`);
if (!fromSource) {
  log('building dist/headless (the daemons run the bundle; --from-source runs the TypeScript)');
  buildHeadless();
}

if (want('scan')) {
  const r = await benchScan({ files: sizes.files, bigBytes: sizes.bigBytes, fromSource, log });
  results.scan = r;
  emit('scan', r, () => printScan(r));
}

if (want('raw')) {
  log(`raw: node-datachannel, ${sizes.transferBytes / MiB} MiB between two processes`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench/raw-datachannel.ts'), '--bytes', String(sizes.transferBytes)],
    { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, PEERFOLD_BIND_ADDRESS: '127.0.0.1' } },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`raw-datachannel failed: ${r.stderr || r.stdout}`);
  const raw = JSON.parse(line) as RawFigures;
  results.raw = raw;
  emit('raw-datachannel', raw, () => {
    console.log(`raw node-datachannel: ${fmt(raw.bytes / GiB, 2)} GiB, two processes, one channel, loopback`);
    for (const x of raw.results) console.log(`  ${String(x.messageBytes / KiB).padStart(3)} KiB messages       ${fmt(x.MBps)} MB/s`);
  });
}

const parts = new Set(syncParts.filter(want));
if (parts.size) {
  results.sync = await benchSync(parts, { fromSource, log, ...sizes }, (part, r) => emit(part, r, () => printSyncPart(part, r)));
}

const lparts = new Set(linksParts.filter(want));
if (lparts.size) {
  results.links = await benchLinks(lparts, { fromSource, rounds: sizes.linkRounds, log }, (part, r) =>
    emit(part, r, () => printLinksPart(part, r)),
  );
}

if (want('syncthing')) {
  // a reference only: whatever goes wrong with it is reported, and the other figures still print
  const r = await benchSyncthing({ bytes: sizes.transferBytes, log }).catch((err: Error) => ({
    skipped: `failed: ${err.message.split('\n')[0]}`,
  }));
  results.syncthing = r;
  emit('syncthing', r, () => printSyncthing(r));
}

if (!json) printTable();
process.exit(0);

function printTable(): void {
  const rows: [string, string][] = [];
  const { scan, raw, sync, syncthing } = results;
  if (scan) {
    rows.push([
      `scan, ${scan.files} files / ${fmt(scan.dataBytes / 1e6, 0)} MB`,
      `${fmt(scan.scanMBps)} MB/s (sha256sum: ${fmt(scan.sha256sum1MBps)} MB/s 1 process, ${fmt(scan.sha256sum2MBps)} MB/s 2 processes)`,
    ]);
    rows.push(['database size', `${fmt(scan.dbBytes / 1e6, 2)} MB = ${fmt(scan.dbPercentOfData, 2)}% of the data`]);
    rows.push(['daemon peak RSS (scan)', `${fmt(scan.peakRssMB, 0)} MB`]);
    rows.push(['restart on that index', `API answers in ${fmt(scan.restartApiMs, 0)} ms, idle in ${fmt(scan.restartIdleMs, 0)} ms`]);
  }
  if (sync?.transfer || raw) {
    const t = sync?.transfer;
    rows.push([
      `transfer, ${fmt((t?.bytes ?? raw!.bytes) / GiB, 2)} GiB`,
      [
        t && `${fmt(t.pullMBps)} MB/s peerfold (${fmt(t.endToEndSeconds, 1)} s end to end with the scan)`,
        raw && `${fmt(raw.MBps)} MB/s raw node-datachannel`,
      ]
        .filter(Boolean)
        .join('; '),
    ]);
  }
  if (syncthing)
    rows.push([
      'transfer, syncthing (reference)',
      'skipped' in syncthing ? `skipped: ${syncthing.skipped}` : `${fmt(syncthing.MBps)} MB/s (${syncthing.version})`,
    ]);
  if (sync?.latency)
    rows.push([
      `write -> arrival, ${sync.latency.files} files`,
      `median ${fmt(sync.latency.medianMs, 0)} ms (max ${fmt(sync.latency.maxMs, 0)} ms)`,
    ]);
  if (sync?.delta) rows.push([`1-byte insert in ${fmt(sync.delta.fileBytes / MiB, 0)} MiB`, `${fmt(sync.delta.sentBytes / KiB)} KiB sent`]);
  if (sync?.many) {
    rows.push([
      `${sync.many.files} small files, written live`,
      `${fmt(sync.many.liveSeconds, 1)} s (${fmt(sync.many.afterLastWriteSeconds, 1)} s after the last write)`,
    ]);
    rows.push([`${sync.many.joinFiles} files to a new device`, `${fmt(sync.many.joinSeconds, 1)} s`]);
  }
  if (results.links?.reconnect)
    rows.push([
      'kill -9 and restart -> linked again',
      `median ${fmt(results.links.reconnect.medianMs, 0)} ms of ${results.links.reconnect.rounds}`,
    ]);
  if (results.links?.addshare)
    rows.push([
      'share added between linked devices -> first file',
      `median ${fmt(results.links.addshare.medianMs, 0)} ms of ${results.links.addshare.rounds}`,
    ]);
  if (!rows.length) return;
  console.log('\n| figure | value |\n| --- | --- |');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}
