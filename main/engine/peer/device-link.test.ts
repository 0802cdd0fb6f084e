// The device link against in-memory pipes: the real handshake, codec, share proofs, index
// exchange and block transfer, with a real index store on each end; only the transport is fake.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from '../keys/identity.ts';
import { createShareSecret, deriveShareKeys, weakenSecret, type ShareKeys } from '../keys/secrets.ts';
import { decodeMessage, encodeMessage, type FileEntryWire } from '../protocol/messages.ts';
import { DeviceLink, type DeviceLinkHost } from './device-link.ts';
import { INDEX_PAGE, INDEX_WINDOW } from './index-exchange.ts';
import { pipePair, type MemoryPipe } from './test-pipes.ts';

const base = mkdtempSync(join(tmpdir(), 'peerfold-link-'));
const stores: IndexStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
  rmSync(base, { recursive: true, force: true });
});

interface End {
  name: string;
  id: DeviceIdentity;
  store: IndexStore;
  home: string;
  /** shares held, by discovery ID, and whether each is active */
  held: Map<string, { keys: ShareKeys; active: boolean }>;
  logs: string[];
  changes: number;
  /** share IDs whose peer index was heard, once per batch */
  heard: string[];
  host: DeviceLinkHost;
  link: DeviceLink | null;
}

let counter = 0;
async function end(name: string, shares: ShareKeys[]): Promise<End> {
  const home = join(base, `${name}-${counter++}`);
  const id = loadOrCreateIdentity(home);
  const { store } = await IndexStore.open(join(home, 'index'), id.deviceId, { snapshotEveryMs: 0 });
  stores.push(store);
  const e: End = {
    name,
    id,
    store,
    home,
    held: new Map(),
    logs: [],
    changes: 0,
    heard: [],
    host: undefined as unknown as DeviceLinkHost,
    link: null,
  };
  for (const k of shares) hold(e, k);
  e.host = {
    self: { deviceId: id.deviceId, deviceName: () => name, fingerprint: id.fingerprint, clientVersion: 'test' },
    activeShare: (d) => {
      const h = e.held.get(d);
      return h && h.active ? h.keys : null;
    },
    sealing: () => null,
    shareRoot: (shareId) => join(home, shareId),
    store,
    remoteIndexChanged: (shareId) => e.heard.push(shareId),
    applyRemoteIndex: async (_shareId, write) => {
      write.apply();
      return true;
    },
    entryRejected: () => undefined,
    throttleSend: async () => undefined,
    log: (m) => e.logs.push(m),
    authenticated: (link) => link.activate([...e.held.values()].filter((h) => h.active).map((h) => h.keys)),
    sharesChanged: () => e.changes++,
    closed: () => undefined,
  };
  return e;
}

function hold(e: End, keys: ShareKeys): void {
  e.held.set(keys.discoveryIdHex, { keys, active: true });
  if (!e.store.getShare(keys.shareId)) {
    mkdirSync(join(e.home, keys.shareId), { recursive: true });
    e.store.addShare({
      id: keys.shareId,
      name: keys.shareId,
      path: join(e.home, keys.shareId),
      access: 'read-write',
      secret: 'unused',
      paused: false,
      createdAt: 0,
    });
  }
}

function record(e: End, shareId: string, path: string, sequence: number, content = ''): FileRecord {
  const data = Buffer.from(content);
  const chunks = data.length ? [{ hash: new Uint8Array(createHash('sha256').update(data).digest()), size: data.length }] : [];
  if (data.length) writeFileSync(join(e.home, shareId, path), data);
  const h = createHash('sha256');
  for (const c of chunks) h.update(c.hash);
  return {
    shareId,
    deviceId: e.id.deviceId,
    path,
    type: 'file',
    size: data.length,
    mode: 0o644,
    mtimeMs: 1000,
    inode: 1,
    symlinkTarget: null,
    version: { [e.id.deviceId]: sequence },
    sequence,
    deleted: false,
    chunks,
    hash: h.digest('hex'),
    modifiedBy: e.id.deviceId,
  };
}

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** b dials a over memory pipes, offering `offer` (the discovery IDs signaling agreed on). */
function connect(a: End, b: End, offer: string[], opts: { pingMs?: number } = {}): { ab: MemoryPipe; ba: MemoryPipe } {
  const [fromB, toA] = pipePair(
    { deviceId: b.id.deviceId, deviceName: b.name, fingerprint: b.id.fingerprint },
    { deviceId: a.id.deviceId, deviceName: a.name, fingerprint: a.id.fingerprint },
    offer,
  );
  a.link = new DeviceLink(toA, toA, a.host, { offer, pingMs: opts.pingMs });
  b.link = new DeviceLink(fromB, fromB, b.host, { offer, expectDeviceId: a.id.deviceId, pingMs: opts.pingMs });
  return { ab: toA, ba: fromB };
}

