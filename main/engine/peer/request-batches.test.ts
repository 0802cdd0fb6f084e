// The requester's side of requestBatch (PROTOCOL.md, "Block transfer"): small requests of one
// share that go out in one turn of the event loop travel as one batch once the peer said it answers
// them, each answer of the batch settles its own request, and a peer that never said so gets none.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_PART_MAX_BYTES, RequestTracker, packRequests } from './request-tracker.ts';
import type { BlockRequest, RequestBatch, RequestRun, ResponseBatch } from '../protocol/messages.ts';
import type { WindowConfig } from './flight-window.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const share = 'ab'.repeat(20);
const other = 'cd'.repeat(20);
const hash = (n: number) => new Uint8Array(32).fill(n & 0xff);
const tick = () => new Promise((r) => setImmediate(r));

function tracker(window: WindowConfig = { initialBytes: 2 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 256 }) {
  const singles: BlockRequest[] = [];
  const runs: RequestRun[] = [];
  const batches: RequestBatch[] = [];
  const t = new RequestTracker(async (m) => void singles.push(m), {
    window,
    now: () => 0,
    sendRun: async (m) => void runs.push(m),
    sendBatch: async (m) => void batches.push(m),
  });
  return { t, singles, runs, batches };
}

/** The answer a peer gives to `b`: each request's bytes (filled with its id), or `status` for the ids in `failing`. */
function answer(b: RequestBatch, failing: Map<number, 'changed' | 'not-found'> = new Map()): ResponseBatch {
  return {
    type: 'responseBatch',
    id: b.id,
    answers: b.requests.map((r, i) => {
      const status = failing.get(b.id + i);
      return status ? { status, data: new Uint8Array(0) } : { status: 'ok' as const, data: new Uint8Array(r.size).fill((b.id + i) & 0xff) };
    }),
  };
}

test('packRequests: small requests of one share with consecutive ids form batches within the limits; runs and big requests go as before', () => {
  const r = (id: number, path: string, offset: number, size: number, s = share): BlockRequest => ({
    type: 'request',
    id,
    share: s,
    path,
    hash: hash(id),
    offset,
    size,
  });
  const reqs = [
    r(1, 'a', 0, 1000),
    r(2, 'b', 0, 2000),
    r(3, 'c', 0, 3000),
    r(4, 'big', 0, BATCH_PART_MAX_BYTES + 1),
    r(5, 'd', 0, 10),
    r(6, 'e', 0, 10, other),
    r(7, 'f', 0, 10, other),
    r(9, 'g', 0, 10, other),
    r(10, 'run', 0, 100),
    r(11, 'run', 100, 100),
    r(12, 'h', 0, 10),
    r(13, 'i', 0, 10),
    r(14, 'j', 0, 10),
  ];
  const shape = (runs: boolean, maxRequests = 64, maxBytes = 192 * KiB) =>
    packRequests(reqs, runs ? { maxChunks: 16, maxBytes: MiB } : null, { maxRequests, maxBytes }).map(
      (o) => `${o.kind}:${o.reqs.map((x) => x.id).join(',')}`,
    );
  assert.deepEqual(shape(true), ['batch:1,2,3', 'single:4', 'single:5', 'batch:6,7', 'single:9', 'run:10,11', 'batch:12,13,14']);
  // without runs, the two ranges of one file are small requests like any other
  assert.deepEqual(shape(false).slice(-1), ['batch:10,11,12,13,14']);
  // the peer's limits: requests per batch, bytes per batch
  assert.deepEqual(shape(true, 2).slice(0, 2), ['batch:1,2', 'single:3']);
  assert.deepEqual(shape(true, 64, 2500).slice(0, 2), ['single:1', 'single:2']);
  // without batches, nothing is batched
  assert.ok(packRequests(reqs, null, null).every((o) => o.kind === 'single'));
});

