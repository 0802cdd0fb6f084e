// Two device links over a real node-datachannel link (real device certificates, loopback): the
// handshake admits a peer only with the share's secret, and the index flows only after it.
// (device-link.test.ts covers the rest against in-memory pipes.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from '../keys/identity.ts';
import { createShareSecret, deriveShareKeys, type ShareKeys } from '../keys/secrets.ts';
import { dial, listenSignaling } from '../net/signaling.ts';
import { shutdownNet, type PeerLink } from '../net/transport.ts';
import { DeviceLink, type DeviceLinkHost } from './device-link.ts';

const base = mkdtempSync(join(tmpdir(), 'peerfold-session-'));
after(async () => {
  await shutdownNet('test over');
  rmSync(base, { recursive: true, force: true });
});

interface End {
  id: DeviceIdentity;
  store: IndexStore;
  keys: ShareKeys;
  logs: string[];
  closedWith: string | null;
  accepted: boolean;
  host: DeviceLinkHost;
  /** this end's link, once the handshake admitted the peer */
  link?: DeviceLink;
}

async function end(name: string, keys: ShareKeys): Promise<End> {
  const home = join(base, name);
  const id = loadOrCreateIdentity(home);
  const { store } = await IndexStore.open(join(home, 'index'), id.deviceId);
  store.addShare({
    id: keys.shareId,
    name: 's',
    path: join(home, 'share'),
    access: 'read-write',
    secret: 'unused',
    paused: false,
    createdAt: 0,
  });
  const e: End = { id, store, keys, logs: [], closedWith: null, accepted: false, host: undefined as unknown as DeviceLinkHost };
  e.host = {
    self: { deviceId: id.deviceId, deviceName: () => name, fingerprint: id.fingerprint, clientVersion: 'test' },
    activeShare: (d) => (d === keys.discoveryIdHex ? keys : null),
    sealing: () => null,
    shareRoot: () => join(home, 'share'),
    store,
    entryRejected: () => undefined,
    remoteIndexChanged: () => undefined,
    applyRemoteIndex: async (_shareId, write) => {
      write.apply();
      return true;
    },
    throttleSend: async () => undefined,
    log: (m) => e.logs.push(m),
    authenticated: (link) => {
      e.accepted = true;
      e.link = link;
      link.activate();
    },
    sharesChanged: () => undefined,
    closed: (_l, reason) => (e.closedWith = reason),
  };
  return e;
}

function record(e: End, path: string, sequence: number): FileRecord {
  return {
    shareId: e.keys.shareId,
    deviceId: e.id.deviceId,
    path,
    type: 'file',
    size: 0,
    mode: 0o644,
    mtimeMs: 1000,
    inode: 1,
    symlinkTarget: null,
    version: { [e.id.deviceId]: sequence },
    sequence,
    deleted: false,
    chunks: [],
    hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    modifiedBy: e.id.deviceId,
  };
}

/** Connects b to a over real signaling and data channels and runs a session on each end. */
async function connect(a: End, b: End): Promise<void> {
  let answerer: PeerLink | null = null;
  const listener = await listenSignaling({
    port: 0,
    host: '127.0.0.1',
    device: { deviceId: a.id.deviceId, deviceName: 'a' },
    accept: () => true,
    link: { certPemFile: a.id.certPemPath, keyPemFile: a.id.keyPemPath, bindAddress: '127.0.0.1' },
    onLink: (link) => {
      answerer = link;
      new DeviceLink(link, link, a.host, { offer: link.peer?.discoveryIds ?? [] });
    },
  });
  const offerer = await dial('127.0.0.1', listener.port, {
    device: { deviceId: b.id.deviceId, deviceName: 'b' },
    discoveryIds: [b.keys.discoveryIdHex],
    link: { certPemFile: b.id.certPemPath, keyPemFile: b.id.keyPemPath, bindAddress: '127.0.0.1' },
  });
  new DeviceLink(offerer, offerer, b.host, { offer: offerer.peer?.discoveryIds ?? [], expectDeviceId: a.id.deviceId });
  await waitFor(() => (a.accepted && b.accepted) || a.closedWith !== null || b.closedWith !== null);
  void answerer;
  await listener.close();
}

async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test(
  "a peer that knows the share's discovery ID but not its secret is refused on both sides, and nothing it sent is applied",
  { timeout: 60_000 },
  async () => {
    const real = deriveShareKeys(createShareSecret());
    const forged: ShareKeys = {
      ...deriveShareKeys(createShareSecret()),
      discoveryId: real.discoveryId,
      discoveryIdHex: real.discoveryIdHex,
      shareId: real.shareId,
    };
    const a = await end('owner', real);
    const m = await end('impostor', forged);
    m.store.putFiles([record(m, 'planted.txt', 1)]);
    await connect(a, m);
    await waitFor(() => a.closedWith !== null && m.closedWith !== null);
    assert.equal(a.accepted, false);
    assert.equal(m.accepted, false);
    assert.match(a.logs.join('\n'), /proof is wrong/);
    assert.equal(a.store.getFile(real.shareId, m.id.deviceId, 'planted.txt'), null, 'nothing from the impostor reached the index');
  },
);

test('with the right secret, the handshake admits the peer and its index arrives', { timeout: 60_000 }, async () => {
  const keys = deriveShareKeys(createShareSecret());
  const a = await end('first', keys);
  const b = await end('second', keys);
  a.store.putFiles([record(a, 'hello.txt', 1), record(a, 'dir/world.txt', 2)]);
  await connect(a, b);
  assert.equal(a.closedWith, null, a.logs.join('\n'));
  await waitFor(() => b.store.getFile(keys.shareId, a.id.deviceId, 'dir/world.txt') !== null);
  assert.equal(b.store.getPeer(keys.shareId, a.id.deviceId)?.remoteSeqSeen, 2);
  await waitFor(() => a.link!.acknowledged(keys.shareId) === 2);
});