const hasFile = (e: End, shareId: string, from: End, path: string) => e.store.getFile(shareId, from.id.deviceId, path) !== null;

test('with the right secret both ends go live, connectedSince is set, and the index flows', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  a.store.putFiles([record(a, x.shareId, 'hello.txt', 1), record(a, x.shareId, 'world.txt', 2)]);
  connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'both live');
  assert.ok(a.link!.since! > 0 && b.link!.since! > 0);
  assert.deepEqual(b.link!.carriedShareIds(), [x.shareId]);
  await waitFor(() => hasFile(b, x.shareId, a, 'world.txt'), 'the index at b');
  await waitFor(() => a.link!.acknowledged(x.shareId) === 2, 'b acked');
});

test('a peer that knows the discovery ID but not the secret is refused, and nothing it sent is applied', async () => {
  const real = deriveShareKeys(createShareSecret());
  const forged: ShareKeys = {
    ...deriveShareKeys(createShareSecret()),
    discoveryId: real.discoveryId,
    discoveryIdHex: real.discoveryIdHex,
    shareId: real.shareId,
  };
  const [a, m] = [await end('owner', [real]), await end('impostor', [forged])];
  m.store.putFiles([record(m, real.shareId, 'planted.txt', 1)]);
  connect(a, m, [real.discoveryIdHex]);
  await waitFor(() => a.link!.current === 'closed' && m.link!.current === 'closed', 'both closed');
  assert.match(a.logs.join('\n'), /proof is wrong/);
  assert.equal(a.store.getFile(real.shareId, m.id.deviceId, 'planted.txt'), null);
});

test('a share added to a live link is proven over it and carried, without closing the link; the other share keeps flowing', async () => {
  const [x, y] = [deriveShareKeys(createShareSecret()), deriveShareKeys(createShareSecret())];
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const { ab } = connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'both live');
  const since = a.link!.since;

  // b adds y first: a does not hold it yet and refuses; the link stays
  hold(b, y);
  b.link!.offerShares([y]);
  await waitFor(() => ab.sent.some((s) => s.channel === 'index' && decodeMessage(s.bytes).type === 'shareResult'), 'a answered');
  assert.deepEqual(b.link!.carriedShareIds(), [x.shareId]);

  // then a joins y: it offers it, b proves it back, both carry it
  hold(a, y);
  a.store.putFiles([record(a, y.shareId, 'second.txt', 1)]);
  a.link!.offerShares([y]);
  await waitFor(() => a.link!.carries(y.shareId) && b.link!.carries(y.shareId), 'y carried both ways');
  await waitFor(() => hasFile(b, y.shareId, a, 'second.txt'), 'y index at b');
  a.store.putFiles([record(a, x.shareId, 'more.txt', 1)]);
  a.link!.pushIndex(x.shareId);
  await waitFor(() => hasFile(b, x.shareId, a, 'more.txt'), 'x index still flows');
  assert.equal(a.link!.current, 'live');
  assert.equal(a.link!.since, since, 'the same link all along');
  assert.ok(a.changes >= 1 && b.changes >= 1, 'both were told the share set changed');
});

test('withdrawing (pausing) a share stops only that share on the link; resuming carries it again', async () => {
  const [x, y] = [deriveShareKeys(createShareSecret()), deriveShareKeys(createShareSecret())];
  const [a, b] = [await end('a', [x, y]), await end('b', [x, y])];
  connect(a, b, [x.discoveryIdHex, y.discoveryIdHex]);
  await waitFor(() => a.link!.carries(y.shareId) && b.link!.carries(y.shareId), 'both carried');
  const since = b.link!.since;

  b.held.get(y.discoveryIdHex)!.active = false;
  b.link!.withdrawShare(y.discoveryIdHex, 'share paused');
  await waitFor(() => !a.link!.carries(y.shareId), 'a dropped y');
  assert.deepEqual(b.link!.carriedShareIds(), [x.shareId]);
  // a's later index changes of y go nowhere; x goes on
  a.store.putFiles([record(a, y.shareId, 'while-paused.txt', 1), record(a, x.shareId, 'x.txt', 1)]);
  a.link!.pushIndex(y.shareId);
  a.link!.pushIndex(x.shareId);
  await waitFor(() => hasFile(b, x.shareId, a, 'x.txt'), 'x flows');
  assert.equal(hasFile(b, y.shareId, a, 'while-paused.txt'), false);

  b.held.get(y.discoveryIdHex)!.active = true;
  b.link!.offerShares([y]);
  await waitFor(() => a.link!.carries(y.shareId) && b.link!.carries(y.shareId), 'y carried again');
  await waitFor(() => hasFile(b, y.shareId, a, 'while-paused.txt'), 'y catches up from the ack');
  assert.equal(b.link!.since, since);
  assert.equal(b.link!.current, 'live');
});

