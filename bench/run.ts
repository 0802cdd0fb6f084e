// npm run bench [-- PART...] [--json] [--from-source]
//   PART: scan (issue 2), raw, latency, transfer, delta, rename, many, sync (= raw latency transfer
//   delta rename many), reconnect, addshare, links (= reconnect addshare; issue 8), syncthing (the
//   same scan and sync parts run by Syncthing, skipped with the reason when it is not installed).
//   scale (issue 11: 10,000 and 100,000 files side by side, Syncthing beside; BENCH_SCALE_FILES=10000,100000,
//   BENCH_SCALE_PROGRAMS=syncthing,peerfold, BENCH_SCALE_CAP_MIN=120, BENCH_SCALE_TOGETHER=1) runs
//   only when named: it takes about 40 minutes here. No PART runs all the others. Syncthing runs the scan and sync parts that were asked for (all of them
//   when only `syncthing` is named). encrypted (issue 9): to a read-write and to an encrypted device,
//   taking turns (BENCH_ENCRYPTED_MB, BENCH_ENCRYPTED_ROUNDS). wan (issue 13: Peerfold and Syncthing
//   across an emulated long link; root needed, skipped with the reason otherwise), line (that
//   link alone). relay (issue 10): direct through a NAT vs through a TURN relay, in network
//   namespaces (skipped with the reason where they or coturn are missing; BENCH_RELAY_MB,
//   BENCH_RELAY_ROUNDS).
// Prints each part's figures as it ends, then one table with Syncthing beside Peerfold and the ratio
// per row; --json prints one JSON line per part instead. Figures live here, never in timed tests:
// the machines are shared and noisy. Sizes can be shrunk for a quick try: BENCH_FILES, BENCH_BIG_MB,
// BENCH_TRANSFER_MB, BENCH_DELTA_MB, BENCH_RENAME_MB, BENCH_SMALL_FILES, BENCH_LATENCY_FILES, and for
// wan BENCH_WAN_* (bench/wan.ts). Every packet stays on loopback or inside the emulated link's
// network namespaces.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../e2e/harness.ts';
import { benchScan, printScan, type ScanFigures } from './scan.ts';
import { benchSync, printSyncPart, type SyncPart, type SyncResults } from './sync.ts';
import { benchSyncthing, printSyncthing, type SyncthingPart, type SyncthingResult } from './syncthing.ts';
import { benchScale, printScale, type ScaleFigures } from './scale.ts';
import { benchLinks, printLinksPart, type LinksPart, type LinksResults } from './links.ts';
import { benchEncrypted, printEncrypted, type EncryptedFigures } from './encrypted.ts';
import { benchWan, printWanRow, printWanTable, type WanResults } from './wan.ts';
import { benchLine, printLine, type LineRow } from './wan-line.ts';
import { benchRelay, printRelay, relayUnavailable, type RelayFigures } from './relay.ts';
import { buildHeadless, closeAllClusters, fmt, freeBytes, GiB, KiB, MiB } from './lib.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const fromSource = args.includes('--from-source');
const named = new Set(args.filter((a) => !a.startsWith('--')));
const syncParts: SyncPart[] = ['latency', 'transfer', 'delta', 'rename', 'many'];
const linksParts: LinksPart[] = ['reconnect', 'addshare'];
const known = new Set([
  'scan',
  'raw',
  'sync',
  'syncthing',
  'links',
  'scale',
  'encrypted',
  'wan',
  'line',
  'relay',
  ...syncParts,
  ...linksParts,
]);
for (const n of named)
  if (!known.has(n)) {
    console.error(`unknown part "${n}"; parts: ${[...known].join(', ')}`);
    process.exit(2);
  }
