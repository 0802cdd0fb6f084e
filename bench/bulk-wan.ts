// One big file across the emulated long link (e2e/long-link), chunk data over the WebRTC data
// channel (PEERFOLD_UDX=0) and over udx, interleaved in the same run: the figure behind the second
// transport (main/engine/net/README.md, "Bulk streams over TCP and udx"). Root only (network namespaces).
//
//   node --import tsx bench/bulk-wan.ts [--mb 128] [--rtt 100] [--rate 200] [--loss 0.01] [--rounds 2] [--cap-s 120]
//
// Each run: two daemons on the two ends, a file of --mb MiB renamed into the sender's folder, and
// the time until the receiver has it (at most --cap-s: a data channel under loss may take an hour;
// then the rate is the bytes that arrived by then). Prints one JSON line per run, with the
// receiver's per-second arrival rate, then a summary.
import { randomBytes } from 'node:crypto';
import { renameSync, statSync, writeFileSync } from 'node:fs';
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
const log = (s: string) => process.stderr.write(`[bulk-wan] ${s}\n`);

const why = longLinkUnavailable();
if (why) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}

interface Run {
  mode: 'datachannel' | 'udx';
  transport: string;
  bytes: number;
  seconds: number;
  complete: boolean;
  MBps: number;
  perSecondMBps: number[];
  load: string;
}

async function once(mode: Run['mode']): Promise<Run> {
  const link = await openLongLink({ rttMs, rateMbit, loss, seed: 7 });
  const c = new Cluster('peerfold-bench-bulk-wan-');
  try {
    // TCP off: this compares udx with the data channel across the long link
    const env: Record<string, string> = mode === 'datachannel' ? { PEERFOLD_UDX: '0', PEERFOLD_TCP: '0' } : { PEERFOLD_TCP: '0' };
    const { a, b } = await pairAcross(c, link, ['home', 'office'], env);
    if (mode === 'udx')
      await waitUntil(
        'the udx stream',
        async () => (await b.call('peers', {})).some((p) => p.connected && p.transport === 'udx'),
        30_000,
        200,
      );
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
    const transport = (await b.call('peers', {})).find((p) => p.connected)?.transport ?? 'none';
    return {
      mode,
      transport,
      bytes,
      seconds,
      complete,
      MBps: bytes / 1e6 / seconds,
      perSecondMBps: perSecond.map((x) => Math.round(x * 100) / 100),
      load: (await import('node:os'))
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' '),
    };
  } finally {
    await c.close();
    await link.close();
  }
}

log(`${mb} MiB across RTT ${rttMs} ms, ${rateMbit} Mbit/s, ${loss * 100} % loss; ${rounds} rounds, data channel and udx interleaved`);
const runs: Run[] = [];
for (let r = 0; r < rounds; r++) {
  for (const mode of ['datachannel', 'udx'] as const) {
    const run = await once(mode);
    runs.push(run);
    console.log(JSON.stringify(run));
  }
}
for (const mode of ['datachannel', 'udx'] as const) {
  const mine = runs.filter((r) => r.mode === mode);
  log(
    `${mode}: ${mine.map((r) => `${r.MBps.toFixed(2)} MB/s${r.complete ? '' : ` (${(r.bytes / 1e6).toFixed(1)} MB in the ${capS} s cap)`}`).join(', ')}`,
  );
}
