import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_BACKOFF_MS,
  MAX_BACKOFF_MS,
  MAX_REMEMBERED_PEERS,
  REFUSAL_BUDGET,
  REFUSAL_WINDOW_MS,
  RefusalBackoff,
  refusalDelay,
} from './refusal-backoff.ts';

test('the wait after a refusal doubles with each refusal in a row, up to an hour', () => {
  assert.equal(refusalDelay(1), FIRST_BACKOFF_MS);
  assert.equal(refusalDelay(2), 2 * FIRST_BACKOFF_MS);
  assert.equal(refusalDelay(3), 4 * FIRST_BACKOFF_MS);
  assert.equal(refusalDelay(50), MAX_BACKOFF_MS);
  assert.equal(refusalDelay(0), FIRST_BACKOFF_MS);
});

test('a refused peer is skipped for a growing while; an accepted link clears its record', () => {
  const b = new RefusalBackoff();
  let now = 1_000_000;
  assert.deepEqual(b.check('p', now), { ok: true });
  b.begin('p');
  assert.equal(b.refused('p', now), FIRST_BACKOFF_MS);
  assert.deepEqual(b.check('p', now + 1), { ok: false, reason: 'refused before', until: now + FIRST_BACKOFF_MS });
  assert.deepEqual(b.check('someone else', now + 1), { ok: true });
  now += FIRST_BACKOFF_MS;
  assert.deepEqual(b.check('p', now), { ok: true });
  b.begin('p');
  assert.equal(b.refused('p', now), 2 * FIRST_BACKOFF_MS);
  assert.equal(b.check('p', now + 2 * FIRST_BACKOFF_MS - 1).ok, false);
  now += 2 * FIRST_BACKOFF_MS;
  b.begin('p');
  b.accepted('p');
  assert.deepEqual(b.check('p', now), { ok: true }, 'no longer held back once accepted');
  b.begin('p');
  assert.equal(b.refused('p', now), FIRST_BACKOFF_MS, 'the count starts over after an acceptance');
});

test('one link at a time with a peer: a second attempt while one is being made is skipped, one that never opened frees it', () => {
  const b = new RefusalBackoff();
  b.begin('p');
  assert.deepEqual(b.check('p', 0), { ok: false, reason: 'in progress', until: 0 });
  b.abandoned('p');
  assert.deepEqual(b.check('p', 0), { ok: true }, 'a link that never opened says nothing about the peer');
  b.abandoned('p'); // once too often: no harm
  assert.deepEqual(b.check('p', 0), { ok: true });
});

test('a tracker making up peer IDs: after the budget of refusals in the window, unknown peers wait; known good ones do not', () => {
  const b = new RefusalBackoff();
  const now = 5_000_000;
  b.begin('friend');
  b.accepted('friend');
  for (let i = 0; i < REFUSAL_BUDGET; i++) {
    const id = `made-up-${i}`;
    assert.deepEqual(b.check(id, now + i), { ok: true });
    b.begin(id);
    b.refused(id, now + i);
  }
  assert.equal(b.refusalsWithin(now + REFUSAL_BUDGET), REFUSAL_BUDGET);
  assert.deepEqual(b.check('made-up-next', now + REFUSAL_BUDGET), {
    ok: false,
    reason: 'too many refusals',
    until: now + REFUSAL_WINDOW_MS,
  });
  assert.deepEqual(b.check('friend', now + REFUSAL_BUDGET), { ok: true });
  // once the oldest refusal leaves the window, one more unknown peer may try
  assert.deepEqual(b.check('made-up-next', now + REFUSAL_WINDOW_MS), { ok: true });
});

test('attempts stay bounded: a peer refused every time it is allowed gets few links in an hour', () => {
  const b = new RefusalBackoff();
  let links = 0;
  // the tracker hands the same peer over every second for an hour
  for (let t = 0; t < 60 * 60_000; t += 1_000) {
    if (!b.check('liar', t).ok) continue;
    links++;
    b.begin('liar');
    b.refused('liar', t);
  }
  // 0, 30 s, 1.5 min, 3.5 min, 7.5 min, 15.5 min, 31.5 min: 7 (where 3600 would have been made)
  assert.equal(links, 7);
});

test('memory is bounded: beyond the limit the least recently seen peers are forgotten, never one being linked', () => {
  const b = new RefusalBackoff();
  b.begin('linking');
  for (let i = 0; i < MAX_REMEMBERED_PEERS + 10; i++) {
    b.begin(`p${i}`);
    b.refused(`p${i}`, REFUSAL_WINDOW_MS * 2 * i); // spread out so the budget never trips
  }
  assert.equal(b.check('linking', 0).ok, false, 'the peer being linked is still known');
  assert.deepEqual(b.check('p0', REFUSAL_WINDOW_MS * 2 * (MAX_REMEMBERED_PEERS + 10)), { ok: true });
});