const want = (part: string) =>
  (named.size === 0 && part !== 'scale') ||
  named.has(part) ||
  (named.has('sync') && (part === 'raw' || (syncParts as string[]).includes(part))) ||
  (named.has('links') && (linksParts as string[]).includes(part));

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const sizes = {
  files: num('BENCH_FILES', 10_000),
  bigBytes: num('BENCH_BIG_MB', 512) * MiB,
  transferBytes: num('BENCH_TRANSFER_MB', 1024) * MiB,
  deltaBytes: num('BENCH_DELTA_MB', 512) * MiB,
  renameBytes: num('BENCH_RENAME_MB', 200) * MiB,
  smallFiles: num('BENCH_SMALL_FILES', 10_000),
  latencyFiles: num('BENCH_LATENCY_FILES', 20),
  linkRounds: num('BENCH_LINK_ROUNDS', 5),
  encryptedBytes: num('BENCH_ENCRYPTED_MB', 256) * MiB,
  encryptedRounds: num('BENCH_ENCRYPTED_ROUNDS', 2),
  relayBytes: num('BENCH_RELAY_MB', 64) * MiB,
  relayRounds: num('BENCH_RELAY_ROUNDS', 2),
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
  syncthing?: SyncthingResult;
  scale?: ScaleFigures[];
  encrypted?: EncryptedFigures;
  wan?: WanResults;
  line?: LineRow[] | { skipped: string };
  relay?: RelayFigures | { skipped: string };
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

if (want('encrypted')) {
  const r = await benchEncrypted({ fromSource, bytes: sizes.encryptedBytes, rounds: sizes.encryptedRounds, log });
  results.encrypted = r;
  emit('encrypted', r, () => printEncrypted(r));
}

if (want('syncthing')) {
  const comparable: SyncthingPart[] = ['scan', ...syncParts];
  const asked = comparable.filter((p) => named.has(p) || (named.has('sync') && p !== 'scan'));
  const parts = new Set(asked.length ? asked : comparable);
  // whatever goes wrong with it is reported, and the other figures still print
  const r = await benchSyncthing({ ...sizes, parts, log }).catch((err: Error) => ({
    skipped: `failed: ${err.message.split('\n')[0]}`,
  }));
  results.syncthing = r;
  emit('syncthing', r, () => printSyncthing(r));
}

if (want('relay')) {
  const why = relayUnavailable();
  const r: RelayFigures | { skipped: string } = why
    ? { skipped: why }
    : await benchRelay({ fromSource, transferBytes: sizes.relayBytes, latencyFiles: sizes.latencyFiles, rounds: sizes.relayRounds, log });
  results.relay = r;
  emit('relay', r, () => printRelay(r));
}

if (want('scale')) {
  const scaleSizes = (process.env.BENCH_SCALE_FILES ?? '10000,100000').split(',').map(Number);
  const programs = new Set((process.env.BENCH_SCALE_PROGRAMS ?? 'syncthing,peerfold').split(',') as ('peerfold' | 'syncthing')[]);
  const r = await benchScale({ sizes: scaleSizes, programs, together: process.env.BENCH_SCALE_TOGETHER === '1', fromSource, log });
  results.scale = r;
  emit('scale', { sizes: r }, () => printScale(r));
}

if (want('line')) {
  const { longLinkUnavailable } = await import('../e2e/long-link/long-link.ts');
  const why = longLinkUnavailable();
  const r = why ? { skipped: why } : await benchLine(log);
  results.line = r;
  emit('line', Array.isArray(r) ? { rows: r } : r, () => ('skipped' in r ? console.log(`line: skipped: ${r.skipped}`) : printLine(r)));
}

if (want('wan')) {
  const r = await benchWan({ fromSource, log, report: (row) => emit('wan-row', row, () => printWanRow(row)) });
  results.wan = r;
  if (!json) printWanTable(r);
  else if (r.skipped) emit('wan', r, () => undefined);
}

if (!json) printTable();
process.exit(0);

type Row = [figure: string, syncthing: string, peerfold: string, ratio: string];

/** A row with a number for each program; the ratio is Peerfold / Syncthing. */
function row(figure: string, st: number | undefined, pf: number | undefined, show: (x: number) => string): Row {
  const ok = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  return [figure, ok(st) ? show(st) : '—', ok(pf) ? show(pf) : '—', ok(st) && ok(pf) && st > 0 ? `${fmt(pf / st, 2)}×` : '—'];
}

function printTable(): void {
  const rows: Row[] = [];
  const { scan, raw, sync, links } = results;
  const st = results.syncthing && !('skipped' in results.syncthing) ? results.syncthing : undefined;
  const GB = 1e9;
  const mbps = (x: number) => `${fmt(x)} MB/s`;
  const mbytes = (x: number) => `${fmt(x, 0)} MB`;
  const kib = (x: number) => `${fmt(x / KiB)} KiB`;
  const secs = (x: number) => `${fmt(x, 1)} s`;
  if (scan || st?.scan) {
    const files = scan?.files ?? st!.scan!.files;
    const data = scan?.dataBytes ?? st!.scan!.dataBytes;
    rows.push(row(`scan, ${files} files / ${fmt(data / 1e6, 0)} MB`, st?.scan?.MBps, scan?.scanMBps, mbps));
    if (scan)
      rows.push([
        'scan / sha256sum (1 process, same data)',
        st?.scan ? `${fmt(st.scan.MBps / scan.sha256sum1MBps, 2)}×` : '—',
        `${fmt(scan.scanMBps / scan.sha256sum1MBps, 2)}× (sha256sum ${fmt(scan.sha256sum1MBps)} MB/s)`,
        '—',
      ]);
    rows.push(
      row(
        'index on disk per file',
        st?.scan && st.scan.dbBytes / st.scan.files,
        scan && scan.dbBytes / scan.files,
        (x) => `${fmt(x, 0)} B`,
      ),
    );
    rows.push(row('peak RSS, scan', st?.scan?.peakRssMB, scan?.peakRssMB, mbytes));
  }
  if (scan) rows.push(['restart on that index', '—', `API ${fmt(scan.restartApiMs, 0)} ms, idle ${fmt(scan.restartIdleMs, 0)} ms`, '—']);
  if (sync?.transfer || st?.transfer) {
    const t = sync?.transfer;
    const bytes = t?.bytes ?? st!.transfer!.bytes;
    rows.push(row(`big file initial sync, ${fmt(bytes / GiB, 2)} GiB`, st?.transfer?.MBps, t?.pullMBps, mbps));
    rows.push(
      row(
        'receiver CPU-seconds per GB, big file',
        st?.transfer && st.transfer.receiverCpuSeconds / (bytes / GB),
        t && t.receiverCpuSeconds / (bytes / GB),
        (x) => `${fmt(x, 2)} s`,
      ),
    );
  }
  if (raw) rows.push(['raw node-datachannel (ceiling of one link)', '—', mbps(raw.MBps), '—']);
  if (sync?.many || st?.many) {
    const m = sync?.many;
    const files = m?.files ?? st!.many!.files;
    const fps = (x: number) => `${fmt(x, 0)} files/s`;
    rows.push(row(`${files} small files written live`, st?.many && files / st.many.liveSeconds, m && m.files / m.liveSeconds, fps));
    rows.push(row('receiver CPU-seconds, those small files', st?.many?.receiverCpuSeconds, m?.receiverCpuSeconds, (x) => `${fmt(x, 2)} s`));
    rows.push(
      row(
        `${files} small files to a new device`,
        st?.many && st.many.joinFiles / st.many.joinSeconds,
        m && m.joinFiles / m.joinSeconds,
        fps,
      ),
    );
    if (m || st?.many)
      rows.push([
        '  (times: live / new device)',
        st?.many ? `${secs(st.many.liveSeconds)} / ${secs(st.many.joinSeconds)}` : '—',
        m ? `${secs(m.liveSeconds)} / ${secs(m.joinSeconds)}` : '—',
        '—',
      ]);
  }
  if (sync?.peakRssMB || st?.peakRssMB)
    rows.push(
      row(
        'peak RSS per daemon, sync parts (the larger of the two)',
        st?.peakRssMB && Math.max(st.peakRssMB.sender, st.peakRssMB.receiver),
        sync?.peakRssMB && Math.max(sync.peakRssMB.sender, sync.peakRssMB.receiver),
        mbytes,
      ),
    );
  if (sync?.latency || st?.latency)
    rows.push(row('write -> arrival, median', st?.latency?.medianMs, sync?.latency?.medianMs, (x) => `${fmt(x, 0)} ms`));
  if (sync?.delta || st?.delta)
    rows.push(
      row(
        `bytes sent, 1-byte insert mid ${fmt((sync?.delta?.fileBytes ?? st!.delta!.fileBytes) / MiB, 0)} MiB`,
        st?.delta?.sentBytes,
        sync?.delta?.sentBytes,
        kib,
      ),
    );
  if (sync?.rename || st?.rename)
    rows.push(
      row(
        `bytes sent, ${fmt((sync?.rename?.fileBytes ?? st!.rename!.fileBytes) / MiB, 0)} MiB rename`,
        st?.rename?.sentBytes,
        sync?.rename?.sentBytes,
        kib,
      ),
    );
  if (links?.reconnect)
    rows.push([
      'kill -9 and restart -> linked again',
      '—',
      `median ${fmt(links.reconnect.medianMs, 0)} ms of ${links.reconnect.rounds}`,
      '—',
    ]);
  if (links?.addshare)
    rows.push([
      'share added between linked devices -> first file',
      '—',
      `median ${fmt(links.addshare.medianMs, 0)} ms of ${links.addshare.rounds}`,
      '—',
    ]);
  if (results.encrypted) {
    const e = results.encrypted;
    rows.push([
      `${fmt(e.bytes / MiB, 0)} MiB to a read-write / an encrypted device`,
      '—',
      `median ${fmt(e.medianReadWriteMBps)} / ${fmt(e.medianEncryptedMBps)} MB/s end to end (${e.rounds} rounds each, taking turns)`,
      '—',
    ]);
  }
  const relay = results.relay;
  if (relay && 'skipped' in relay) rows.push(['direct vs TURN relay (namespaces)', '—', `skipped: ${relay.skipped}`, '—']);
  else if (relay)
    for (const kind of ['direct', 'relay'] as const)
      rows.push([
        `${kind === 'direct' ? 'direct through a NAT' : 'through a TURN relay'} (namespaces)`,
        '—',
        `write -> arrival median ${fmt(relay[kind].latencyMedianMs, 0)} ms; ${fmt(relay.transferBytes / MiB, 0)} MiB over ${relay[kind].transport} at ${relay[kind].transferMBps.map((v) => fmt(v)).join(', ')} MB/s (load ${relay.loadAverage})`,
        '—',
      ]);
  if (results.syncthing && 'skipped' in results.syncthing) rows.push(['syncthing', `skipped: ${results.syncthing.skipped}`, '', '']);
  if (!rows.length) return;
  const version = st ? ` (${st.version})` : '';
  console.log(`\n| figure | Syncthing${version} | Peerfold | Peerfold / Syncthing |\n| --- | --- | --- | --- |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
