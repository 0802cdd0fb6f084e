// Finding each other through an internet tracker (issue 10), with real daemons on loopback: LAN
// discovery off, no address given, only a WebTorrent tracker started by the test (bittorrent-
// tracker's server, what a user self-hosts). And a lying tracker, written here, that hands every
// device the offers of every other device whatever share they announced: the share handshake on
// the link lets nobody in who does not hold the share.
import { createSocket } from 'node:dgram';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { startTestTracker, type TestTracker } from '../main/engine/net/tracker-test-server.ts';
import { Cluster, Device, converged, loopbackEnv, sleep, treeOf, waitUntil } from './harness.ts';

const clusters: Cluster[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of clusters) await c.close();
  for (const close of closers) await close();
});

function cluster(): Cluster {
  const c = new Cluster('peerfold-e2e-trackers-');
  clusters.push(c);
  return c;
}

async function tracker(): Promise<TestTracker> {
  const t = await startTestTracker();
  closers.push(() => t.close());
  return t;
}

/** Internet discovery through `url` only: no LAN announcements, no addresses. */
async function onlyThrough(d: Device, url: string): Promise<void> {
  await d.call('setSettings', { lanDiscovery: false, trackers: [url] });
}

/** A fresh cluster of devices by these names, each finding the others only through `url`. */
async function devicesThrough(url: string, ...names: string[]): Promise<{ c: Cluster; devices: Device[] }> {
  const c = cluster();
  const devices: Device[] = [];
  for (const name of names) devices.push(await c.add(name));
  for (const d of devices) await onlyThrough(d, url);
  return { c, devices };
}

test(
  'two devices with LAN discovery off and no address find each other through a tracker alone and sync',
  { timeout: 240_000 },
  async () => {
    const t = await tracker();
    const {
      c,
      devices: [a, b],
    } = await devicesThrough(t.url, 'anna', 'ben');
    writeFileSync(join(a.dir, 'letter.txt'), 'sent through a tracker\n');
    const shareId = await c.shareAmong([a, b]);
    await converged([a, b], shareId);
    assert.equal(treeOf(b.dir).get('letter.txt'), treeOf(a.dir).get('letter.txt'));

    const peers = await a.call('peers', { share: shareId });
    assert.equal(peers.length, 1);
    assert.equal(peers[0].name, 'ben');
    assert.equal(peers[0].connected, true);
    // found through the tracker; the path itself is loopback, so it is reached on the LAN (net/path.ts)
    assert.equal(peers[0].via, 'lan');
    const st = await a.status();
    assert.deepEqual(
      st.trackers.map((x) => [x.url, x.state]),
      [[t.url, 'connected']],
    );
    // what the tracker saw: the share under its tracker ID, never its stable discovery ID
    const swarms = Object.keys(t.server.torrents);
    assert.ok(swarms.length >= 1);
    const s = await a.share(shareId);
    assert.ok(!swarms.includes(s.id));

    // and it keeps syncing both ways
    writeFileSync(join(b.dir, 'reply.txt'), 'and back\n');
    await converged([a, b], shareId);
  },
);

test(
  'a tracker that goes down and comes back: shown as waiting, the daemons carry on, and a new device is found through it again',
  { timeout: 240_000 },
  async () => {
    const t = await tracker();
    // ben has no share until it joins, so it contacts no tracker before the outage ends
    const {
      c,
      devices: [a, b],
    } = await devicesThrough(t.url, 'anna', 'ben');
    const shareId = await c.shareAmong([a]);
    await waitUntil('anna to announce', async () => (await a.status()).trackers[0]?.announced === 1);
    await t.close();
    await waitUntil('anna to show the tracker as down', async () => {
      const tr = (await a.status()).trackers[0];
      return tr.state !== 'connected' && tr.error ? tr : false;
    });
    assert.match(a.log, /tracker ws:\/\/127\.0\.0\.1:\d+: .*trying again/);
    // the daemon carries on: it answers and rescans
    await a.call('rescan', { share: shareId });
    const back = await startTestTracker(t.port);
    closers.push(() => back.close());
    assert.equal(back.url, t.url);
    const codes = await a.call('codes', { share: shareId });
    writeFileSync(join(a.dir, 'later.txt'), 'after the outage\n');
    await b.call('join', { code: codes.readWrite!, path: b.dir });
    await converged([a, b], shareId, 180_000);
    assert.equal((await a.status()).trackers[0].state, 'connected');
  },
);