test('without the peer saying it answers batches, every small request goes alone (an older peer)', async () => {
  const { t, singles, batches } = tracker();
  t.peerServesRuns({ maxChunks: 16, maxBytes: 1 * MiB });
  const ac = new AbortController();
  const ps = Array.from({ length: 20 }, (_, i) => t.fetchChunk(share, `file-${i}`, hash(i), 0, 4 * KiB, ac.signal));
  await tick();
  assert.equal(batches.length, 0);
  assert.equal(singles.length, 20);
  for (const m of singles) t.answered({ type: 'response', id: m.id, status: 'ok', data: new Uint8Array(m.size) });
  assert.equal((await Promise.all(ps)).length, 20);
});

test('once the peer answers batches, small files asked for together go out as one batch; each answer settles its own file, a changed one alone', async () => {
  const { t, singles, batches } = tracker();
  t.peerServesBatches({ maxRequests: 64, maxBytes: 192 * KiB });
  const ac = new AbortController();
  const sizes = Array.from({ length: 40 }, (_, i) => 1000 + i * 100);
  const ps = sizes.map((size, i) => t.fetchChunk(share, `dir/file-${i}`, hash(i), 0, size, ac.signal));
  await tick();
  assert.equal(singles.length, 0);
  assert.equal(batches.length, 1, 'one message for the 40 files');
  const b = batches[0]!;
  assert.deepEqual(
    b.requests.map((r) => [r.path, r.size]),
    sizes.map((size, i) => [`dir/file-${i}`, size]),
  );
  t.answeredBatch(answer(b, new Map([[b.id + 7, 'changed']])));
  const got = await Promise.all(ps);
  got.forEach((g, i) => {
    if (i === 7) return assert.equal(g, 'changed');
    assert.ok(g instanceof Uint8Array);
    assert.equal(g.length, sizes[i]);
    assert.ok(g.every((x) => x === ((b.id + i) & 0xff)));
  });
  assert.equal(t.inFlight, 0);
});

test('with batches on, small requests waiting for room go out in batches as a batch answer frees room, not one per answer', async () => {
  // room for 8 requests at once
  const { t, singles, batches } = tracker({ initialBytes: 1 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 8 });
  t.peerServesBatches({ maxRequests: 64, maxBytes: 192 * KiB });
  const ac = new AbortController();
  const ps = Array.from({ length: 40 }, (_, i) => t.fetchChunk(share, `file-${i}`, hash(i), 0, 4 * KiB, ac.signal));
  await tick();
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.requests.length, 8);
  for (let k = 0; k < 4; k++) {
    t.answeredBatch(answer(batches[k]!));
    await tick();
    assert.equal(batches.length, k + 2, `answer ${k}: the next batch`);
    assert.equal(batches[k + 1]!.requests.length, 8);
  }
  t.answeredBatch(answer(batches[4]!));
  assert.equal((await Promise.all(ps)).length, 40);
  assert.equal(singles.length, 0);
});

test("a batch whose send fails fails each of its requests; an aborted file's request is given up and its late answer ignored", async () => {
  const failing = new RequestTracker(async () => undefined, {
    now: () => 0,
    sendBatch: async () => {
      throw new Error('link gone');
    },
  });
  failing.peerServesBatches({ maxRequests: 64, maxBytes: 192 * KiB });
  const ac = new AbortController();
  const ps = Array.from({ length: 5 }, (_, i) => failing.fetchChunk(share, `f${i}`, hash(i), 0, 100, ac.signal));
  for (const p of ps) await assert.rejects(p, /link gone/);
  assert.equal(failing.inFlight, 0);

  const { t, batches } = tracker();
  t.peerServesBatches({ maxRequests: 64, maxBytes: 192 * KiB });
  const one = new AbortController();
  const kept = new AbortController();
  const aborted = t.fetchChunk(share, 'gone', hash(1), 0, 100, one.signal);
  const stays = t.fetchChunk(share, 'stays', hash(2), 0, 100, kept.signal);
  await tick();
  one.abort(new Error('file given up'));
  await assert.rejects(aborted, /file given up/);
  t.answeredBatch(answer(batches[0]!));
  assert.equal(((await stays) as Uint8Array).length, 100);
  assert.equal(t.inFlight, 0);
});
