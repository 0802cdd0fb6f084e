import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitConnection, admitSession } from './admission.ts';
import { LogThrottle } from './log.ts';

test('a remote address holds a bounded number of connections, and so do connections not yet signaling', () => {
  const c = { fromAddress: 0, maxPerAddress: 4, unupgraded: 0, maxUnupgraded: 64 };
  assert.deepEqual(admitConnection(c), { ok: true });
  assert.equal(admitConnection({ ...c, fromAddress: 3 }).ok, true);
  assert.match((admitConnection({ ...c, fromAddress: 4 }) as { reason: string }).reason, /4 connections from that address/);
  assert.match((admitConnection({ ...c, unupgraded: 64 }) as { reason: string }).reason, /64 connections already waiting/);
});

test('a full listener evicts its oldest session without a hello, past the grace period; never one that said hello', () => {
  const s = (name: string, saidHello: boolean, startedAt: number) => ({ session: name, saidHello, startedAt });
  assert.deepEqual(admitSession([s('a', false, 0)], 2, 10_000, 1000), { ok: true, evict: null }, 'room left');
  assert.deepEqual(admitSession([s('a', false, 500), s('b', false, 100), s('c', true, 0)], 3, 10_000, 1000), { ok: true, evict: 'b' });
  const busy = admitSession([s('a', true, 0), s('b', false, 9_500)], 2, 10_000, 1000);
  assert.equal(busy.ok, false, 'a session that said hello, and one whose hello may be on the way, are kept');
  assert.match((busy as { reason: string }).reason, /2 signaling sessions already in progress/);
});

test('the log throttle keeps a burst per key, then says how many it left out', () => {
  const lines: string[] = [];
  let now = 0;
  const t = new LogThrottle(
    (_l, m) => lines.push(m),
    2,
    60_000,
    () => now,
  );
  for (let i = 0; i < 5; i++) t.note('warn', '10.0.0.9', `refused ${i}`);
  t.note('warn', '10.0.0.7', 'another address');
  assert.deepEqual(lines, ['refused 0', 'refused 1', 'another address']);
  now = 61_000;
  t.note('warn', '10.0.0.9', 'later');
  assert.deepEqual(lines.slice(3), ['3 more like this from 10.0.0.9 in the last 60 s were not logged', 'later']);
});
