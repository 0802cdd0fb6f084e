import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectedVia, onLocalNetwork, type LocalNetwork, type SelectedPath } from './path.ts';

const home: LocalNetwork[] = [
  { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' },
  { address: '10.0.1.10', netmask: '255.255.255.0', family: 'IPv4' },
  { address: 'fd00:1::10', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' },
];

const path = (localType: string, remoteType: string, remote: string): SelectedPath => ({
  local: { address: '10.0.1.10', port: 5000, type: localType },
  remote: { address: remote, port: 6000, type: remoteType },
});

test('a TURN relay on either end of the selected pair is a relayed link', () => {
  assert.equal(connectedVia('internet', path('relay', 'srflx', '100.64.0.12'), home), 'relay');
  assert.equal(connectedVia('internet', path('host', 'relay', '100.64.0.1'), home), 'relay');
  assert.equal(connectedVia('manual', path('relay', 'relay', '100.64.0.1'), home), 'relay');
});

test('found through a tracker: direct on this LAN is lan, anything else direct is internet (through NATs)', () => {
  assert.equal(connectedVia('internet', path('host', 'host', '10.0.1.11'), home), 'lan');
  assert.equal(connectedVia('internet', path('host', 'prflx', '10.0.1.11'), home), 'lan');
  assert.equal(connectedVia('internet', path('host', 'srflx', '100.64.0.12'), home), 'internet');
  assert.equal(connectedVia('internet', path('srflx', 'prflx', '100.64.0.12'), home), 'internet');
  assert.equal(connectedVia('internet', path('host', 'host', 'fd00:1::20'), home), 'lan');
});

test('LAN and hand-given peers keep how they were found while the path is direct; no pair yet says how found', () => {
  assert.equal(connectedVia('manual', path('host', 'srflx', '100.64.0.12'), home), 'manual');
  assert.equal(connectedVia('lan', path('host', 'host', '127.0.0.1'), home), 'lan');
  assert.equal(connectedVia('internet', null, home), 'internet');
});

test('onLocalNetwork: loopback and the subnets of this machine, IPv4 and IPv6', () => {
  assert.ok(onLocalNetwork('127.0.0.1', []));
  assert.ok(onLocalNetwork('::1', []));
  assert.ok(onLocalNetwork('::ffff:10.0.1.200', home));
  assert.ok(!onLocalNetwork('10.0.2.10', home));
  assert.ok(onLocalNetwork('fd00:1::ffff', home));
  assert.ok(!onLocalNetwork('fd00:2::1', home));
  assert.ok(!onLocalNetwork('not an address', home));
  assert.ok(!onLocalNetwork('1.2.3.4', [{ address: '0.0.0.0', netmask: '0.0.0.0', family: 'IPv4' }]), 'a zero mask is no network');
});
