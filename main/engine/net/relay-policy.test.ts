import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offerHasRelay, offerRelays, withoutRelays } from './relay-policy.ts';

test('offers carry relays only after the share has asked for peers that long without a link', () => {
  assert.equal(offerRelays(1_000, 1_000, 20_000), false);
  assert.equal(offerRelays(1_000, 20_999, 20_000), false);
  assert.equal(offerRelays(1_000, 21_000, 20_000), true);
});

test('the answer follows the offer: relays only when the offer has a relay candidate', () => {
  const direct =
    'a=candidate:1 1 UDP 2122317823 10.0.0.2 40000 typ host\r\na=candidate:2 1 UDP 1686109951 100.64.0.11 40000 typ srflx raddr 0.0.0.0 rport 0\r\n';
  assert.equal(offerHasRelay(direct), false);
  assert.equal(offerHasRelay(`${direct}a=candidate:3 1 UDP 16777215 100.64.0.2 50000 typ relay raddr 100.64.0.11 rport 40000\r\n`), true);
});

test('without relays: the STUN servers stay, TURN servers go, in either form', () => {
  const stun = { hostname: '100.64.0.2', port: 3478 };
  const turn = { hostname: '100.64.0.2', port: 3478, username: 'u', password: 'p', relayType: 'TurnUdp' as const };
  assert.deepEqual(withoutRelays([stun, turn, 'stun:100.64.0.2:3478', 'turn:u:p@100.64.0.2:3478', 'TURNS:x:5349']), [
    stun,
    'stun:100.64.0.2:3478',
  ]);
});
