import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WINDOW,
  EPOCH_MIN_MS,
  FLAT_LIMIT,
  PROBE_EVERY,
  admits,
  blocked,
  delivered,
  initialWindow,
  overloaded,
  type WindowConfig,
  type WindowState,
} from './flight-window.ts';
import { FlightBudget } from './flight-budget.ts';
import { NoAnswerError, RequestTracker } from './request-tracker.ts';
import type { BlockRequest } from '../protocol/messages.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const cfg: WindowConfig = { initialBytes: 2 * MiB, minBytes: 1 * MiB, maxBytes: 64 * MiB, maxRequests: 256 };

/**
 * A link that carries at most `rateBps` bytes/s at round trip `rttMs`, driven for `rtts` round
 * trips with the window always full (a puller asking for more than it holds): each round trip
 * delivers min(window, rate × rtt) in 64 KiB answers. Fake clock; returns every window seen.
 */
let clock = 1_000;
function drive(s: WindowState, rateBps: number, rttMs: number, rtts: number, limited = true): { s: WindowState; windows: number[] } {
  const windows: number[] = [];
  let now = clock;
  for (let i = 0; i < rtts; i++) {
    const bytes = Math.min(s.windowBytes, (rateBps * rttMs) / 1000);
    const answers = Math.max(1, Math.round(bytes / (64 * KiB)));
    if (limited) s = blocked(s, now);
    for (let a = 1; a <= answers; a++) s = delivered(s, cfg, bytes / answers, rttMs, now + (rttMs * a) / answers);
    now += rttMs;
    windows.push(s.windowBytes);
  }
  clock = now;
  return { s, windows };
}

test('a request goes while it fits the window and the count; one always goes on an idle link', () => {
  const s = initialWindow(cfg);
  assert.equal(s.windowBytes, 2 * MiB);
  assert.ok(admits(s, 0, 0, 10 * MiB), 'alone, even a request larger than the window');
  assert.ok(admits(s, 1 * MiB, 16, 1 * MiB));
  assert.ok(!admits(s, 1 * MiB + 1, 16, 1 * MiB), 'over the window by one byte');
  assert.ok(!admits({ ...s, windowBytes: 64 * MiB }, 1 * MiB, 256, 1), 'the count cap holds whatever the bytes');
});

test('across a long fat link the window doubles each round trip while the rate rises, then settles at twice rate × RTT', () => {
  // RTT 100 ms, 25 MB/s (200 Mbit/s): the path holds 2.5 MB
  const { s, windows } = drive(initialWindow(cfg), 25e6, 100, 12);
  assert.equal(windows[0], 4 * MiB, 'the first round trip, window-limited at 2 MiB, doubles it');
  assert.equal(s.phase, 'steady');
  // settled: at least what the path holds, at most twice that (and never above where it stood)
  assert.ok(s.windowBytes >= 2.5e6 && s.windowBytes <= 5e6, `settled at ${s.windowBytes}`);
  assert.ok(s.windowBytes <= Math.max(...windows));
  // a path of 10 MB in flight (100 MB/s): the window grows past it before settling
  const fast = drive(initialWindow(cfg), 100e6, 100, 12).s;
  assert.equal(fast.phase, 'steady');
  assert.ok(fast.windowBytes >= 10e6 && fast.windowBytes <= 20e6, `settled at ${fast.windowBytes}`);
});

test('on a faster path it keeps doubling up to the per-peer cap and never beyond', () => {
  // 1 GB/s at RTT 100 ms would want 100 MB in flight: the cap (64 MiB) stops it
  const { windows } = drive(initialWindow(cfg), 1e9, 100, 12);
  assert.deepEqual(windows.slice(0, 5), [4 * MiB, 8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB]);
  assert.ok(Math.max(...windows) <= cfg.maxBytes);
});

