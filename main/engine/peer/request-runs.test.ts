// The requester's side of requestRun (PROTOCOL.md, "Block transfer"): consecutive chunks of one
// file go out as runs once the peer said it answers them, requests waiting for room go out in
// groups, and a peer that never said so gets single requests only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestTracker, runsOf } from './request-tracker.ts';
import type { BlockRequest, RequestRun } from '../protocol/messages.ts';
import type { WindowConfig } from './flight-window.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const share = 'ab'.repeat(20);
const hash = (n: number) => new Uint8Array(32).fill(n);
const tick = () => new Promise((r) => setImmediate(r));

function tracker(window: WindowConfig = { initialBytes: 2 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 256 }) {
  const singles: BlockRequest[] = [];
  const runs: RequestRun[] = [];
  // a clock that stands still: the window keeps its size however slowly the test runs
  const t = new RequestTracker(async (m) => void singles.push(m), { window, now: () => 0, sendRun: async (m) => void runs.push(m) });
  return { t, singles, runs };
}

/** Every id a message sent stands for, with its offset and size. */
function asked(singles: BlockRequest[], runs: RequestRun[]) {
  const out: { id: number; offset: number; size: number }[] = singles.map((r) => ({ id: r.id, offset: r.offset, size: r.size }));
  for (const r of runs) {
    let offset = r.offset;
    r.chunks.forEach((c, i) => {
      out.push({ id: r.id + i, offset, size: c.size });
      offset += c.size;
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

test('runsOf: consecutive ranges of one file with consecutive ids form a run, within the limits', () => {
  const r = (id: number, path: string, offset: number, size: number): BlockRequest => ({
    type: 'request',
    id,
    share,
    path,
    hash: hash(id),
    offset,
    size,
  });
  const reqs = [
    r(1, 'a', 0, 100),
    r(2, 'a', 100, 50),
    r(3, 'a', 150, 10),
    r(4, 'b', 160, 10),
    r(5, 'b', 170, 10),
    r(7, 'b', 180, 10),
    r(8, 'b', 999, 1),
  ];
  assert.deepEqual(
    runsOf(reqs, { maxChunks: 16, maxBytes: 1 * MiB }).map((g) => g.map((x) => x.id)),
    [[1, 2, 3], [4, 5], [7], [8]],
  );
  assert.deepEqual(
    runsOf(reqs, { maxChunks: 2, maxBytes: 1 * MiB }).map((g) => g.map((x) => x.id)),
    [[1, 2], [3], [4, 5], [7], [8]],
  );
  assert.deepEqual(
    runsOf(reqs, { maxChunks: 16, maxBytes: 150 }).map((g) => g.map((x) => x.id)),
    [[1, 2], [3], [4, 5], [7], [8]],
  );
});

test('without the peer saying it answers runs, every request goes alone (an older peer)', async () => {
  const { t, singles, runs } = tracker();
  const ac = new AbortController();
  const ps = Array.from({ length: 6 }, (_, i) => t.fetchChunk(share, 'f', hash(i), i * 64 * KiB, 64 * KiB, ac.signal));
  await tick();
  assert.equal(runs.length, 0);
  assert.equal(singles.length, 6);
  for (const m of singles) t.answered({ type: 'response', id: m.id, status: 'ok', data: new Uint8Array(m.size) });
  assert.equal((await Promise.all(ps)).length, 6);
});

test('once the peer answers runs, the chunks of a file asked for together go out as runs, and each answer settles its chunk', async () => {
  const { t, singles, runs } = tracker();
  t.peerServesRuns({ maxChunks: 16, maxBytes: 1 * MiB });
  const ac = new AbortController();
  const sizes = [70 * KiB, 100 * KiB, 20 * KiB, 256 * KiB, 64 * KiB, 64 * KiB];
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const ps = sizes.map((size, i) => t.fetchChunk(share, 'f', hash(i), offsets[i]!, size, ac.signal));
  await tick();
  assert.ok(runs.length >= 1, 'a run went out');
  // every range asked for once, in order, with nothing missing: the 256 KiB chunk as its two parts
  const all = asked(singles, runs);
  assert.equal(
    all.reduce((n, a) => n + a.size, 0),
    sizes.reduce((a, b) => a + b, 0),
  );
  for (let i = 1; i < all.length; i++) assert.equal(all[i]!.offset, all[i - 1]!.offset + all[i - 1]!.size);
  assert.equal(new Set(all.map((a) => a.id)).size, all.length);
  // answered in any order, one response per id
  for (const a of all.reverse()) t.answered({ type: 'response', id: a.id, status: 'ok', data: new Uint8Array(a.size).fill(a.id & 0xff) });
  const got = await Promise.all(ps);
  got.forEach((g, i) => assert.equal((g as Uint8Array).length, sizes[i]));
  assert.equal(t.inFlight, 0);
});

test('with runs on, requests that wait for room go out in groups as answers free a run of it, not one per answer', async () => {
  const { t, singles, runs } = tracker({ initialBytes: 1 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 256 });
  t.peerServesRuns({ maxChunks: 16, maxBytes: 1 * MiB });
  const ac = new AbortController();
  const n = 64;
  const ps = Array.from({ length: n }, (_, i) => t.fetchChunk(share, 'f', hash(i), i * 64 * KiB, 64 * KiB, ac.signal));
  await tick();
  const first = asked(singles, runs);
  assert.equal(first.length, 16, 'a window of 1 MiB: sixteen 64 KiB chunks');
  assert.equal(runs.length, 1, 'as one run');
  const messagesBefore = singles.length + runs.length;
  // answer one at a time: nothing goes out until a quarter of the window (256 KiB) is free
  const sentIds = () => asked(singles, runs).length;
  for (const a of first.slice(0, 3)) {
    t.answered({ type: 'response', id: a.id, status: 'ok', data: new Uint8Array(a.size) });
    await tick();
  }
  assert.equal(sentIds(), 16, 'three answers free 192 KiB: held back');
  t.answered({ type: 'response', id: first[3]!.id, status: 'ok', data: new Uint8Array(first[3]!.size) });
  await tick();
  assert.equal(sentIds(), 20, 'the fourth frees 256 KiB: four more go');
  assert.equal(singles.length + runs.length, messagesBefore + 1, 'in one message');
  // the rest, answered as they go out
  for (let done = 4; done < n; done++) {
    const all = asked(singles, runs);
    t.answered({ type: 'response', id: all[done]!.id, status: 'ok', data: new Uint8Array(all[done]!.size) });
    await tick();
  }
  assert.equal((await Promise.all(ps)).length, n);
  assert.ok(singles.length + runs.length <= n / 3, `${singles.length + runs.length} messages for ${n} chunks`);
});

test('a run whose send fails fails each of its requests; resent requests after a carrier change go again', async () => {
  const singles: BlockRequest[] = [];
  const runs: RequestRun[] = [];
  let failRuns = true;
  const t = new RequestTracker(async (m) => void singles.push(m), {
    sendRun: async (m) => {
      if (failRuns) throw new Error('stream gone');
      runs.push(m);
    },
  });
  t.peerServesRuns({ maxChunks: 16, maxBytes: 1 * MiB });
  const ac = new AbortController();
  const ps = [0, 1, 2].map((i) => t.fetchChunk(share, 'f', hash(i), i * 1000, 1000, ac.signal));
  const results = await Promise.allSettled(ps);
  assert.ok(results.every((r) => r.status === 'rejected' && /stream gone/.test(String(r.reason))));
  assert.equal(t.inFlight, 0);
  failRuns = false;
  const again = [0, 1].map((i) => t.fetchChunk(share, 'f', hash(i), i * 1000, 1000, ac.signal));
  await tick();
  assert.equal(runs.length, 1);
  assert.equal(t.resendPending(), 2);
  await tick();
  assert.equal(runs.length, 2, 'sent again, as a run again');
  for (const a of asked([], [runs[1]!])) t.answered({ type: 'response', id: a.id, status: 'ok', data: new Uint8Array(a.size) });
  assert.equal((await Promise.all(again)).length, 2);
});

test('requests for different files (small files) are not held back: each answer lets the next go', async () => {
  const { t, singles, runs } = tracker({ initialBytes: 1 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 256 });
  t.peerServesRuns({ maxChunks: 16, maxBytes: 1 * MiB });
  const ac = new AbortController();
  const ps = Array.from({ length: 24 }, (_, i) => t.fetchChunk(share, `file-${i}`, hash(i), 0, 64 * KiB, ac.signal));
  await tick();
  assert.equal(singles.length, 16);
  assert.equal(runs.length, 0, 'no run across files');
  t.answered({ type: 'response', id: singles[0]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
  await tick();
  assert.equal(singles.length, 17, 'one answer, the next file goes at once');
  for (let i = 1; i < 24; i++) {
    t.answered({ type: 'response', id: singles[i]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
    await tick();
  }
  assert.equal((await Promise.all(ps)).length, 24);
});