test('a proof made for another link is refused on this one (the transcript binds the link)', async () => {
  const [x, y] = [deriveShareKeys(createShareSecret()), deriveShareKeys(createShareSecret())];
  const [a, b] = [await end('a', [x, y]), await end('b', [x])];
  const first = connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'live');
  // a's proofs of y as sent on the first link, replayed by b on a second link to a
  a.link!.offerShares([y]);
  await waitFor(() => first.ab.sent.some((s) => decodeMessage(s.bytes).type === 'shareProofs'), 'a sent proofs');
  const replay = first.ab.sent.find((s) => decodeMessage(s.bytes).type === 'shareProofs')!.bytes;
  const [a2, b2] = [await end('a2', [x, y]), b];
  void a2;
  const second = connect(a, b2, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive, 'second link live');
  // the replayed message claims y to a with a's own proof: a's check fails, y is not readable by b
  await second.ba.send('index', replay);
  await waitFor(() => a.logs.some((l) => /proof is wrong/.test(l)), 'a refused the replayed proof');
  assert.equal(a.link!.carries(y.shareId), false);
  assert.equal(b2.link!.carries(y.shareId), false);
});

test('an index message for a share the link never carried ends the link as a protocol violation', async () => {
  const [x, z] = [deriveShareKeys(createShareSecret()), deriveShareKeys(createShareSecret())];
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const { ba } = connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'live');
  await ba.send('index', encodeMessage({ type: 'indexAck', share: z.discoveryIdHex, indexId: 1, sequence: 0 }));
  await waitFor(() => a.link!.current === 'closed', 'a closed');
  assert.match(a.link!.endedWith!, /protocol violation/);
});

test('a link whose peer vanished without a word fails its probe and is closed after three missed pings; a live one answers', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const { ab } = connect(a, b, [x.discoveryIdHex], { pingMs: 100 });
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'live');
  assert.equal(await a.link!.probe(2_000), true, 'a live peer answers');
  // quiet but alive: pings keep it up well past three ping intervals
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(a.link!.current, 'live');
  ab.cut();
  assert.equal(await a.link!.probe(300), false, 'a vanished peer does not');
  await waitFor(() => a.link!.current === 'closed' && b.link!.current === 'closed', 'both give up');
  assert.match(a.link!.endedWith!, /no answer/);
});

test('blocks: a chunk is served, and many requests on one abort signal use one listener and fail together', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const rec = record(a, x.shareId, 'data.bin', 1, 'the bytes of a chunk');
  a.store.putFiles([rec]);
  const { ab } = connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'live');
  const got = await b.link!.fetchChunk(x.discoveryIdHex, 'data.bin', rec.chunks[0]!.hash, 0, rec.size, new AbortController().signal);
  assert.equal(Buffer.from(got as Uint8Array).toString(), 'the bytes of a chunk');

  // a stops answering; 50 requests share one signal (more than the in-flight limit: some wait)
  ab.cut();
  const abort = new AbortController();
  const tracker = (b.link as unknown as { tracker: { listeners: number } }).tracker;
  const all = Array.from({ length: 50 }, () =>
    b.link!.fetchChunk(x.discoveryIdHex, 'data.bin', rec.chunks[0]!.hash, 0, rec.size, abort.signal),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(tracker.listeners, 1, 'one abort listener for one signal');
  abort.abort(new Error('file done elsewhere'));
  const results = await Promise.allSettled(all);
  assert.ok(results.every((r) => r.status === 'rejected' && /file done elsewhere/.test(String(r.reason))));
  assert.equal(tracker.listeners, 0);
  assert.equal(b.link!.inFlight, 0);
});

