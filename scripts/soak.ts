// npm run soak -- links [--rounds N] [--from-source]
// Runs issue 8's link scenario N times in a row (default 20) on two real daemons over loopback,
// printing each round's result and "N/20 passed" at the end; exits 1 if any round failed.
// One round: add a share between the linked devices (its first file must arrive, on the same
// link), pause another share in the middle of a transfer (the link stays, the transfer goes on
// and completes intact), then kill -9 one side (alternating) and restart it (linked again, never
// refused as a duplicate), and check a new file still syncs both ways.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addShare, linkSettled, pauseMidTransfer, restart } from '../e2e/link-scenarios.ts';
import { waitUntil, type Device } from '../e2e/harness.ts';
import { benchCluster, benchDeviceEnv, buildHeadless, closeAllClusters, fmt } from '../bench/lib.ts';
import { connected } from '../bench/sync.ts';

const args = process.argv.slice(2);
const scenario = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'links';
if (scenario !== 'links') {
  console.error(`unknown soak scenario "${scenario}"; scenarios: links`);
  process.exit(2);
}
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 20;
const fromSource = args.includes('--from-source');
const log = (s: string) => process.stderr.write(`[soak] ${s}\n`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void closeAllClusters().finally(() => process.exit(130)));
}

if (!fromSource) {
  log('building dist/headless (the daemons run the bundle; --from-source runs the TypeScript)');
  buildHeadless();
}

const c = benchCluster('peerfold-soak-links-');
let passed = 0;
try {
  const env = benchDeviceEnv(fromSource);
  const a = await c.add('east', env);
  const b = await c.add('west', env);
  writeFileSync(join(a.dir, 'base.txt'), 'base\n');
  const base = await c.shareAmong([a, b]);
  await connected([a, b], base);
  await waitUntil('the base share to sync', () => existsSync(join(b.dir, 'base.txt')), 60_000);
  // two devices that found each other at once may have dialed both ways: start on the link kept
  await linkSettled(a, b);

  for (let round = 1; round <= rounds; round++) {
    const started = performance.now();
    const steps: string[] = [];
    try {
      const added = await addShare(c, a, b, `r${round}-added`);
      if (!added.sameLink) throw new Error(`adding a share changed the link: ${added.linkLog}`);
      steps.push(`add share -> first file ${fmt(added.ms / 1000, 2)} s`);
      const moved = await pauseMidTransfer(c, a, b, added.shareId, `r${round}-big`, 16 * 1024 * 1024);
      steps.push(`pause mid-transfer: link kept, 16 MiB in ${fmt(moved.ms / 1000, 1)} s`);
      const [victim, survivor]: Device[] = round % 2 ? [b, a] : [a, b];
      const back = await restart(victim, survivor);
      steps.push(`kill -9 ${victim.name} -> linked ${fmt(back.ms / 1000, 2)} s after start (API up at ${fmt(back.apiMs / 1000, 2)} s)`);
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const name = `r${round}-from-${from.name}.txt`;
        writeFileSync(join(from.dir, name), `${name}\n`);
        await waitUntil(`${name} to reach ${to.name}`, () => existsSync(join(to.dir, name)), 60_000, 20);
      }
      steps.push('syncs both ways');
      passed++;
      console.log(
        `round ${String(round).padStart(2)}/${rounds}  PASS  ${fmt((performance.now() - started) / 1000, 1)} s  ${steps.join('; ')}`,
      );
    } catch (err) {
      console.log(
        `round ${String(round).padStart(2)}/${rounds}  FAIL  ${steps.join('; ')}${steps.length ? '; ' : ''}${(err as Error).message.split('\n')[0]}`,
      );
      if (process.env.PEERFOLD_SOAK_LOGS) console.error(c.logs());
      // a failed round may leave a device stopped or a share paused: put things back for the next
      for (const d of [a, b]) if (!d.client) await d.start().catch(() => undefined);
      await a.call('resume', {}).catch(() => undefined);
    }
  }
} finally {
  await c.dispose();
}
console.log(`${passed}/${rounds} passed`);
process.exit(passed === rounds ? 0 : 1);
