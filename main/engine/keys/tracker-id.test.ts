import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createShareSecret, deriveShareKeys, weakenSecret } from './secrets.ts';
import { TRACKER_OVERLAP_MS, TRACKER_PERIOD_MS, trackerIdFor, trackerIds, trackerPeriods } from './tracker-id.ts';

const DAY = TRACKER_PERIOD_MS;
const noon = 20_000 * DAY + DAY / 2;

test('the tracker ID changes every day, differs from the discovery ID, and is the same at every access level', () => {
  const secret = createShareSecret();
  const rw = deriveShareKeys(secret);
  const ro = deriveShareKeys(weakenSecret(secret, 'read-only'));
  const enc = deriveShareKeys(weakenSecret(secret, 'encrypted'));
  const today = trackerIds(rw.trackerKey, noon);
  assert.equal(today.length, 1);
  assert.match(today[0], /^[0-9a-f]{40}$/);
  assert.notEqual(today[0], rw.discoveryIdHex);
  assert.deepEqual(trackerIds(ro.trackerKey, noon), today);
  assert.deepEqual(trackerIds(enc.trackerKey, noon), today);
  const tomorrow = trackerIds(rw.trackerKey, noon + DAY);
  assert.notEqual(tomorrow[0], today[0]);
  assert.notEqual(trackerIds(deriveShareKeys(createShareSecret()).trackerKey, noon)[0], today[0], 'another share, another ID');
});

test('near midnight the neighbouring day is announced too, so devices whose clocks differ a little still meet', () => {
  const k = deriveShareKeys(createShareSecret()).trackerKey;
  const midnight = 20_001 * DAY;
  assert.deepEqual(trackerPeriods(midnight - 10 * 60_000), [20_000, 20_001]);
  assert.deepEqual(trackerPeriods(midnight + 10 * 60_000), [20_000, 20_001]);
  assert.deepEqual(trackerPeriods(midnight - TRACKER_OVERLAP_MS - 1), [20_000]);
  assert.deepEqual(trackerPeriods(midnight + TRACKER_OVERLAP_MS), [20_001]);
  // the current day's ID comes first (it is the one that carries offers)
  assert.equal(trackerIds(k, midnight - 60_000)[0], trackerIdFor(k, 20_000));
  assert.equal(trackerIds(k, midnight + 60_000)[0], trackerIdFor(k, 20_001));
  // a clock 50 minutes behind and one 50 minutes ahead, either side of midnight, share an ID
  const slow = new Set(trackerIds(k, midnight - 25 * 60_000));
  assert.ok(trackerIds(k, midnight + 25 * 60_000).some((id) => slow.has(id)));
});

test('a vector: the tracker ID of a fixed key and day (PROTOCOL.md)', () => {
  const key = new Uint8Array(32).fill(7);
  assert.throws(() => trackerIdFor(key, -1), RangeError);
  // HKDF-SHA256(ikm = 32 bytes of 07, no salt, info "peerfold/v1 tracker id 20000", 20 bytes)
  assert.equal(trackerIdFor(key, 20_000), '539b2c102e2d9d0eb5dddba2d75c1a51b43eae2b');
});
