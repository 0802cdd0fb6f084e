// Issue 10's figures: sync through a TURN relay next to the direct path, on the small internet of
// network namespaces the tests use (e2e/small-internet.ts; needs root, iproute2, iptables, coturn).
//
// Two pairs of daemons run at once: in each, one device sits in a home behind a NAT router and the
// other on the core segment (its address given by hand), with coturn as STUN/TURN server there.
// The home router drops UDP to the second pair's core device, so that pair can only connect
// through the relay, while the first pair connects directly through the NAT. The two pairs are
// measured in turn (direct, relay, direct, relay), so both see the same load.
//   latency   a small file written on the home device until it is in place on the other
//   transfer  a random file from the home device to the other (rate of the pull)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil, type Device } from '../e2e/harness.ts';
import { coturnUnavailable, netnsUnavailable } from '../e2e/netns.ts';
import { SmallInternet } from '../e2e/small-internet.ts';
import { benchCluster, benchDeviceEnv, fmt, mb, median, MiB } from './lib.ts';
import { latency, stage, synced, timeBigFile } from './sync.ts';

export type PathKind = 'direct' | 'relay';

export interface PathFigures {
  /** how `peers` on the home device reports the link */
  via: string;
  /** the peer's address in use, as `peers` shows it */
  address: string;
  /** what carried the chunk data (datachannel, or udx where a direct UDP path exists) */
  transport: string;
  latencyMedianMs: number;
  latencyMaxMs: number;
  latencySamples: number;
  transferMBps: number[];
}

export interface RelayFigures {
  transferBytes: number;
  rounds: number;
  direct: PathFigures;
  relay: PathFigures;
  loadAverage: string;
}

export function relayUnavailable(): string | null {
  return netnsUnavailable() ?? coturnUnavailable();
}

export async function benchRelay(opts: {
  fromSource: boolean;
  transferBytes: number;
  latencyFiles: number;
  rounds: number;
  log: (s: string) => void;
}): Promise<RelayFigures> {
  const si = new SmallInternet();
  const c = benchCluster('peerfold-bench-relay-');
  try {
    const home = si.addHome();
    const turn = await si.startCoturn();
    const env = benchDeviceEnv(opts.fromSource);
    const pairs = {} as Record<PathKind, { a: Device; b: Device; shareId: string; coreAddress: string }>;
    for (const kind of ['direct', 'relay'] as const) {
      const inHome = si.addDevice(home, `${kind}_home`);
      const { ns: onCore, address: coreAddress } = si.addCoreDevice(`${kind}_core`);
      if (kind === 'relay') si.net.dropUdp(home.router, coreAddress);
      const a = await c.add(`${kind}-home`, env, { netns: { net: si.net, ns: inHome.ns } });
      const b = await c.add(`${kind}-core`, env, { netns: { net: si.net, ns: onCore } });
      for (const d of [a, b]) await d.call('setSettings', { stunServers: [turn.stun], turnServers: [turn.turn] });
      writeFileSync(join(a.dir, 'hello.txt'), 'hello\n');
      const { share, codes } = await b.call('share', { path: b.dir });
      await a.call('join', { code: codes.readWrite!, path: a.dir });
      await a.call('addPeer', { share: share.id, address: `${coreAddress}:${(await b.status()).device.listenPort}` });
      pairs[kind] = { a, b, shareId: share.id, coreAddress };
    }
    const figures = {} as Record<PathKind, PathFigures>;
    for (const kind of ['direct', 'relay'] as const) {
      const { a, b, shareId } = pairs[kind];
      const want = kind === 'direct' ? 'manual' : 'relay';
      const peer = await waitUntil(
        `the ${kind} pair to connect (${want})`,
        async () => (await a.call('peers', {})).find((p) => p.connected && p.via === want),
        120_000,
        200,
      );
      await synced(a, b, shareId, 1, 120_000);
      opts.log(`relay: the ${kind} pair is connected, via ${peer.via}, peer at ${peer.address}`);
      figures[kind] = {
        via: peer.via,
        address: peer.address ?? '-',
        transport: peer.transport,
        latencyMedianMs: 0,
        latencyMaxMs: 0,
        latencySamples: 0,
        transferMBps: [],
      };
    }
    const samples: Record<PathKind, number[]> = { direct: [], relay: [] };
    for (let round = 1; round <= opts.rounds; round++) {
      for (const kind of ['direct', 'relay'] as const) {
        const { a, b, shareId } = pairs[kind];
        opts.log(`relay: round ${round}, ${kind}: latency`);
        const l = await latency(a, b, { latencyFiles: opts.latencyFiles, log: () => undefined }, `latency-${round}`);
        samples[kind].push(...l.samplesMs);
        opts.log(`relay: round ${round}, ${kind}: ${opts.transferBytes / MiB} MiB`);
        const files = (await a.share(shareId)).localFiles;
        const name = `transfer-${round}.bin`;
        const t = await timeBigFile(a, b, shareId, name, opts.transferBytes, files + 1, stage(c, a, name, opts.transferBytes));
        figures[kind].transferMBps.push(mb(opts.transferBytes) / t.pullSeconds);
        // the link must not have changed path meanwhile
        const now = (await a.call('peers', {})).find((p) => p.connected);
        if (now?.via !== figures[kind].via) throw new Error(`the ${kind} pair's link changed to ${now?.via ?? 'none'} during the run`);
        figures[kind].transport = now.transport;
      }
    }
    for (const kind of ['direct', 'relay'] as const) {
      figures[kind].latencyMedianMs = median(samples[kind]);
      figures[kind].latencyMaxMs = Math.max(...samples[kind]);
      figures[kind].latencySamples = samples[kind].length;
    }
    return {
      transferBytes: opts.transferBytes,
      rounds: opts.rounds,
      ...figures,
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
  } catch (err) {
    if (process.env.PEERFOLD_BENCH_LOGS) console.error(c.logs());
    throw err;
  } finally {
    await c.dispose();
    await si.close();
  }
}

export function printRelay(r: RelayFigures | { skipped: string }): void {
  if ('skipped' in r) {
    console.log(`relay: skipped: ${r.skipped}`);
    return;
  }
  console.log(`relay: direct through a NAT vs through coturn, network namespaces, ${r.rounds} rounds each, interleaved`);
  for (const kind of ['direct', 'relay'] as const) {
    const x = r[kind];
    console.log(
      `  ${kind.padEnd(7)} (via ${x.via}, ${x.address}, data over ${x.transport})  write -> arrival median ${fmt(x.latencyMedianMs, 0)} ms (max ${fmt(x.latencyMaxMs, 0)}, ${x.latencySamples} files); ` +
        `${fmt(r.transferBytes / MiB, 0)} MiB at ${x.transferMBps.map((v) => fmt(v)).join(', ')} MB/s`,
    );
  }
  console.log(`  load average at the end: ${r.loadAverage}`);
}
