import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DELETE_SETTLE_MAX_MS, MASS_DELETE_MIN, decideDeletions, holdDeletions } from './mass-delete.ts';

const batch = (live: number, deleting: number, recentlyDeleted = 0, holding = false) => ({ live, deleting, recentlyDeleted, holding });

test('emptying most of a share is held; deleting a few files, or a minority, is not', () => {
  assert.equal(holdDeletions(batch(100, 90)), true, '90 of 100 files');
  assert.equal(holdDeletions(batch(100, 51)), true, 'just over half');
  assert.equal(holdDeletions(batch(100, 50)), false, 'exactly half');
  assert.equal(holdDeletions(batch(100, 20)), false, 'a folder of 20 in a share of 100');
  assert.equal(holdDeletions(batch(12, 12)), true, 'all of a small share');
  assert.equal(holdDeletions(batch(10, 10)), false, 'a share of 10 files may be cleared');
  assert.equal(holdDeletions(batch(3, 3)), false, 'a few files');
  assert.equal(holdDeletions(batch(100, 0)), false, 'nothing deleted');
});

test('one rm -rf split over several scans is still seen as one mass delete', () => {
  // 30 of 100 went in the first scan (recorded), the other 70 in the next one
  assert.equal(holdDeletions(batch(70, 40, 30)), true);
});

test('while deletions are held, any further deletion joins them', () => {
  assert.equal(holdDeletions(batch(1000, 1, 0, true)), true);
  assert.equal(holdDeletions(batch(1000, 0, 0, true)), false);
});

test('never holds a batch of at most MASS_DELETE_MIN deletions, always holds all of a larger share', () => {
  fc.assert(fc.property(fc.nat(10_000), fc.nat(MASS_DELETE_MIN), (extra, deleting) => !holdDeletions(batch(deleting + extra, deleting))));
  fc.assert(fc.property(fc.integer({ min: MASS_DELETE_MIN + 1, max: 100_000 }), (n) => holdDeletions(batch(n, n))));
});

test('found deletions wait until none has joined for the settle time, then the whole burst is decided', () => {
  const settle = 2_000;
  const burst = (live: number, deleting: number, firstAt: number, lastAt: number, holding = false) => ({
    live,
    deleting,
    recentlyDeleted: 0,
    holding,
    firstAt,
    lastAt,
  });
  assert.deepEqual(decideDeletions(burst(30, 5, 0, 0), 500, settle), { kind: 'wait', ms: 1_500 }, 'the first slice waits');
  assert.deepEqual(
    decideDeletions(burst(30, 25, 0, 1_000), 2_500, settle),
    { kind: 'wait', ms: 500 },
    'a slice that joined extends the wait',
  );
  assert.deepEqual(decideDeletions(burst(30, 25, 0, 1_000), 3_000, settle), { kind: 'hold' }, 'most of the share: held');
  assert.deepEqual(decideDeletions(burst(30, 3, 0, 0), 2_000, settle), { kind: 'record' }, 'a few files: recorded');
  assert.deepEqual(decideDeletions(burst(1000, 1, 0, 0, true), 0, settle), { kind: 'hold' }, 'joins a hold at once');
  // a steady trickle is decided at the latest DELETE_SETTLE_MAX_MS after its first deletion
  const late = DELETE_SETTLE_MAX_MS;
  assert.deepEqual(decideDeletions(burst(100, 5, 0, late - 100), late, settle), { kind: 'record' });
});
