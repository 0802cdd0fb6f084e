// The emulated long link alone (e2e/long-link): how much one TCP connection and a paced UDP stream
// get through the delay line, so that the WAN rows know the line is not their bottleneck.
import { join } from 'node:path';
import { openLongLink, type LinkCounters, type LinkShape, type LongLink } from '../e2e/long-link/long-link.ts';
import { repoRoot } from '../e2e/harness.ts';
import { fmt } from './lib.ts';

const blast = join(repoRoot, 'bench/blast.mjs');

export interface LineRow {
  shape: LinkShape;
  kind: 'tcp' | 'udp';
  /** what the receiver counted */
  mbit: number;
  seconds: number;
  /** the delay line's drops in the data direction */
  queueDrops: number;
  ringDrops: number;
  /** what the delay line delivered in each second of the run (Mbit/s) */
  perSecond: number[];
  /** CPU time the delay line used, as a share of one core */
  lineCpu: number;
}

function run(link: LongLink, side: 'a' | 'b', args: string[]): { done: Promise<string>; listening: Promise<void> } {
  const child = link.net.spawn(link[side].ns, process.execPath, [blast, ...args]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  const listening = new Promise<void>((resolve) =>
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('listening')) resolve();
    }),
  );
  const done = new Promise<string>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`blast ${args[0]} failed (${code}): ${err}`)))),
  );
  return { done, listening: Promise.race([listening, done.then(() => undefined)]) };
}

async function measure(shape: LinkShape, kind: 'tcp' | 'udp', amount: number): Promise<LineRow> {
  const link = await openLongLink(shape);
  try {
    const port = 5201;
    const server = run(
      link,
      'b',
      kind === 'tcp' ? ['tcp-server', link.b.address, String(port)] : ['udp-server', link.b.address, String(port), String(amount)],
    );
    await server.listening;
    const before: LinkCounters = await link.counters();
    const client = run(
      link,
      'a',
      kind === 'tcp'
        ? ['tcp-client', link.b.address, String(port), String(amount)]
        : ['udp-client', link.b.address, String(port), String(shape.rateMbit * 1.1), String(amount)],
    );
    const perSecond: number[] = [];
    let last = before;
    const ticker = setInterval(() => {
      void link.counters().then((c) => {
        perSecond.push(((c.aToB.outBytes - last.aToB.outBytes) * 8) / (c.atMs - last.atMs) / 1e3);
        last = c;
      });
    }, 1000);
    const cpu0 = link.cpuSeconds();
    const t0 = performance.now();
    const result = JSON.parse(await server.done) as { mbit: number; seconds: number };
    const lineCpu = (link.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
    clearInterval(ticker);
    await client.done.catch(() => undefined);
    const after = await link.counters();
    return {
      shape,
      kind,
      mbit: result.mbit,
      seconds: result.seconds,
      queueDrops: after.aToB.queueDrops - before.aToB.queueDrops,
      ringDrops: after.aToB.ringDrops - before.aToB.ringDrops,
      perSecond,
      lineCpu,
    };
  } finally {
    await link.close();
  }
}

/** TCP with 64 MiB buffers (so the window is not the limit), then UDP paced at 110 % of the rate. */
export async function benchLine(log: (s: string) => void, mib = Number(process.env.BENCH_LINE_MB ?? 512)): Promise<LineRow[]> {
  const rows: LineRow[] = [];
  const big = 64 * 2 ** 20;
  for (const shape of [
    { rttMs: 100, rateMbit: 1000, tcpBufferBytes: big },
    { rttMs: 100, rateMbit: 200, tcpBufferBytes: big },
  ]) {
    log(`line: TCP ${mib} MiB across RTT ${shape.rttMs} ms, ${shape.rateMbit} Mbit/s`);
    rows.push(await measure(shape, 'tcp', mib));
    log(`line: UDP 10 s across RTT ${shape.rttMs} ms, ${shape.rateMbit} Mbit/s`);
    rows.push(await measure(shape, 'udp', 10));
  }
  return rows;
}

export function printLine(rows: LineRow[]): void {
  console.log('the emulated long link alone (one TCP connection with 64 MiB buffers; UDP paced at 110 % of the rate)');
  for (const r of rows) {
    console.log(
      `  RTT ${r.shape.rttMs} ms, ${r.shape.rateMbit} Mbit/s, ${r.kind}: ${fmt(r.mbit)} Mbit/s over ${fmt(r.seconds, 1)} s (queue drops ${r.queueDrops}, ring drops ${r.ringDrops}; the line used ${fmt(r.lineCpu * 100, 0)} % of a core)`,
    );
    console.log(`    per second: ${r.perSecond.map((x) => fmt(x, 0)).join(' ')}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printLine(await benchLine((s) => process.stderr.write(`[line] ${s}\n`)));
}
