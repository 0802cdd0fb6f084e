// The second transport for bulk data, end to end with real daemons on loopback: chunk data goes
// over a TCP stream (TLS with both device certificates) where the peer is directly reachable, over
// a udx stream where TCP is off and a UDP path exists, and over the WebRTC data channel when
// neither does or when the stream dies mid-transfer; every byte arrives either way, and
// `peerfold peers --json` says which carries it. The udx tests turn TCP off (PEERFOLD_TCP=0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerInfo } from '../shared/api.ts';
import { Cluster, converged, loopbackEnv, repoRoot, sha, waitUntil, type Device } from './harness.ts';
import { netnsUnavailable } from './netns.ts';
import { SmallInternet } from './small-internet.ts';

const clusters: Cluster[] = [];
const nets: SmallInternet[] = [];
after(async () => {
  for (const c of clusters) await c.close();
  for (const n of nets) await n.close();
});

function cluster(): Cluster {
  const c = new Cluster('peerfold-e2e-bulk-');
  clusters.push(c);
  return c;
}

/** `peerfold peers` as a user runs it (`--json`: what it prints, parsed). */
function execPeers(d: Device, extra: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'peerfold'), '--home', d.home, 'peers', ...extra],
      { env: { ...process.env, ...loopbackEnv } },
      (err, stdout, stderr) => (err ? reject(new Error(`peers ${extra.join(' ')} failed: ${stderr}`)) : resolve(stdout)),
    );
  });
}

async function peersJson(d: Device): Promise<PeerInfo[]> {
  return JSON.parse(await execPeers(d, ['--json'])) as PeerInfo[];
}

async function connectedTransport(d: Device): Promise<PeerInfo['transport'] | null> {
  const p = (await peersJson(d)).find((x) => x.connected);
  return p ? p.transport : null;
}

/** Two devices sharing a folder, the first holding `files` (name -> bytes). */
async function pair(envA: Record<string, string>, envB: Record<string, string>, files: Record<string, Buffer>) {
  const c = cluster();
  const a = await c.add('alpha', envA);
  const b = await c.add('bravo', envB);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(a.dir, name), data);
  const shareId = await c.shareAmong([a, b]);
  return { c, a, b, shareId };
}

/**
 * A pair whose files are written only once bravo's link has its bulk stream (`up` in its log): a
 * test that cuts the stream mid-transfer must not see the data cross the data channel first,
 * while the link is still choosing its transport (seen in CI: 24 MiB arrived before udx was up).
 */
async function streamFirst(envA: Record<string, string>, envB: Record<string, string>, files: Record<string, Buffer>, up: RegExp) {
  const p = await pair(envA, envB, {});
  try {
    await waitUntil('bravo to have its bulk stream', () => up.test(lastLink(p.b)), 60_000, 100);
  } catch (err) {
    console.error(p.c.logs());
    throw err;
  }
  for (const [name, data] of Object.entries(files)) writeFileSync(join(p.a.dir, name), data);
  return p;
}

/**
 * The log since the device's last link came up: when both dial at once, the link closed as a
 * duplicate loses its stream, and that is not the one that carried the data.
 */
function lastLink(d: Device): string {
  return d.log.slice(d.log.lastIndexOf('connected to '));
}

function assertSame(b: Device, files: Record<string, Buffer>, tree: Map<string, string>): void {
  for (const [name, data] of Object.entries(files)) assert.equal(tree.get(name), `f:${sha(data)}`, `${name} on ${b.name}`);
}

/** TCP off: udx is what these tests exercise */
const noTcp = { PEERFOLD_TCP: '0' };

