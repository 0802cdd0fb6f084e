import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LONE_FLUSH_MS, STREAM_FLUSH_MS, STREAM_GAP_MS, pulledFlushDelayMs } from './pulled-flush.ts';

test('a lone pulled file is recorded almost at once; while files stream in, their entries wait for more', () => {
  assert.equal(pulledFlushDelayMs(Infinity), LONE_FLUSH_MS, 'nothing written yet');
  assert.equal(pulledFlushDelayMs(STREAM_GAP_MS + 1), LONE_FLUSH_MS, 'the last batch long ago');
  assert.equal(pulledFlushDelayMs(40), STREAM_FLUSH_MS, 'a batch written just now');
  assert.ok(STREAM_FLUSH_MS > LONE_FLUSH_MS);
});