/**
 * A tracker that lies: one swarm for everybody. Every offer goes to every other device, labelled
 * with the info hash the receiver announced, and answers go back the same way.
 */
async function lyingTracker(): Promise<{ url: string; crossed: () => number; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const peers = new Map<WebSocket, { peerId: string; infoHash: string }>();
  const offers = new Map<string, string>(); // offer_id -> the info hash it was made for
  let crossed = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(String(data));
      } catch {
        return;
      }
      if (m.action !== 'announce') return;
      const me = { peerId: String(m.peer_id), infoHash: String(m.info_hash) };
      if (!peers.has(ws)) peers.set(ws, me);
      if (m.answer) {
        for (const [other, p] of peers) {
          if (p.peerId !== m.to_peer_id) continue;
          const infoHash = offers.get(String(m.offer_id)) ?? p.infoHash;
          other.send(
            JSON.stringify({ action: 'announce', answer: m.answer, offer_id: m.offer_id, peer_id: me.peerId, info_hash: infoHash }),
          );
        }
        return;
      }
      ws.send(JSON.stringify({ action: 'announce', info_hash: m.info_hash, interval: 120, complete: 0, incomplete: peers.size }));
      const list = Array.isArray(m.offers) ? (m.offers as { offer: unknown; offer_id: string }[]) : [];
      const others = [...peers].filter(([other]) => other !== ws);
      list.forEach((o, i) => {
        const target = others[i % Math.max(1, others.length)];
        if (!target) return;
        offers.set(o.offer_id, me.infoHash);
        if (target[1].infoHash !== me.infoHash) crossed++;
        target[0].send(
          JSON.stringify({ action: 'announce', offer: o.offer, offer_id: o.offer_id, peer_id: me.peerId, info_hash: target[1].infoHash }),
        );
      });
    });
    ws.on('close', () => peers.delete(ws));
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    crossed: () => crossed,
    close: () =>
      new Promise<void>((r) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => r());
      }),
  };
}

test(
  "a lying tracker that hands a device the offers of devices without its share gets nobody in: only the share's members link, nothing of the others arrives, and refused links are not made again and again",
  { timeout: 400_000 },
  async () => {
    const liar = await lyingTracker();
    closers.push(liar.close);
    const {
      c,
      devices: [a, b, m],
    } = await devicesThrough(liar.url, 'anna', 'ben', 'mallory');
    writeFileSync(join(a.dir, 'ours.txt'), 'for members only\n');
    writeFileSync(join(m.dir, 'planted.txt'), 'from someone else\n');
    const shareId = await c.shareAmong([a, b]);
    const other = (await m.call('share', { path: m.dir })).share.id;

    await converged([a, b], shareId);
    // mallory keeps offering (it has no peer): wait until its offers were handed to members as theirs
    await waitUntil('the liar to cross offers between the swarms, and the members to refuse them', () =>
      liar.crossed() >= 4 && /connection with mallory refused: the peer proved no share/.test(a.log + b.log) ? true : false,
    );
    for (const d of [a, b]) {
      const peers = await d.call('peers', {});
      assert.deepEqual(
        peers.filter((p) => p.connected).map((p) => p.name),
        [d === a ? 'ben' : 'anna'],
        `${d.name} is linked to the other member only`,
      );
      assert.ok(!treeOf(d.dir).has('planted.txt'));
    }
    assert.equal((await m.share(other)).peersConnected, 0);
    assert.deepEqual(
      (await m.call('peers', {})).filter((p) => p.connected),
      [],
    );
    assert.ok(!treeOf(m.dir).has('ours.txt'));

    // The liar keeps handing mallory's offers to the members, but every link it makes costs a full
    // WebRTC handshake before the share handshake can refuse it: a refused peer is not linked with
    // again for 30 s, then 60, 120, ... (net/refusal-backoff.ts). Over 90 s each member refuses
    // mallory at most 3 times (without the backoff, every offer of mallory's the liar handed on
    // was answered and refused: 176 in 90 s, measured).
    assert.match(a.log + b.log, /tracker ws:\/\/127\.0\.0\.1:\d+: a link with peer \w+ was refused; no links with it for 30 s/);
    const refusals = () => ((a.log + b.log).match(/connection with mallory refused/g) ?? []).length;
    const [refusedAt, crossedAt] = [refusals(), liar.crossed()];
    await sleep(90_000);
    assert.ok(liar.crossed() - crossedAt >= 6, `mallory kept offering through the liar (${liar.crossed() - crossedAt} offers crossed)`);
    const more = refusals() - refusedAt;
    assert.ok(more <= 6, `${more} more links with mallory were made and refused in 90 s`);
    assert.match(a.log + b.log, /skipping peer \w+ \(refused before\)/);
  },
);