test(
  'chunk data goes over a TCP stream between two daemons on loopback, every byte intact, and peers --json says tcp',
  { timeout: 240_000 },
  async () => {
    const { c, a, b, shareId } = await pair({}, {}, { 'small.txt': Buffer.from('hello\n') });
    try {
      await waitUntil(
        'both ends to carry blocks over TCP',
        async () => (await connectedTransport(a)) === 'tcp' && (await connectedTransport(b)) === 'tcp',
        90_000,
        250,
      );
      // written once the stream is up: its chunks can only go over TCP
      const files = { 'small.txt': Buffer.from('hello\n'), 'big.bin': randomBytes(48 * 1024 * 1024) };
      writeFileSync(join(a.dir, 'big.bin'), files['big.bin']);
      const trees = await converged([a, b], shareId, 180_000);
      assertSame(b, files, trees);
      assert.match(a.log, /tcp: blocks go over a TCP stream to 127\.0\.0\.1:\d+/, 'the dialer names where it connected');
      assert.match(b.log, /tcp: blocks go over a TCP stream/);
      assert.doesNotMatch(lastLink(a) + lastLink(b), /blocks go over the data channel(?! until)|TCP stream was lost/);
      const peer = (await peersJson(b)).find((p) => p.connected)!;
      assert.equal(peer.transport, 'tcp');
      assert.ok(peer.inBytes >= 48 * 1024 * 1024, `bravo received ${peer.inBytes} bytes`);
      // both have runs of chunks in one request: bravo asked for big.bin's chunks in runs
      assert.match(lastLink(b), /alpha answers runs of up to 16 chunks/);
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test(
  'a device from before runs of chunks (PEERFOLD_REQUEST_RUNS=0) and one with them sync both ways over TCP, every byte intact',
  { timeout: 300_000 },
  async () => {
    const old = { PEERFOLD_REQUEST_RUNS: '0' };
    const files = { 'from-old.bin': randomBytes(12 * 1024 * 1024) };
    const { c, a, b, shareId } = await streamFirst(old, {}, files, /tcp: blocks go over a TCP stream/);
    try {
      await converged([a, b], shareId, 180_000);
      const back = { 'from-new.bin': randomBytes(12 * 1024 * 1024) };
      writeFileSync(join(b.dir, 'from-new.bin'), back['from-new.bin']);
      const trees = await converged([a, b], shareId, 180_000);
      assertSame(b, files, trees);
      assertSame(a, back, trees);
      // neither offered runs to the other: the older device never says it answers them
      assert.doesNotMatch(a.log + b.log, /answers runs of up to/);
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test('a TCP stream cut mid-transfer falls back to the data channel and no chunk is lost', { timeout: 300_000 }, async () => {
  const files = { 'big.bin': randomBytes(24 * 1024 * 1024) };
  const env = { PEERFOLD_UDX_DEAD_MS: '4000', PEERFOLD_CHUNK_TIMEOUT_MS: '900000' };
  const { c, a, b, shareId } = await streamFirst(
    env,
    { ...env, PEERFOLD_FAULT_UDX_CUT_BYTES: String(4 * 1024 * 1024) },
    files,
    /tcp: blocks go over a TCP stream/,
  );
  try {
    const trees = await converged([a, b], shareId, 240_000);
    assertSame(b, files, trees);
    assert.match(b.log, /the TCP stream was lost \(fault injection/);
    await waitUntil(
      'both ends back on the data channel',
      async () => (await connectedTransport(a)) === 'datachannel' && (await connectedTransport(b)) === 'datachannel',
      60_000,
      250,
    );
    const afterCut = b.log.slice(b.log.indexOf('the TCP stream was lost'));
    assert.doesNotMatch(afterCut, /disconnected from alpha/, `bravo reconnected instead of falling back:\n${b.log}`);
  } catch (err) {
    console.error(c.logs());
    throw err;
  }
});

test(
  'three TCP streams of one link (PEERFOLD_TCP_STREAMS=3) carry a file whole; one cut mid-transfer, the other two carry the rest',
  { timeout: 300_000 },
  async () => {
    const env = { PEERFOLD_TCP_STREAMS: '3', PEERFOLD_UDX: '0', PEERFOLD_UDX_DEAD_MS: '4000', PEERFOLD_CHUNK_TIMEOUT_MS: '900000' };
    const { c, a, b, shareId } = await pair(env, { ...env, PEERFOLD_FAULT_UDX_CUT_BYTES: String(6 * 1024 * 1024) }, {});
    try {
      const streams = async (d: Device) => (await peersJson(d)).find((p) => p.connected)?.streams ?? 0;
      await waitUntil('three TCP streams at both ends', async () => (await streams(a)) === 3 && (await streams(b)) === 3, 90_000, 250);
      assert.match((await execPeers(b)).trim(), /tcp x3/, 'peerfold peers shows the stripes');
      // written once the stripes are up: its chunks can only go over them
      const files = { 'big.bin': randomBytes(32 * 1024 * 1024) };
      writeFileSync(join(a.dir, 'big.bin'), files['big.bin']);
      const trees = await converged([a, b], shareId, 240_000);
      assertSame(b, files, trees);
      assert.match(b.log, /tcp: a TCP stream was lost \(fault injection: the stream was cut\); its requests go over the other 2/);
      const peer = (await peersJson(b)).find((p) => p.connected)!;
      assert.equal(peer.transport, 'tcp');
      assert.equal(peer.streams, 2);
      const afterCut = b.log.slice(b.log.indexOf('a TCP stream was lost'));
      assert.doesNotMatch(afterCut, /blocks go over the data channel|disconnected from alpha/, `bravo fell back or reconnected:\n${b.log}`);
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test(
  'with TCP off on one device (PEERFOLD_TCP=0), chunk data goes over a udx stream when a UDP path exists, and peers --json says so',
  { timeout: 240_000 },
  async () => {
    const { c, a, b, shareId } = await pair(noTcp, {}, { 'small.txt': Buffer.from('hello\n') });
    try {
      await waitUntil(
        'both ends to carry blocks over udx',
        async () => (await connectedTransport(a)) === 'udx' && (await connectedTransport(b)) === 'udx',
        90_000,
        250,
      );
      // written once the stream is up: its chunks can only go over udx (it never fell back below)
      const files = { 'small.txt': Buffer.from('hello\n'), 'big.bin': randomBytes(24 * 1024 * 1024) };
      writeFileSync(join(a.dir, 'big.bin'), files['big.bin']);
      const trees = await converged([a, b], shareId, 180_000);
      assertSame(b, files, trees);
      assert.match(b.log, /blocks go over a udx stream to 127\.0\.0\.1:\d+/);
      assert.doesNotMatch(lastLink(a) + lastLink(b), /blocks go over the data channel(?! until)/);
      const peer = (await peersJson(b)).find((p) => p.connected)!;
      assert.equal(peer.transport, 'udx');
      assert.ok(peer.inBytes >= 24 * 1024 * 1024, `bravo received ${peer.inBytes} bytes`);
      assert.match(b.log, /no TCP stream on this link: the peer does not use TCP/);
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test(
  'with UDP blocked on one device, sync completes over the data channel and peers --json says datachannel',
  { timeout: 240_000 },
  async () => {
    const files = { 'big.bin': randomBytes(6 * 1024 * 1024) };
    // bravo's udx socket drops every datagram, as a firewall would: no probe is ever answered
    const { c, a, b, shareId } = await pair(
      noTcp,
      { ...noTcp, PEERFOLD_FAULT_UDX_BLOCK: '1', PEERFOLD_UDX_PATH_TIMEOUT_MS: '3000' },
      files,
    );
    try {
      const trees = await converged([a, b], shareId, 180_000);
      assertSame(b, files, trees);
      await waitUntil('both ends to have given up on udx', () => /no UDP path/.test(a.log) && /no UDP path/.test(b.log), 60_000, 250);
      assert.equal(await connectedTransport(a), 'datachannel');
      assert.equal(await connectedTransport(b), 'datachannel');
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test(
  'a device with udx and TCP off (PEERFOLD_UDX=0 PEERFOLD_TCP=0) syncs over the data channel, and its peer knows why',
  { timeout: 240_000 },
  async () => {
    const files = { 'mid.bin': randomBytes(2 * 1024 * 1024) };
    const { c, a, b, shareId } = await pair({ PEERFOLD_UDX: '0', ...noTcp }, {}, files);
    try {
      const trees = await converged([a, b], shareId, 180_000);
      assertSame(b, files, trees);
      await waitUntil(
        'bravo to learn alpha uses neither',
        () => /the peer does not use udx/.test(b.log) && /the peer does not use TCP/.test(b.log),
        30_000,
        250,
      );
      assert.equal(await connectedTransport(b), 'datachannel');
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test('a udx stream cut mid-transfer falls back to the data channel and no chunk is lost', { timeout: 300_000 }, async () => {
  const files = { 'big.bin': randomBytes(24 * 1024 * 1024) };
  // bravo cuts its stream once 4 MiB came over it; alpha hears nothing more and times it out
  // a request the cut swallowed is never given up on by timeout here: only sending it again saves it
  const env = { PEERFOLD_UDX_DEAD_MS: '4000', PEERFOLD_CHUNK_TIMEOUT_MS: '900000', ...noTcp };
  const { c, a, b, shareId } = await streamFirst(
    env,
    { ...env, PEERFOLD_FAULT_UDX_CUT_BYTES: String(4 * 1024 * 1024) },
    files,
    /udx: blocks go over a udx stream/,
  );
  try {
    const trees = await converged([a, b], shareId, 240_000);
    assertSame(b, files, trees);
    assert.match(b.log, /the udx stream was lost \(fault injection/);
    await waitUntil(
      'both ends back on the data channel',
      async () => (await connectedTransport(a)) === 'datachannel' && (await connectedTransport(b)) === 'datachannel',
      60_000,
      250,
    );
    // the link itself stayed up: the fallback is not a reconnect
    const afterCut = b.log.slice(b.log.indexOf('the udx stream was lost'));
    assert.doesNotMatch(afterCut, /disconnected from alpha/, `bravo reconnected instead of falling back:\n${b.log}`);
  } catch (err) {
    console.error(c.logs());
    throw err;
  }
});

test(
  'through a NAT (network namespaces): a device behind a home router gets a udx stream to a public one, found from its own probes',
  { skip: netnsUnavailable() ?? false, timeout: 300_000 },
  async () => {
    const si = new SmallInternet();
    nets.push(si);
    // alpha on the public segment; bravo behind home 1's NAT router, which drops unsolicited inbound
    const pub = si.net.namespace('pubdev');
    si.net.attach(pub, 'eth0', '100.64.0.50/24', si.core, 'pub');
    const home = si.addHome();
    const behind = si.addDevice(home, 'natdev');
    const c = cluster();
    // TCP off: bravo, the dialer, could reach alpha through its NAT by TCP; udx is what this tests
    const lan = { PEERFOLD_LAN_TARGETS: '127.255.255.255', ...noTcp };
    const a = await c.add('alpha', { ...lan, PEERFOLD_BIND_ADDRESS: '100.64.0.50' }, { netns: { net: si.net, ns: pub } });
    const b = await c.add('bravo', { ...lan, PEERFOLD_BIND_ADDRESS: behind.address }, { netns: { net: si.net, ns: behind.ns } });
    const files = { 'big.bin': randomBytes(8 * 1024 * 1024) };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(a.dir, name), data);
    try {
      const { share, codes } = await a.call('share', { path: a.dir });
      await b.call('join', { code: codes.readWrite!, path: b.dir });
      await b.call('addPeer', { share: share.id, address: `100.64.0.50:${(await a.status()).device.listenPort}` });
      const trees = await converged([a, b], share.id, 240_000);
      assertSame(b, files, trees);
      // bravo offered only its private address; alpha reached it at the NAT's mapping
      await waitUntil(
        'both ends to carry blocks over udx',
        async () =>
          (await a.call('peers', {})).some((p) => p.connected && p.transport === 'udx') &&
          (await b.call('peers', {})).some((p) => p.connected && p.transport === 'udx'),
        60_000,
        250,
      );
      assert.match(a.log, new RegExp(`blocks go over a udx stream to ${home.wanAddress.replace(/\./g, '\\.')}:\\d+`));
      assert.match(b.log, /blocks go over a udx stream to 100\.64\.0\.50:\d+/);
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);

test(
  'firewalls that drop inbound TCP (network namespaces): a device that cannot be dialed dials its peer instead (tcp); when neither can be, udx carries the chunk data; every byte arrives',
  { skip: netnsUnavailable() ?? false, timeout: 300_000 },
  async () => {
    const si = new SmallInternet();
    nets.push(si);
    // three devices with addresses of their own on one segment, each behind a firewall:
    //   alpha drops inbound TCP but to its signaling port (peers can make links with it; its TCP
    //     bulk port cannot be reached);
    //   bravo drops all inbound TCP (it makes its links itself, and cannot be dialed);
    //   charlie drops it only to its signaling port (it makes its links itself; its bulk port is open).
    // So bravo and charlie each make the link with alpha and are its TCP client, and their dials
    // to alpha's bulk port are dropped: alpha dials them back, which reaches charlie only.
    const [na, nb, nc] = ['fw_alpha', 'fw_bravo', 'fw_charlie'].map((r) => si.addCoreDevice(r));
    const c = cluster();
    const env = (address: string) => ({ PEERFOLD_LAN_TARGETS: '127.255.255.255', PEERFOLD_BIND_ADDRESS: address });
    const a = await c.add('alpha', env(na!.address), { netns: { net: si.net, ns: na!.ns } });
    const b = await c.add('bravo', env(nb!.address), { netns: { net: si.net, ns: nb!.ns } });
    const ch = await c.add('charlie', env(nc!.address), { netns: { net: si.net, ns: nc!.ns } });
    const alphaPort = (await a.status()).device.listenPort;
    si.net.dropInboundTcp(na!.ns, { except: alphaPort });
    si.net.dropInboundTcp(nb!.ns);
    si.net.dropInboundTcp(nc!.ns, { only: (await ch.status()).device.listenPort });
    try {
      writeFileSync(join(a.dir, 'hello.txt'), 'behind a firewall\n');
      const { share, codes } = await a.call('share', { path: a.dir });
      for (const d of [b, ch]) {
        await d.call('join', { code: codes.readWrite!, path: d.dir });
        await d.call('addPeer', { share: share.id, address: `${na!.address}:${alphaPort}` });
      }
      const [idA, idB, idC] = await Promise.all([a, b, ch].map(async (d) => (await d.status()).device.id));
      const transportBetween = async (d: Device, id: string) =>
        (await d.call('peers', {})).find((p) => p.deviceId === id && p.connected)?.transport;
      await waitUntil(
        'the blocks between alpha and charlie to go over TCP, between alpha and bravo over udx (both ends say so)',
        async () =>
          (await transportBetween(a, idC!)) === 'tcp' &&
          (await transportBetween(ch, idA!)) === 'tcp' &&
          (await transportBetween(a, idB!)) === 'udx' &&
          (await transportBetween(b, idA!)) === 'udx',
        120_000,
        500,
      );
      // written once the streams are up: their chunks go over them
      const files = { 'hello.txt': Buffer.from('behind a firewall\n'), 'big.bin': randomBytes(6 * 1024 * 1024) };
      writeFileSync(join(a.dir, 'big.bin'), files['big.bin']);
      const trees = await converged([a, b, ch], share.id, 180_000);
      assertSame(b, files, trees);
      assertSame(ch, files, trees);
      assert.equal(await transportBetween(a, idC!), 'tcp', 'alpha to charlie still over TCP');
      assert.equal(await transportBetween(a, idB!), 'udx', 'alpha to bravo still over udx');
      const dotted = (ip: string) => ip.replace(/\./g, '\\.');
      assert.match(
        a.log,
        new RegExp(`charlie: tcp: no TCP connection from the peer yet; dialing it at ${dotted(nc!.address)}:\\d+ instead`),
      );
      assert.match(
        ch.log,
        /tcp: cannot reach the peer's TCP port \(no TCP connection to .* within \d+ ms\); waiting for the peer to dial this device/,
      );
      assert.match(a.log, new RegExp(`bravo: tcp: no TCP connection from the peer yet; dialing it at ${dotted(nb!.address)}:\\d+ instead`));
    } catch (err) {
      console.error(c.logs());
      throw err;
    }
  },
);
