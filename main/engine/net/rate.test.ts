import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from './rate.ts';

test('rate is bytes over the sampled window', () => {
  const m = new RateMeter(5000);
  assert.equal(m.rate(), 0);
  m.sample(0, 0);
  assert.equal(m.rate(), 0);
  m.sample(1000, 1000);
  assert.equal(m.rate(), 1000);
  m.sample(2000, 3000);
  assert.equal(m.rate(), 1500);
});

test('old samples fall out of the window, so an idle link drops to 0', () => {
  const m = new RateMeter(3000);
  m.sample(0, 0);
  m.sample(1000, 10_000);
  for (let t = 2000; t <= 10_000; t += 1000) m.sample(t, 10_000);
  assert.equal(m.rate(), 0);
});
