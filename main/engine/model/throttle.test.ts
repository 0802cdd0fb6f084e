import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimited } from './throttle.ts';

test('rate limits apply to every path; only the LAN can be exempted', () => {
  for (const via of ['manual', 'internet', 'relay'] as const) {
    assert.equal(rateLimited(via, true), true);
    assert.equal(rateLimited(via, false), true);
  }
  assert.equal(rateLimited('lan', true), true);
  assert.equal(rateLimited('lan', false), false);
});
