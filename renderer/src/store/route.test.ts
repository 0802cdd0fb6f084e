import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, routeToHash } from './route.ts';
import type { Route } from './state.ts';

test('routes survive a round trip through the hash', () => {
  const routes: Route[] = [
    { view: 'shares' },
    { view: 'shares', dialog: 'share' },
    { view: 'share', shareId: 'a b/c', tab: 'archive' },
    { view: 'join' },
    { view: 'join', code: 'PF1-RW-abc' },
    { view: 'conflicts' },
    { view: 'settings' },
  ];
  for (const route of routes) assert.deepEqual(parseHash(routeToHash(route)), route);
});

test('unknown or partial hashes fall back sensibly', () => {
  assert.deepEqual(parseHash(''), { view: 'shares' });
  assert.deepEqual(parseHash('#/nowhere'), { view: 'shares' });
  assert.deepEqual(parseHash('#/share'), { view: 'shares' });
  assert.deepEqual(parseHash('#/share/x/bogus'), { view: 'share', shareId: 'x', tab: 'codes' });
  assert.deepEqual(parseHash('#/share/%E0%A4%A'), { view: 'share', shareId: '%E0%A4%A', tab: 'codes' });
});
