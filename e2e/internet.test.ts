// Peerfold on a small internet of network namespaces (e2e/small-internet.ts): home networks
// behind NAT routers, a core segment with a tracker and a STUN/TURN server. Every packet stays
// inside the namespaces. Skips, saying why, where namespaces cannot be made (not root, no
// iproute2 or iptables).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, converged, waitUntil } from './harness.ts';
import { Internet, coturnUnavailable, netnsUnavailable } from './netns.ts';
import { CORE_ADDRESS, SmallInternet } from './small-internet.ts';

const skip = netnsUnavailable() ?? false;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function tcpProbe(port: number, host: string): string {
  // exits 0 when connected, 2 on a refusal, 3 when nothing answers within 1.5 s (dropped)
  return `const s=require('node:net').connect(${port},${JSON.stringify(host)});s.setTimeout(1500,()=>process.exit(3));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(2));`;
}

test(
  'the small internet: a home device reaches the core through its NAT, nothing unsolicited gets in, and close() removes it all',
  { skip, timeout: 120_000 },
  async () => {
    const si = new SmallInternet();
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await si.close();
    });
    const home = si.addHome();
    const dev = si.addDevice(home, 'dev');
    const tracker = await si.startTracker();
    assert.equal(si.net.status(dev.ns, process.execPath, ['-e', tcpProbe(8000, CORE_ADDRESS)]), 0, 'the device reaches the tracker');
    // the core cannot reach the device's LAN (no route: private addresses are not routed), nor
    // anything on the router's public address that the device did not ask for (dropped, not refused)
    assert.equal(si.net.status(si.core, process.execPath, ['-e', tcpProbe(8000, home.wanAddress)]), 3);
    assert.notEqual(si.net.status(si.core, process.execPath, ['-e', tcpProbe(8000, dev.address)]), 0);
    const prefix = si.net.prefix;
    assert.ok(Internet.existing(prefix).length >= 4);
    await si.close();
    closed = true;
    assert.deepEqual(Internet.existing(prefix), []);
    assert.notEqual(tracker.proc.exitCode ?? tracker.proc.signalCode, null, 'the tracker was stopped');
  },
);

test('two devices on one home LAN find each other by LAN discovery, with no tracker, and sync', { skip, timeout: 240_000 }, async () => {
  const si = new SmallInternet();
  cleanups.push(() => si.close());
  const home = si.addHome();
  const [na, nb] = [si.addDevice(home, 'lan_a'), si.addDevice(home, 'lan_b')];
  const c = new Cluster('peerfold-e2e-internet-');
  cleanups.push(() => c.close());
  const env = { PEERFOLD_LAN_TARGETS: home.broadcast };
  const a = await c.add('alpha', env, { netns: { net: si.net, ns: na.ns } });
  const b = await c.add('bravo', env, { netns: { net: si.net, ns: nb.ns } });
  writeFileSync(join(a.dir, 'hello.txt'), 'across the home LAN\n');
  const { share, codes } = await a.call('share', { path: a.dir });
  // no address given: only LAN discovery can bring them together
  await b.call('join', { code: codes.readWrite!, path: b.dir });
  await converged([a, b], share.id, 180_000);
  const peer = await waitUntil('bravo to list alpha as connected', async () => (await b.call('peers', {})).find((p) => p.connected));
  assert.equal(peer.via, 'lan');
  assert.match(peer.address ?? '', new RegExp(`^${na.address.replace(/\./g, '\\.')}:\\d+$`), 'the address in use is alpha on the home LAN');
});

