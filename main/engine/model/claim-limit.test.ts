import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClaimLimiter, claimBlockedUntil, claimSources, type ClaimLimit } from './claim-limit.ts';

const limit: ClaimLimit = { maxFailures: 3, windowMs: 1000 };

test('a source is held off after maxFailures within the window, until the oldest of them leaves it', () => {
  assert.equal(claimBlockedUntil([], 0, limit), null);
  assert.equal(claimBlockedUntil([100, 200], 300, limit), null, 'fewer failures than the bound');
  assert.equal(claimBlockedUntil([100, 200, 300], 300, limit), 1100);
  assert.equal(claimBlockedUntil([100, 200, 300], 1100, limit), null, 'the oldest left the window');
  assert.equal(claimBlockedUntil([0, 100, 200, 300], 1050, limit), 1100, 'older failures beyond the bound do not extend it');
  assert.equal(claimBlockedUntil([300, 100, 200], 300, limit), 1100, 'in any order');
});

test('the limiter counts each source apart: a device, and the address it came from', () => {
  const l = new ClaimLimiter(limit);
  assert.deepEqual(claimSources('DEV', '10.0.0.1'), ['device DEV', 'address 10.0.0.1']);
  assert.deepEqual(claimSources('DEV', null), ['device DEV']);
  for (let t = 0; t < 3; t++) l.failed(claimSources(`d${t}`, '10.0.0.1'), t);
  assert.equal(l.blockedUntil(claimSources('new', '10.0.0.1'), 10), 1000, 'a fresh device ID from the same address');
  assert.equal(l.blockedUntil(claimSources('new', '10.0.0.2'), 10), null);
  assert.equal(l.blockedUntil(claimSources('d0', null), 10), null, 'one failure of that device is under the bound');
  assert.equal(l.blockedUntil(claimSources('new', '10.0.0.1'), 1000), null);
});

test('however failures come, no source gets more than maxFailures claims refused within any window without a pause', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 60 }), (gaps) => {
      const l = new ClaimLimiter(limit);
      const src = ['device X'];
      const tried: number[] = [];
      let t = 0;
      for (const g of gaps) {
        t += g;
        if (l.blockedUntil(src, t) !== null) continue;
        tried.push(t);
        l.failed(src, t);
      }
      return tried.every((x, i) => i < limit.maxFailures || x - tried[i - limit.maxFailures]! >= limit.windowMs);
    }),
  );
});
