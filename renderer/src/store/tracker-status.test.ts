import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trackerLine } from './tracker-status.ts';

const t = (state: 'connecting' | 'connected' | 'waiting' | 'refused', error: string | null = null, announced = 0) => ({
  url: 'ws://127.0.0.1:9',
  state,
  error,
  announced,
});

test('each tracker state reads as a person would say it, with its error', () => {
  assert.deepEqual(trackerLine(t('connected', null, 1)), { tone: 'ok', text: 'connected, announcing 1 share' });
  assert.deepEqual(trackerLine(t('connected', null, 3)), { tone: 'ok', text: 'connected, announcing 3 shares' });
  assert.deepEqual(trackerLine(t('connected')), { tone: 'ok', text: 'connected' });
  assert.deepEqual(trackerLine(t('connecting')), { tone: 'busy', text: 'connecting' });
  assert.deepEqual(trackerLine(t('waiting', 'connect ECONNREFUSED 127.0.0.1:9')), {
    tone: 'bad',
    text: 'unreachable, retrying: connect ECONNREFUSED 127.0.0.1:9',
  });
  assert.deepEqual(trackerLine(t('refused', 'PEERFOLD_NO_PUBLIC=1')), { tone: 'off', text: 'not used: PEERFOLD_NO_PUBLIC=1' });
});
