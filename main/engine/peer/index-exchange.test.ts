// The index exchange's window of unacknowledged pages (INDEX_WINDOW): a real index store sends its
// index, the test plays the peer's acks (or withholds them) and reads what went out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { EntrySigner } from '../keys/entry-signing.ts';
import { loadOrCreateIdentity } from '../keys/identity.ts';
import { createShareSecret, deriveShareKeys } from '../keys/secrets.ts';
import type { Message } from '../protocol/messages.ts';
import { IndexExchange, INDEX_PAGE, INDEX_WINDOW, type IndexWindow } from './index-exchange.ts';

const base = mkdtempSync(join(tmpdir(), 'peerfold-index-window-'));
const stores: IndexStore[] = [];
const exchanges: IndexExchange[] = [];
after(async () => {
  // a failed test must not leave a send loop waiting on its timer
  for (const ex of exchanges) ex.stop();
  for (const s of stores) await s.close();
  rmSync(base, { recursive: true, force: true });
});

const SELF = loadOrCreateIdentity(join(base, 'self')).deviceId;
const PEER = loadOrCreateIdentity(join(base, 'peer')).deviceId;
let n = 0;

/** A sender with `files` entries of its own (one chunk each), and every message it sends. */
async function sender(files: number, window?: IndexWindow) {
  const keys = deriveShareKeys(createShareSecret());
  const { store } = await IndexStore.open(join(base, `s${n++}`), SELF, { snapshotEveryMs: 0 });
  stores.push(store);
  store.addShare({
    id: keys.shareId,
    name: 'x',
    path: join(base, 'x'),
    access: 'read-write',
    secret: 'unused',
    paused: false,
    createdAt: 0,
  });
  const records: FileRecord[] = [];
  for (let i = 1; i <= files; i++) {
    const hash = new Uint8Array(createHash('sha256').update(`f${i}`).digest());
    records.push({
      shareId: keys.shareId,
      deviceId: SELF,
      path: `f${i}.txt`,
      type: 'file',
      size: 10,
      mode: 0o644,
      mtimeMs: 1000,
      inode: i,
      symlinkTarget: null,
      version: { [SELF]: i },
      sequence: i,
      deleted: false,
      chunks: [{ hash, size: 10 }],
      hash: createHash('sha256').update(hash).digest('hex'),
      modifiedBy: SELF,
    });
  }
  store.putFiles(records);
  const sent: Message[] = [];
  const ex = new IndexExchange(keys.shareId, keys.discoveryIdHex, {
    self: SELF,
    peer: { deviceId: PEER, name: () => 'peer' },
    store,
    send: async (m) => {
      sent.push(m);
    },
    active: () => true,
    remoteIndexChanged: () => undefined,
    applyRemote: async (w) => {
      w.apply();
      return true;
    },
    signer: new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret),
    rejected: () => undefined,
    peerWrites: true,
    ...(window ? { window } : {}),
  });
  exchanges.push(ex);
  const highestSent = () => {
    let max = 0;
    for (const m of sent) if (m.type === 'indexUpdate') for (const e of m.entries) max = Math.max(max, e.sequence);
    return max;
  };
  const ack = (sequence: number, indexId = store.localIndexId(keys.shareId)) =>
    ex.receive({ type: 'indexAck', share: keys.discoveryIdHex, indexId, sequence });
  return { ex, store, sent, highestSent, ack };
}

async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

test('a device sends at most the window of unacknowledged pages, and one more page per page the peer acknowledges', async () => {
  const pages = INDEX_WINDOW.pages + 3;
  const s = await sender(pages * INDEX_PAGE);
  // a new device: it knows nothing of this index (index ID 0)
  await s.ack(0, 0);
  await settle();
  assert.equal(s.highestSent(), INDEX_WINDOW.pages * INDEX_PAGE, 'the window, and not a page more');
  assert.equal(s.ex.pagesInFlight, INDEX_WINDOW.pages);
  await settle(50);
  assert.equal(s.highestSent(), INDEX_WINDOW.pages * INDEX_PAGE, 'still waiting for an ack');
  // the peer wrote the first page
  await s.ack(INDEX_PAGE);
  await settle();
  assert.equal(s.highestSent(), (INDEX_WINDOW.pages + 1) * INDEX_PAGE);
  // an ack of a part of a page frees nothing
  await s.ack(INDEX_PAGE + 10);
  await settle();
  assert.equal(s.highestSent(), (INDEX_WINDOW.pages + 1) * INDEX_PAGE);
  // it wrote everything sent: the rest goes
  await s.ack((INDEX_WINDOW.pages + 1) * INDEX_PAGE);
  await settle();
  assert.equal(s.highestSent(), pages * INDEX_PAGE);
  await s.ack(pages * INDEX_PAGE);
  assert.equal(s.ex.pagesInFlight, 0);
  assert.equal(s.ex.acknowledged, pages * INDEX_PAGE);
  s.ex.stop();
});

test('a peer whose acks never come still gets the whole index: each wait that times out doubles the window', async () => {
  const s = await sender(12 * INDEX_PAGE + 7, { pages: 2, ackWaitMs: 40 });
  await s.ack(0, 0);
  await settle();
  assert.equal(s.highestSent(), 2 * INDEX_PAGE, 'the window first');
  // 2 -> 4 -> 8 -> 16 pages: three timeouts
  const t0 = Date.now();
  while (s.highestSent() < 12 * INDEX_PAGE + 7) {
    assert.ok(Date.now() - t0 < 5_000, `stalled at ${s.highestSent()}`);
    await settle();
  }
  // an ack that moves sets the window back
  await s.ack(12 * INDEX_PAGE + 7);
  assert.equal(s.ex.pagesInFlight, 0);
  s.ex.stop();
});

test("acks that name another index ID (a peer that answers index ID 0) never stall the send: it falls back on the wait's timeout", async () => {
  const s = await sender(6 * INDEX_PAGE, { pages: 2, ackWaitMs: 30 });
  await s.ack(0, 0);
  const t0 = Date.now();
  while (s.highestSent() < 6 * INDEX_PAGE) {
    await s.ack(s.highestSent(), 0);
    assert.ok(Date.now() - t0 < 5_000, `stalled at ${s.highestSent()}`);
    await settle(5);
  }
  s.ex.stop();
});

test('stopping the exchange wakes a send loop that waits for room, and nothing more is sent', async () => {
  const s = await sender(3 * INDEX_PAGE, { pages: 1, ackWaitMs: 60_000 });
  await s.ack(0, 0);
  await settle();
  assert.equal(s.highestSent(), INDEX_PAGE);
  s.ex.stop();
  await settle();
  assert.equal(s.ex.current, 'stopped');
  assert.equal(s.highestSent(), INDEX_PAGE);
});
