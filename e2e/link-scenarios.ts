// Steps on real daemons that the link benchmarks (bench/links.ts) and the soak script
// (scripts/soak.ts) share: add a share between linked devices, pause one share in the middle of
// another's transfer, kill -9 a device and restart it. Each returns what it measured and throws,
// saying what went wrong, when the behaviour is not what a user should see.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha, waitUntil, type Cluster, type Device } from './harness.ts';

/** When `of`'s link to `to` came up, as `of` reports it; null when not connected. */
export async function connectedSince(of: Device, to: Device): Promise<number | null> {
  const id = (await to.status()).device.id;
  const p = (await of.call('peers', {})).find((x) => x.deviceId === id);
  return p?.connected ? p.connectedSince : null;
}

/**
 * `a` shares a new folder holding one file, `b` joins it: returns the ms from the join to the file
 * in place on `b`, and whether the link between them stayed the same one.
 */
export async function addShare(
  c: Cluster,
  a: Device,
  b: Device,
  name: string,
): Promise<{ shareId: string; ms: number; sameLink: boolean; linkLog: string }> {
  const before = await connectedSince(b, a);
  const logAt = [a.log.length, b.log.length];
  const dirA = join(c.base, `${name}-${a.name}`);
  const dirB = join(c.base, `${name}-${b.name}`);
  mkdirSync(dirA, { recursive: true });
  writeFileSync(join(dirA, 'first.txt'), `the first file of ${name}\n`);
  const { share } = await a.call('share', { path: dirA, name });
  await waitUntil(`${a.name} to scan ${name}`, async () => (await a.share(share.id)).localFiles === 1, 60_000, 20);
  const code = (await a.call('codes', { share: share.id })).readWrite!;
  const t0 = performance.now();
  await b.call('join', { code, path: dirB, name });
  await waitUntil(`${name}'s first file to reach ${b.name}`, () => existsSync(join(dirB, 'first.txt')), 60_000, 10);
  const ms = performance.now() - t0;
  const sameLink = before !== null && (await connectedSince(b, a)) === before;
  return { shareId: share.id, ms, sameLink, linkLog: sameLink ? '' : linkEvents([a, b], logAt) };
}

/**
 * The duplicate-connection closes in `log` that kept a link up at `at` (ms) or before: an old
 * link kept against a new one (model/network.ts names the kept link in the reason). A tie-break
 * between two links made after `at` (both devices dialed at once) is no such close.
 */
export function oldLinksKept(log: string, at: number): string[] {
  const out: string[] = [];
  for (const m of log.matchAll(/duplicate connection(?: \(([^)]*)\))?/g)) {
    // "a new link is kept": the one closed was the older; no reason at all: a build that did not
    // name the kept link, counted
    if (m[1] === 'a new link is kept') continue;
    const since = m[1] === undefined ? null : /^the link up since (\S+) is kept$/.exec(m[1]);
    if (!since || Date.parse(since[1]) <= at) out.push(m[0]);
  }
  return out;
}

/** What the devices logged about their links since `logAt` (one offset per device): why a link changed. */
export function linkEvents(devices: Device[], logAt: number[]): string {
  const re = /connected to|disconnected from|closed the connection|stopped answering|duplicate|replaced/;
  return devices
    .flatMap((d, i) =>
      d.log
        .slice(logAt[i])
        .split('\n')
        .filter((l) => re.test(l))
        .map((l) => `${d.name}: ${l.trim()}`),
    )
    .join(' | ');
}

/**
 * Waits until `a` and `b` report the same link for `quietMs` in a row: two devices that found each
 * other at the same moment may dial both ways, and the tie-break then replaces the first link.
 */
export async function linkSettled(a: Device, b: Device, quietMs = 3_000): Promise<void> {
  let last = '';
  let since = performance.now();
  await waitUntil(
    `${a.name} and ${b.name} to settle on one link`,
    async () => {
      const now = `${await connectedSince(a, b)}/${await connectedSince(b, a)}`;
      if (now !== last || now.includes('null')) {
        last = now;
        since = performance.now();
      }
      return performance.now() - since >= quietMs;
    },
    60_000,
    100,
  );
}