/** A UDP socket standing in for a STUN server: counts what is sent to it (and never answers). */
async function stunListener(): Promise<{ url: string; heard: () => number }> {
  const sock = createSocket('udp4');
  let heard = 0;
  sock.on('message', () => heard++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { url: `stun:127.0.0.1:${sock.address().port}`, heard: () => heard };
}

test('a link to a device found on the LAN asks no STUN server; a link made through a tracker does', { timeout: 240_000 }, async () => {
  const stun = await stunListener();
  const c = cluster();
  const [a, b] = [await c.add('anna'), await c.add('ben')];
  for (const d of [a, b]) await d.call('setSettings', { stunServers: [stun.url] });
  writeFileSync(join(a.dir, 'lan.txt'), 'over the LAN\n');
  const lanShare = await c.shareAmong([a, b]);
  await converged([a, b], lanShare);
  assert.equal((await a.call('peers', { share: lanShare }))[0]?.via, 'lan');
  assert.equal(stun.heard(), 0, 'the LAN link sent nothing to the STUN server');

  // two more devices with the same STUN server, linked through a tracker only: now it is asked
  const t = await tracker();
  const c2 = cluster();
  const [x, y] = [await c2.add('xavier'), await c2.add('yves')];
  for (const d of [x, y]) await d.call('setSettings', { lanDiscovery: false, trackers: [t.url], stunServers: [stun.url] });
  writeFileSync(join(x.dir, 'far.txt'), 'through a tracker\n');
  const farShare = await c2.shareAmong([x, y]);
  await converged([x, y], farShare);
  await waitUntil('the tracker link to ask the STUN server', () => stun.heard() > 0);
});

test(
  'guard: a harness daemon left with the shipped public trackers and STUN servers uses none of them (PEERFOLD_NO_PUBLIC=1) and says so',
  { timeout: 120_000 },
  async () => {
    assert.equal(loopbackEnv.PEERFOLD_NO_PUBLIC, '1');
    const c = cluster();
    const d = new Device('plain', c.base);
    c.devices.push(d);
    mkdirSync(d.home, { recursive: true, mode: 0o700 });
    writeFileSync(join(d.home, 'settings.json'), '{}'); // the shipped defaults, not the harness's empty lists
    mkdirSync(d.dir, { recursive: true });
    await d.start();
    const settings = await d.call('getSettings', {});
    assert.ok(settings.trackers.length > 0 && settings.stunServers.length > 0, 'the defaults are there');
    const trackers = (await d.status()).trackers;
    assert.deepEqual(
      trackers.map((t) => [t.url, t.state]),
      settings.trackers.map((u) => [u, 'refused']),
    );
    assert.ok(trackers.every((t) => /PEERFOLD_NO_PUBLIC/.test(t.error ?? '')));
    assert.match(d.log, /is not used: PEERFOLD_NO_PUBLIC=1/);
  },
);
