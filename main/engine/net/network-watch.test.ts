import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkSignature } from './local-networks.ts';
import { NetworkWatch, type NetworkChange } from './network-watch.ts';
import type { LocalNetwork } from './path.ts';

const lo: LocalNetwork = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' };
const home: LocalNetwork = { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4' };
const office: LocalNetwork = { address: '10.8.0.7', netmask: '255.255.0.0', family: 'IPv4' };
const linkLocal: LocalNetwork = { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' };

test('the signature leaves out loopback and link-local addresses and ignores order', () => {
  assert.equal(networkSignature([lo, linkLocal]), '');
  assert.equal(networkSignature([home, office]), networkSignature([office, lo, home, linkLocal]));
  assert.notEqual(networkSignature([home]), networkSignature([office]));
});

test('NetworkWatch reports each change once, with the addresses before and after', async () => {
  let now: LocalNetwork[] = [lo, home];
  const seen: NetworkChange[] = [];
  const watch = new NetworkWatch((c) => seen.push(c), { intervalMs: 5, read: () => now, log: () => undefined });
  try {
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(seen.length, 0, 'nothing changed yet');
    now = [lo, linkLocal, home]; // a link-local address appearing is no change
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(seen.length, 0);
    now = [lo, office]; // moved from home to the office
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(seen, [{ before: '192.168.1.20/255.255.255.0', after: '10.8.0.7/255.255.0.0' }]);
  } finally {
    watch.stop();
  }
});