/**
 * Starts a transfer of a `bytes`-long file in a new share from `a` to `b` (slowed by a receive
 * limit), pauses `other` in the middle of it, resumes it, and checks: the link stayed the same,
 * the transfer never went backwards, the file arrived intact.
 */
export async function pauseMidTransfer(
  c: Cluster,
  a: Device,
  b: Device,
  other: string,
  name: string,
  bytes: number,
): Promise<{ ms: number }> {
  const data = randomBytes(bytes);
  const dirA = join(c.base, `${name}-${a.name}`);
  const dirB = join(c.base, `${name}-${b.name}`);
  mkdirSync(dirA, { recursive: true });
  writeFileSync(join(dirA, 'big.bin'), data);
  await b.call('setSettings', { maxRecvKBps: 8_000 });
  try {
    const { share } = await a.call('share', { path: dirA, name });
    await waitUntil(`${a.name} to scan ${name}`, async () => (await a.share(share.id)).localFiles === 1, 60_000, 20);
    const t0 = performance.now();
    await b.call('join', { code: (await a.call('codes', { share: share.id })).readWrite!, path: dirB, name });
    let done = await waitUntil(
      'the transfer to start',
      async () => {
        const p = (await b.share(share.id)).pulling.find((x) => x.path === 'big.bin');
        return p && p.done > 0 ? p.done : false;
      },
      60_000,
      20,
    );
    const link = await connectedSince(b, a);
    await a.call('pause', { share: other });
    let resumed = false;
    await waitUntil(
      `${name}'s file to arrive`,
      async () => {
        const p = (await b.share(share.id)).pulling.find((x) => x.path === 'big.bin');
        if (p) {
          if (p.done < done) throw new Error(`the transfer went back from ${done} to ${p.done} bytes`);
          done = p.done;
        }
        if (!resumed && (!p || p.done > bytes / 2)) {
          resumed = true;
          await a.call('resume', { share: other });
        }
        return existsSync(join(dirB, 'big.bin'));
      },
      120_000,
      50,
    );
    if (!resumed) await a.call('resume', { share: other });
    if (sha(readFileSync(join(dirB, 'big.bin'))) !== sha(data)) throw new Error(`${name}'s file arrived corrupt`);
    const after = await connectedSince(b, a);
    if (after !== link) throw new Error(`the link changed while a share was paused (connected since ${link}, now ${after})`);
    return { ms: performance.now() - t0 };
  } finally {
    await b.call('setSettings', { maxRecvKBps: 0 });
  }
}

/**
 * kill -9 `victim` (or stop it gracefully) and start it again: returns the ms from starting the
 * daemon to both devices reporting the new link (and to its API answering, for comparison). Fails
 * if the new link is refused as a duplicate.
 */
export async function restart(victim: Device, survivor: Device, how: 'kill9' | 'stop' = 'kill9'): Promise<{ ms: number; apiMs: number }> {
  const before = await connectedSince(survivor, victim);
  const victimLogAt = victim.log.length;
  if (how === 'kill9') await victim.kill9();
  else await victim.stop();
  const t0 = performance.now();
  await victim.start();
  const apiMs = performance.now() - t0;
  await waitUntil(
    `${victim.name} and ${survivor.name} to be linked again`,
    async () => {
      const s = await connectedSince(survivor, victim);
      return s !== null && s !== before && (await connectedSince(victim, survivor)) !== null;
    },
    60_000,
    20,
  );
  const ms = performance.now() - t0;
  if (before !== null && oldLinksKept(victim.log.slice(victimLogAt), before).length)
    throw new Error(`${victim.name}'s new link was refused in favour of the old one:\n${victim.log.slice(victimLogAt)}`);
  return { ms, apiMs };
}