test('a window the puller never fills does not grow: its demand, not the link, set the rate', () => {
  const { s, windows } = drive(initialWindow(cfg), 25e6, 100, 10, false);
  assert.ok(windows.every((w) => w === 2 * MiB));
  assert.equal(s.phase, 'growing');
});

test('a slow link settles early at its own need, not below the floor', () => {
  // 1 MB/s at RTT 100 ms (a lossy path): 2 MiB is already more than it can carry
  const { s } = drive(initialWindow(cfg), 1e6, 100, 1 + FLAT_LIMIT + 1);
  assert.equal(s.phase, 'steady');
  assert.equal(s.windowBytes, cfg.minBytes, 'twice 100 KB is below the 1 MiB floor');
});

test('a steady window probes upwards every PROBE_EVERY epochs, and grows at once when the path got faster', () => {
  let { s } = drive(initialWindow(cfg), 1e6, 100, 1 + FLAT_LIMIT + 1);
  assert.equal(s.phase, 'steady');
  const settled = s.windowBytes;
  // the same slow path: a probe doubles the window once in a while, then it settles again
  const probing = drive(s, 1e6, 100, PROBE_EVERY + 1);
  assert.ok(probing.windows.includes(settled * 2), `windows ${probing.windows.join(' ')}`);
  // the path got faster (another transfer ended): the rate rises, the window doubles again
  ({ s } = drive(probing.s, 50e6, 100, 6));
  assert.ok(s.windowBytes >= settled * 8, `grew on to ${s.windowBytes}`);
});

test('one slow epoch does not shrink the window: the best rate of the last epochs counts', () => {
  let { s } = drive(initialWindow(cfg), 25e6, 100, 12);
  const before = s.windowBytes;
  ({ s } = drive(s, 2e6, 100, 1));
  assert.equal(s.windowBytes, before);
});

test('epochs last one round trip, at least EPOCH_MIN_MS: a loopback link is not judged on microseconds', () => {
  let s = blocked(initialWindow(cfg), 0);
  // answers every millisecond with a 1 ms round trip: no verdict until EPOCH_MIN_MS have passed
  for (let t = 1; t < EPOCH_MIN_MS - 1; t++) s = delivered(s, cfg, 64 * KiB, 1, t);
  assert.equal(s.windowBytes, 2 * MiB);
  s = delivered(s, cfg, 64 * KiB, 1, EPOCH_MIN_MS + 1);
  assert.equal(s.windowBytes, 4 * MiB);
  assert.equal(s.minRttMs, 1);
});

test('an overloaded answer caps the requests in flight below where the peer refused', () => {
  const s = overloaded(initialWindow(DEFAULT_WINDOW), 64);
  assert.equal(s.maxRequests, 63);
  assert.equal(overloaded(s, 200).maxRequests, 63, 'never raised by a later refusal');
  assert.equal(overloaded(s, 1).maxRequests, 1, 'at least one');
});

// ---- the shell: RequestTracker keeps the window ---------------------------------------------------

function trackerWith(window: WindowConfig, budget?: FlightBudget) {
  const sent: BlockRequest[] = [];
  let clock = 0;
  const tracker = new RequestTracker(async (m) => void sent.push(m), { window, budget, now: () => clock });
  return { tracker, sent, advance: (ms: number) => (clock += ms) };
}

const tick = () => new Promise((r) => setImmediate(r));
const hash = new Uint8Array(32);
const share = 'ab'.repeat(20);

