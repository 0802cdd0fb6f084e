// One big file across the emulated long link (e2e/long-link), chunk data over the carriers named
// by --modes, interleaved in the same run: the figure behind the second transport and the TCP
// stripes (main/engine/net/README.md, "Bulk streams over TCP and udx"). Root only (network namespaces).
//
//   node --import tsx bench/bulk-wan.ts [--mb 128] [--rtt 100] [--rate 200] [--loss 0.01] [--rounds 2] [--cap-s 120]
//        [--modes datachannel,udx]   (also: tcp = TCP, stream count chosen from the path; tcp1..tcp4 = that many)
//
// Each run: two daemons on the two ends, a file of --mb MiB renamed into the sender's folder, and
// the time until the receiver has it (at most --cap-s: a data channel under loss may take an hour;
// then the rate is the bytes that arrived by then). Prints one JSON line per run, with the
// receiver's per-second arrival rate, then a summary.
import { randomBytes } from 'node:crypto';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Cluster, sleep, waitUntil } from '../e2e/harness.ts';
import { longLinkUnavailable, openLongLink } from '../e2e/long-link/long-link.ts';
import { pairAcross } from '../e2e/long-link/ns-device.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const mb = arg('mb', 128);
const rttMs = arg('rtt', 100);
const rateMbit = arg('rate', 200);
const loss = arg('loss', 0.01);
const rounds = arg('rounds', 2);
const capS = arg('cap-s', 120);
const modesAt = process.argv.indexOf('--modes');
const modes = (modesAt > 0 ? process.argv[modesAt + 1]! : 'datachannel,udx').split(',') as Mode[];

/** What carries the chunks: the data channel, udx, or TCP (chosen count of streams, or 1-4). */
type Mode = 'datachannel' | 'udx' | 'tcp' | 'tcp1' | 'tcp2' | 'tcp3' | 'tcp4';

function envOf(mode: Mode): Record<string, string> {
  if (mode === 'datachannel') return { PEERFOLD_UDX: '0', PEERFOLD_TCP: '0' };
  if (mode === 'udx') return { PEERFOLD_TCP: '0' };
  if (mode === 'tcp') return { PEERFOLD_UDX: '0' };
  if (/^tcp[1-4]$/.test(mode)) return { PEERFOLD_UDX: '0', PEERFOLD_TCP_STREAMS: mode.slice(3) };
  throw new Error(`unknown mode ${mode}`);
}
const log = (s: string) => process.stderr.write(`[bulk-wan] ${s}\n`);

const why = longLinkUnavailable();
if (why) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}

interface Run {
  mode: Mode;
  transport: string;
  bytes: number;
  seconds: number;
  complete: boolean;
  MBps: number;
  perSecondMBps: number[];
  /** load average (1, 5, 15 min) at the start and at the end of the run */
  loadStart: string;
  load: string;
}

const loadNow = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function once(mode: Run['mode']): Promise<Run> {
  const loadStart = loadNow();
  const link = await openLongLink({ rttMs, rateMbit, loss, seed: 7 });
  const c = new Cluster('peerfold-bench-bulk-wan-');
  try {
    const { a, b } = await pairAcross(c, link, ['home', 'office'], envOf(mode));
    const want = mode === 'datachannel' ? null : mode === 'udx' ? 'udx' : 'tcp';
    if (want)
      await waitUntil(
        `the ${want} stream`,
        async () => (await b.call('peers', {})).some((p) => p.connected && p.transport === want),
        30_000,
        200,
      );
    // stripes are dialed once the first stream is up: a second for them to bind
    if (want === 'tcp') await sleep(2000);
    const data = randomBytes(mb * 1024 * 1024);
    const staging = join(c.base, 'staging.bin');
    writeFileSync(staging, data);
    const inBytes = async () => (await b.call('peers', {})).reduce((n, p) => n + p.inBytes, 0);
    const start = await inBytes();
    const t0 = Date.now();
    renameSync(staging, join(a.dir, 'big.bin'));
    const perSecond: number[] = [];
    let last = start;
    let complete = false;
    while ((Date.now() - t0) / 1000 < capS) {
      await sleep(1000);
      const now = await inBytes();
      perSecond.push((now - last) / 1e6);
      last = now;
      try {
        if (statSync(join(b.dir, 'big.bin')).size === data.length) {
          complete = true;
          break;
        }
      } catch {
        // not there yet
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const bytes = complete ? data.length : last - start;
    const peer = (await b.call('peers', {})).find((p) => p.connected);
    const transport = peer ? `${peer.transport}${(peer.streams ?? 1) > 1 ? ` x${peer.streams}` : ''}` : 'none';
    return {
      mode,
      transport,
      bytes,
      seconds,
      complete,
      MBps: bytes / 1e6 / seconds,
      perSecondMBps: perSecond.map((x) => Math.round(x * 100) / 100),
      loadStart,
      load: loadNow(),
    };
  } finally {
    await c.close();
    await link.close();
  }
}

log(`${mb} MiB across RTT ${rttMs} ms, ${rateMbit} Mbit/s, ${loss * 100} % loss; ${rounds} rounds, ${modes.join(', ')} interleaved`);
const runs: Run[] = [];
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    const run = await once(mode);
    runs.push(run);
    console.log(JSON.stringify(run));
  }
}
for (const mode of modes) {
  const mine = runs.filter((r) => r.mode === mode);
  log(
    `${mode}: ${mine.map((r) => `${r.MBps.toFixed(2)} MB/s${r.complete ? '' : ` (${(r.bytes / 1e6).toFixed(1)} MB in the ${capS} s cap)`}`).join(', ')}`,
  );
}
