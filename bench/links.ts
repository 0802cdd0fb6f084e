// Issue 8's link figures, on two real daemons over loopback:
//   reconnect  a device killed with kill -9 and started again: ms from starting its daemon until
//              both devices report the new link (median of 5; the goal is under 5 s)
//   addshare   a share added between two linked devices: ms from `join` to its first file in place
//              on the joiner (median of 5; the goal is under 2 s)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addShare, linkSettled, restart } from '../e2e/link-scenarios.ts';
import { benchCluster, benchDeviceEnv, fmt, median } from './lib.ts';
import { connected } from './sync.ts';

export type LinksPart = 'reconnect' | 'addshare';
export interface LinksFigures {
  rounds: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}
export interface LinksResults {
  reconnect?: LinksFigures;
  addshare?: LinksFigures;
}

export async function benchLinks(
  parts: Set<LinksPart>,
  opts: { fromSource: boolean; rounds: number; log: (s: string) => void },
  report: (part: LinksPart, r: LinksFigures) => void,
): Promise<LinksResults> {
  const c = benchCluster('peerfold-bench-links-');
  const out: LinksResults = {};
  try {
    const env = benchDeviceEnv(opts.fromSource);
    const a = await c.add('steady', env);
    const b = await c.add('restarted', env);
    writeFileSync(join(a.dir, 'hello.txt'), 'hello\n');
    const shareId = await c.shareAmong([a, b]);
    await connected([a, b], shareId);
    await linkSettled(a, b);
    opts.log('links: two devices connected');
    if (parts.has('reconnect')) {
      const samples: number[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        samples.push((await restart(b, a)).ms);
        opts.log(`reconnect ${i + 1}/${opts.rounds}: ${fmt(samples[i]!, 0)} ms`);
      }
      report('reconnect', (out.reconnect = figures(samples)));
    }
    if (parts.has('addshare')) {
      const samples: number[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        const r = await addShare(c, a, b, `added-${i}`);
        if (!r.sameLink) throw new Error(`adding a share changed the link: ${r.linkLog}`);
        samples.push(r.ms);
        opts.log(`addshare ${i + 1}/${opts.rounds}: ${fmt(r.ms, 0)} ms`);
      }
      report('addshare', (out.addshare = figures(samples)));
    }
    return out;
  } catch (err) {
    if (process.env.PEERFOLD_BENCH_LOGS) console.error(c.logs());
    throw err;
  } finally {
    await c.dispose();
  }
}

function figures(samplesMs: number[]): LinksFigures {
  return {
    rounds: samplesMs.length,
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    samplesMs: samplesMs.map((x) => Math.round(x)),
  };
}

export function printLinksPart(part: LinksPart, r: LinksFigures): void {
  const what = part === 'reconnect' ? 'kill -9, restart -> linked again' : 'share added between linked devices -> first file';
  console.log(
    `${what}: median ${fmt(r.medianMs, 0)} ms of ${r.rounds} (min ${fmt(r.minMs, 0)}, max ${fmt(r.maxMs, 0)}; ${r.samplesMs.join(', ')})`,
  );
}