test('the tracker sends requests up to the window in bytes, more as answers free room', async () => {
  const { tracker, sent } = trackerWith({ ...cfg, initialBytes: 256 * KiB, minBytes: 64 * KiB });
  const ac = new AbortController();
  // eight 64 KiB chunks, a 256 KiB window: four go, four wait
  const all = Array.from({ length: 8 }, (_, i) => tracker.fetchChunk(share, 'f', hash, i * 64 * KiB, 64 * KiB, ac.signal));
  await tick();
  assert.equal(sent.length, 4);
  assert.equal(tracker.flight().load, 2, '256 KiB in flight and 256 KiB waiting, per 256 KiB of window');
  tracker.answered({ type: 'response', id: sent[0]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
  await tick();
  assert.equal(sent.length, 5, 'one answer, one more request');
  for (let i = 1; i < 8; i++) {
    tracker.answered({ type: 'response', id: sent[i]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
    await tick();
  }
  assert.equal((await Promise.all(all)).length, 8);
  assert.equal(tracker.inFlight, 0);
});

test('a 256 KiB chunk goes out as its two parts at once, not one round trip after the other', async () => {
  const { tracker, sent } = trackerWith(cfg);
  const p = tracker.fetchChunk(share, 'f', hash, 0, 256 * KiB, new AbortController().signal);
  await tick();
  assert.deepEqual(
    sent.map((m) => m.size),
    [261120, 1024],
  );
  tracker.answered({ type: 'response', id: sent[1]!.id, status: 'ok', data: new Uint8Array(1024).fill(2) });
  tracker.answered({ type: 'response', id: sent[0]!.id, status: 'ok', data: new Uint8Array(261120).fill(1) });
  const got = (await p) as Uint8Array;
  assert.equal(got[0], 1);
  assert.equal(got[256 * KiB - 1], 2);
});

test('the window grows on the tracker as answers come back faster than it lets requests out', async () => {
  const { tracker, sent, advance } = trackerWith(cfg);
  const ac = new AbortController();
  const pending: Promise<unknown>[] = [];
  let asked = 0;
  const ask = (n: number) => {
    for (let i = 0; i < n; i++) pending.push(tracker.fetchChunk(share, 'f', hash, asked++ * 64 * KiB, 64 * KiB, ac.signal));
  };
  // always twice the window asked for; every "round trip" of 100 ms answers all that went out
  for (let rtt = 0; rtt < 3; rtt++) {
    ask((2 * tracker.windowState.windowBytes) / (64 * KiB));
    await tick();
    const out = sent.splice(0);
    advance(100);
    for (const m of out) tracker.answered({ type: 'response', id: m.id, status: 'ok', data: new Uint8Array(m.size) });
    await tick();
  }
  assert.ok(tracker.windowState.windowBytes >= 8 * MiB, `window ${tracker.windowState.windowBytes}`);
  tracker.close('done');
  await Promise.allSettled(pending);
});

test('an overloaded answer is asked again, and the peer then gets fewer at once', async () => {
  const { tracker, sent } = trackerWith(cfg);
  const ac = new AbortController();
  const ps = [0, 1, 2].map((i) => tracker.fetchChunk(share, 'f', hash, i * 1024, 1024, ac.signal));
  await tick();
  assert.equal(sent.length, 3);
  tracker.answered({ type: 'response', id: sent[2]!.id, status: 'overloaded', data: new Uint8Array(0) });
  await tick();
  assert.equal(tracker.windowState.maxRequests, 2);
  // asked again, but only once one of the two others is answered
  assert.equal(sent.length, 3);
  tracker.answered({ type: 'response', id: sent[0]!.id, status: 'ok', data: new Uint8Array(1024) });
  await tick();
  assert.equal(sent.length, 4);
  assert.equal(sent[3]!.offset, 2048);
  tracker.answered({ type: 'response', id: sent[1]!.id, status: 'ok', data: new Uint8Array(1024) });
  tracker.answered({ type: 'response', id: sent[3]!.id, status: 'ok', data: new Uint8Array(1024) });
  for (const p of ps) assert.ok((await p) instanceof Uint8Array);
});

test('the device-wide budget holds a second link back until the first frees room', async () => {
  const budget = new FlightBudget(128 * KiB);
  const a = trackerWith(cfg, budget);
  const b = trackerWith(cfg, budget);
  const ac = new AbortController();
  const pa = a.tracker.fetchChunk(share, 'f', hash, 0, 128 * KiB, ac.signal);
  const pb = b.tracker.fetchChunk(share, 'g', hash, 0, 64 * KiB, ac.signal);
  const pb2 = b.tracker.fetchChunk(share, 'g', hash, 64 * KiB, 64 * KiB, ac.signal);
  await tick();
  assert.equal(a.sent.length, 1);
  assert.equal(b.sent.length, 1, 'an idle link may always send one');
  assert.equal(budget.inFlight, 192 * KiB);
  a.tracker.answered({ type: 'response', id: a.sent[0]!.id, status: 'ok', data: new Uint8Array(128 * KiB) });
  await tick();
  assert.equal(b.sent.length, 2, 'room freed on the other link lets the waiting request go');
  for (const m of b.sent) b.tracker.answered({ type: 'response', id: m.id, status: 'ok', data: new Uint8Array(64 * KiB) });
  await Promise.all([pa, pb, pb2]);
  assert.equal(budget.inFlight, 0);
});

test('an aborted request that waited ahead lets the ones behind it go', async () => {
  const { tracker, sent } = trackerWith({ ...cfg, initialBytes: 64 * KiB, minBytes: 64 * KiB });
  const first = new AbortController();
  const ahead = new AbortController();
  const behind = new AbortController();
  const p1 = tracker.fetchChunk(share, 'f', hash, 0, 64 * KiB, first.signal);
  const p2 = tracker.fetchChunk(share, 'f', hash, 64 * KiB, 64 * KiB, ahead.signal);
  const p3 = tracker.fetchChunk(share, 'g', hash, 0, 1, behind.signal);
  await tick();
  assert.equal(sent.length, 1);
  first.abort(new Error('paused'));
  await assert.rejects(p1, /paused/);
  await tick();
  assert.equal(sent.length, 2, 'the freed room goes to the next in line');
  ahead.abort(new Error('gone'));
  await assert.rejects(p2, /gone/);
  await tick();
  assert.equal(sent.length, 3);
  tracker.answered({ type: 'response', id: sent[2]!.id, status: 'ok', data: new Uint8Array(1) });
  assert.ok((await p3) instanceof Uint8Array);
});

test('a request gets its answer timeout from when it went out, not from when it was queued behind a full window', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sent: BlockRequest[] = [];
  const tracker = new RequestTracker(async (m) => void sent.push(m), {
    window: { ...cfg, initialBytes: 64 * KiB, minBytes: 64 * KiB, maxRequests: 1 },
    answerTimeoutMs: 120_000,
  });
  const ac = new AbortController();
  const first = tracker.fetchChunk(share, 'f', hash, 0, 64 * KiB, ac.signal);
  const second = tracker.fetchChunk(share, 'f', hash, 64 * KiB, 64 * KiB, ac.signal);
  await tick();
  assert.equal(sent.length, 1, 'the second waits for room');
  // the first answer comes late but in time; the second waited 100 s in the queue
  t.mock.timers.tick(100_000);
  tracker.answered({ type: 'response', id: sent[0]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
  await tick();
  assert.equal(sent.length, 2);
  // 200 s after it was queued, 100 s after it went out: still waited for
  t.mock.timers.tick(100_000);
  tracker.answered({ type: 'response', id: sent[1]!.id, status: 'ok', data: new Uint8Array(64 * KiB) });
  assert.equal(((await first) as Uint8Array).length, 64 * KiB);
  assert.equal(((await second) as Uint8Array).length, 64 * KiB);
  // a request that is never answered is given up once its time on the wire is over
  const third = tracker.fetchChunk(share, 'f', hash, 128 * KiB, 64 * KiB, ac.signal);
  await tick();
  assert.equal(sent.length, 3);
  t.mock.timers.tick(120_000);
  await assert.rejects(third, (e: Error) => e instanceof NoAnswerError);
  assert.equal(tracker.inFlight, 0, 'its room in the window is free again');
});