test(
  'a laptop carried to another network (a new address behind another NAT) reconnects by itself through the tracker and sync carries on',
  { skip: skip || (coturnUnavailable() ?? false), timeout: 400_000 },
  async () => {
    const si = new SmallInternet();
    cleanups.push(() => si.close());
    const [home, office, elsewhere] = [si.addHome(), si.addHome(), si.addHome()];
    const laptop = si.addDevice(home, 'laptop');
    const server = si.addDevice(elsewhere, 'server');
    const tracker = await si.startTracker();
    const turn = await si.startCoturn();
    const c = new Cluster('peerfold-e2e-internet-');
    cleanups.push(() => c.close());
    const a = await c.add('alpha', {}, { netns: { net: si.net, ns: laptop.ns } });
    const b = await c.add('bravo', {}, { netns: { net: si.net, ns: server.ns } });
    for (const d of [a, b]) await d.call('setSettings', { trackers: [tracker.url], stunServers: [turn.stun] });
    writeFileSync(join(b.dir, 'before.txt'), 'synced while the laptop was at home\n');
    const { share, codes } = await b.call('share', { path: b.dir });
    await a.call('join', { code: codes.readWrite!, path: a.dir });
    await converged([a, b], share.id, 180_000);
    const atHome = await waitUntil('bravo to see alpha', async () => (await b.call('peers', {})).find((p) => p.connected));
    assert.equal(atHome.via, 'internet');
    assert.ok(atHome.address?.startsWith(`${home.wanAddress}:`), `bravo sees alpha behind its home router: ${atHome.address}`);

    si.moveDevice(laptop, office);
    writeFileSync(join(a.dir, 'on-the-road.txt'), 'written after the move\n');
    writeFileSync(join(b.dir, 'meanwhile.txt'), 'written on the server after the move\n');
    await converged([a, b], share.id, 180_000);
    const fromOffice = await waitUntil('bravo to see alpha at the office', async () =>
      (await b.call('peers', {})).find((p) => p.connected && p.address?.startsWith(`${office.wanAddress}:`)),
    );
    assert.equal(fromOffice.deviceId, atHome.deviceId);
    assert.equal(fromOffice.via, 'internet');
    assert.match(a.log, /the network changed/, 'alpha noticed the change itself');
  },
);

test(
  'two homes behind NAT routers find each other through a tracker and sync directly (internet); with UDP between the routers dropped they sync through TURN (relay)',
  { skip: skip || (coturnUnavailable() ?? false), timeout: 400_000 },
  async (t) => {
    const si = new SmallInternet();
    cleanups.push(() => si.close());
    const [h1, h2] = [si.addHome(), si.addHome()];
    const [n1, n2] = [si.addDevice(h1, 'home1_pc'), si.addDevice(h2, 'home2_pc')];
    const tracker = await si.startTracker();
    const turn = await si.startCoturn();
    const c = new Cluster('peerfold-e2e-internet-');
    cleanups.push(() => c.close());
    const a = await c.add('alpha', {}, { netns: { net: si.net, ns: n1.ns } });
    const b = await c.add('bravo', {}, { netns: { net: si.net, ns: n2.ns } });
    for (const d of [a, b]) await d.call('setSettings', { trackers: [tracker.url], stunServers: [turn.stun], turnServers: [turn.turn] });
    writeFileSync(join(a.dir, 'hello.txt'), 'from the first home\n');
    const { share, codes } = await a.call('share', { path: a.dir });
    // nothing but the code: no address, and the homes are not on one LAN
    await b.call('join', { code: codes.readWrite!, path: b.dir });
    await converged([a, b], share.id, 180_000);
    const direct = await waitUntil('alpha to list bravo as connected', async () => (await a.call('peers', {})).find((p) => p.connected));
    assert.equal(direct.via, 'internet', `alpha reaches bravo directly through both NATs: ${JSON.stringify(direct)}`);
    assert.ok(direct.address?.startsWith(`${h2.wanAddress}:`), `the address in use is bravo's router: ${direct.address}`);
    // chunk data takes a udx stream punched through both NATs (a TCP dial cannot get in behind a NAT)
    await waitUntil(
      'chunk data between the homes to take a udx stream',
      async () => (await a.call('peers', {})).find((p) => p.connected)?.transport === 'udx',
      60_000,
      500,
    );

    // a firewall between the two homes: no direct UDP path is left, the relay is
    si.blockUdpBetween(h1, h2);
    const relayed = await waitUntil(
      'alpha to reach bravo through the relay',
      async () => (await a.call('peers', {})).find((p) => p.connected && p.via === 'relay'),
      180_000,
      500,
    ).catch(async (err: unknown) => {
      // this half failed twice in ~12 runs and never with its logs at hand: keep them
      t.diagnostic(`alpha's peers: ${JSON.stringify(await a.call('peers', {}))}`);
      t.diagnostic(`alpha's log:\n${a.log}`);
      t.diagnostic(`bravo's log:\n${b.log}`);
      throw err;
    });
    assert.ok(relayed.address?.startsWith(`${CORE_ADDRESS}:`) || relayed.address?.startsWith(`${h2.wanAddress}:`), relayed.address ?? '');
    writeFileSync(join(b.dir, 'reply.txt'), 'back through the relay\n');
    writeFileSync(join(a.dir, 'more.txt'), 'and more from the first home\n');
    await converged([a, b], share.id, 180_000);
    assert.equal((await b.call('peers', {})).find((p) => p.connected)?.via, 'relay');
  },
);
