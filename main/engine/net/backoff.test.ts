import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RECONNECT_MS, afterLinkLoss, redialDelay } from './backoff.ts';

test('redials back off exponentially, are capped, and are spread by jitter', () => {
  assert.equal(redialDelay(1, 0.5, 1000), 1000);
  assert.equal(redialDelay(2, 0.5, 1000), 2000);
  assert.equal(redialDelay(3, 0.5, 1000), 4000);
  assert.equal(redialDelay(40, 0.5, 1000), MAX_RECONNECT_MS);
  // jitter: half to one and a half times the plain delay
  assert.equal(redialDelay(2, 0, 1000), 1000);
  assert.equal(redialDelay(2, 0.999, 1000), 2998);
  const spread = new Set(Array.from({ length: 50 }, (_, i) => redialDelay(3, i / 50, 1000)));
  assert.ok(spread.size > 40, 'different random draws give different delays');
});

test('after a lost link the device is dialed again within the first second, at a random moment', () => {
  assert.equal(afterLinkLoss(0), 200);
  assert.equal(afterLinkLoss(1), 1000);
  assert.notEqual(afterLinkLoss(0.2), afterLinkLoss(0.7));
});