test('blocks of a plain (not encrypted) share: requesting a chunk looks up no share (it was a query per chunk)', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const rec = record(a, x.shareId, 'data.bin', 1, 'the bytes of a chunk');
  a.store.putFiles([rec]);
  connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive && hasFile(b, x.shareId, a, 'data.bin'), 'live, the index exchanged');
  await new Promise((r) => setTimeout(r, 200)); // the acknowledgements of the index
  // the requesting end (the serving end's lookup is the block server's)
  let lookups = 0;
  const activeShare = b.host.activeShare;
  b.host.activeShare = (d) => (lookups++, activeShare(d));
  for (let i = 0; i < 20; i++) {
    const got = await b.link!.fetchChunk(x.discoveryIdHex, 'data.bin', rec.chunks[0]!.hash, 0, rec.size, new AbortController().signal);
    assert.equal(Buffer.from(got as Uint8Array).toString(), 'the bytes of a chunk');
  }
  assert.equal(lookups, 0);
});

test('a peer with nothing to send says so once: the other side hears its (empty) index and acknowledges it', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  connect(a, b, [x.discoveryIdHex]);
  await waitFor(() => a.link!.isLive && b.link!.isLive, 'live');
  // neither has any entry: each still learns it holds all of the other's index
  await waitFor(() => a.heard.includes(x.shareId) && b.heard.includes(x.shareId), 'both heard an index');
  await waitFor(() => b.store.getPeer(x.shareId, a.id.deviceId) !== null, 'b recorded a');
  assert.equal(b.store.peerIndexId(x.shareId, a.id.deviceId), a.store.localIndexId(x.shareId));
});

test('a long index goes out page after page without waiting for the peer to acknowledge any (no round trip per batch)', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  a.store.putFiles(Array.from({ length: 1600 }, (_, i) => record(a, x.shareId, `f${i}.txt`, i + 1)));
  // b writes nothing until released: no indexAck can come back meanwhile
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  b.host.applyRemoteIndex = async (_shareId, write) => {
    await held;
    write.apply();
    return true;
  };
  const { ab } = connect(a, b, [x.discoveryIdHex]);
  const updates = () =>
    ab.sent
      .filter((m) => m.channel === 'index')
      .map((m) => decodeMessage(m.bytes))
      .filter((m) => m.type === 'indexUpdate' || m.type === 'indexChunks');
  // 1600 entries are four pages of INDEX_PAGE: all of them sent with not one acknowledged
  await waitFor(
    () => updates().some((m) => m.type === 'indexUpdate' && m.entries.some((e) => e.path === 'f1599.txt')),
    'the last page sent',
  );
  assert.equal(a.link!.acknowledged(x.shareId), 0, 'nothing acknowledged yet');
  // each ack is kept, not committed: a durable write per ack was an fdatasync on a's main thread
  let peerRowWrites = 0;
  const updatePeer = a.store.updatePeer.bind(a.store);
  a.store.updatePeer = (...args) => {
    peerRowWrites++;
    return updatePeer(...args);
  };
  release();
  await waitFor(() => a.link!.acknowledged(x.shareId) === 1600, 'b acked all');
  assert.ok(peerRowWrites <= 1, `${peerRowWrites} writes of b's row for b's (empty) index and four acks`);
});

test('a peer that writes index pages slowly has at most the window of them waiting: the sender waits for its acks, and every entry arrives', async () => {
  const x = deriveShareKeys(createShareSecret());
  const [a, b] = [await end('a', [x]), await end('b', [x])];
  const pages = INDEX_WINDOW.pages * 3;
  a.store.putFiles(Array.from({ length: pages * INDEX_PAGE }, (_, i) => record(a, x.shareId, `f${i}.txt`, i + 1)));
  const { ab } = connect(a, b, [x.discoveryIdHex]);
  const pagesSent = () =>
    ab.sent
      .filter((m) => m.channel === 'index')
      .map((m) => decodeMessage(m.bytes))
      .filter((m) => m.type === 'indexUpdate' && m.entries.length > 0).length;
  // b writes a page every 30 ms (a share loop busy pulling): what a sent and b has not written waits in b's link
  let written = 0;
  let mostWaiting = 0;
  b.host.applyRemoteIndex = async (_shareId, write) => {
    mostWaiting = Math.max(mostWaiting, pagesSent() - written);
    await new Promise((r) => setTimeout(r, 30));
    write.apply();
    if (write.records.length) written++;
    return true;
  };
  await waitFor(() => hasFile(b, x.shareId, a, `f${pages * INDEX_PAGE - 1}.txt`), 'the last entry written', 60_000);
  assert.equal(written, pages);
  assert.ok(mostWaiting <= INDEX_WINDOW.pages, `${mostWaiting} pages sent and not yet written at once (window ${INDEX_WINDOW.pages})`);
  await waitFor(() => a.link!.acknowledged(x.shareId) === pages * INDEX_PAGE, 'b acked all');
});

