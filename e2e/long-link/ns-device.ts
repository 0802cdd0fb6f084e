// Peerfold daemons on the two ends of an emulated long link: each runs inside its side's network
// namespace (the harness's netns option), bound to that side's address, announcing only to its
// own loopback, so the only way between them is the dial by address.
import { waitUntil, type Cluster, type Device } from '../harness.ts';
import type { LinkSide, LongLink } from './long-link.ts';

/** Adds a device whose daemon runs on `side` of the link. */
export function addAcross(c: Cluster, link: LongLink, side: LinkSide, name: string, env: Record<string, string> = {}): Promise<Device> {
  return c.add(
    name,
    { ...env, PEERFOLD_BIND_ADDRESS: side.address, PEERFOLD_LAN_TARGETS: '127.255.255.255' },
    { netns: { net: link.net, ns: side.ns } },
  );
}

/** Where the other end dials a device on `side`: the side's address and the daemon's signaling port. */
export async function addressOn(side: LinkSide, d: Device): Promise<string> {
  return `${side.address}:${(await d.status()).device.listenPort}`;
}

/**
 * A daemon on each end of the link, sharing one folder: `a` shares it, `b` joins with the code and
 * dials `a` by address (only b dials). Resolves once both report the other connected.
 */
export async function pairAcross(
  c: Cluster,
  link: LongLink,
  names: [string, string],
  env: Record<string, string> = {},
): Promise<{ a: Device; b: Device; shareId: string }> {
  const a = await addAcross(c, link, link.a, names[0], env);
  const b = await addAcross(c, link, link.b, names[1], env);
  const { share, codes } = await a.call('share', { path: a.dir });
  await b.call('join', { code: codes.readWrite!, path: b.dir });
  await b.call('addPeer', { share: share.id, address: await addressOn(link.a, a) });
  for (const d of [a, b])
    await waitUntil(`${d.name} to connect across the long link`, async () => (await d.share(share.id)).peersConnected >= 1, 60_000, 100);
  return { a, b, shareId: share.id };
}