/** The index entries one end sent over a pipe, by path. */
function entriesSent(pipe: MemoryPipe): Map<string, FileEntryWire> {
  const out = new Map<string, FileEntryWire>();
  for (const m of pipe.sent) {
    if (m.channel !== 'index') continue;
    const msg = decodeMessage(m.bytes);
    if (msg.type === 'indexUpdate') for (const e of msg.entries) out.set(e.path, e);
  }
  return out;
}

test('between two writers entries travel unsigned and are applied; a read-only member gets them signed by the writer that relays them', async () => {
  const secret = createShareSecret();
  const [rw, ro] = [deriveShareKeys(secret), deriveShareKeys(weakenSecret(secret, 'read-only'))];
  const [a, b, r] = [await end('a', [rw]), await end('b', [rw]), await end('r', [ro])];
  const rejected: string[] = [];
  for (const e of [a, b, r]) e.host.entryRejected = (_s, from, path, reason) => rejected.push(`${e.name}: ${path} from ${from}: ${reason}`);
  a.store.putFiles([record(a, rw.shareId, 'hello.txt', 1, 'from a')]);
  const { ab } = connect(a, b, [rw.discoveryIdHex]);
  await waitFor(() => hasFile(b, rw.shareId, a, 'hello.txt'), "a's entry at b");
  assert.equal(entriesSent(ab).get('hello.txt')!.signature.length, 0, 'a writer sends a writer no signature');
  assert.equal(b.store.getFile(rw.shareId, a.id.deviceId, 'hello.txt')!.signature ?? null, null);

  // b took a's version (as a pull would) and passes it on to a read-only member: signed by b
  const got = b.store.getFile(rw.shareId, a.id.deviceId, 'hello.txt')!;
  b.store.putFiles([{ ...got, deviceId: b.id.deviceId, sequence: 1 }]);
  const { ab: br } = connect(b, r, [rw.discoveryIdHex]);
  await waitFor(() => hasFile(r, rw.shareId, b, 'hello.txt'), 'the version at r');
  assert.equal(entriesSent(br).get('hello.txt')!.signature.length, 96, 'a read-only member gets a signed entry');
  assert.equal(r.store.getFile(rw.shareId, b.id.deviceId, 'hello.txt')!.signature!.length, 96, 'and keeps the signature, to relay it');
  assert.deepEqual(rejected, []);
});

test('a read-only member that sends an unsigned entry is still refused by a writer; an altered entry from a writer is refused by a read-only member', async () => {
  const secret = createShareSecret();
  const [rw, ro] = [deriveShareKeys(secret), deriveShareKeys(weakenSecret(secret, 'read-only'))];
  const [a, r] = [await end('a', [rw]), await end('r', [ro])];
  const rejected: string[] = [];
  for (const e of [a, r]) e.host.entryRejected = (_s, from, path, reason) => rejected.push(`${e.name}: ${path} from ${from}: ${reason}`);
  // r sends its own change unsigned (the test hook a forging device uses)
  r.host.forgeEntry = (e) => ({ ...e, signature: new Uint8Array(0) });
  r.store.putFiles([record(r, rw.shareId, 'planted.txt', 1, 'made up')]);
  // a raises the version of what it sends under the signature it made
  a.host.forgeEntry = (e) => ({ ...e, version: { ...e.version, [e.modifiedBy]: (e.version[e.modifiedBy] ?? 0) + 1000 } });
  a.store.putFiles([record(a, rw.shareId, 'hello.txt', 1, 'from a')]);
  const { ab: ar, ba: ra } = connect(a, r, [rw.discoveryIdHex]);
  await waitFor(() => rejected.length === 2, 'both refusals');
  assert.equal(entriesSent(ra).get('planted.txt')!.signature.length, 0);
  assert.equal(entriesSent(ar).get('hello.txt')!.signature.length, 96);
  assert.deepEqual(rejected.sort(), [
    'a: planted.txt from r: it is not signed',
    'r: hello.txt from a: its signature does not match its contents',
  ]);
  assert.equal(a.store.getFile(rw.shareId, r.id.deviceId, 'planted.txt'), null);
  assert.equal(r.store.getFile(rw.shareId, a.id.deviceId, 'hello.txt'), null);
  assert.ok(a.link!.isLive && r.link!.isLive, 'a refused entry is no protocol error');
});
