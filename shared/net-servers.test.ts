import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIpLiteral, parseServerList, parseStunUrl, parseTrackerUrl, parseTurnUrl, serverHost } from './net-servers.ts';

test('tracker URLs: ws:// and wss:// only, with a host', () => {
  assert.ok(parseTrackerUrl('wss://tracker.openwebtorrent.com').ok);
  assert.ok(parseTrackerUrl('ws://127.0.0.1:8000/announce').ok);
  assert.ok(parseTrackerUrl('ws://[::1]:8000').ok);
  for (const bad of [
    'https://t.example.org',
    'udp://t.example.org:80',
    'wss://',
    'tracker.example.org',
    'ws://u:p@t.example.org',
    'ws://a b',
  ]) {
    assert.equal(parseTrackerUrl(bad).ok, false, bad);
  }
});

test('STUN servers: stun:HOST:PORT, the port 3478 when left out', () => {
  assert.deepEqual(parseStunUrl('stun:stun.l.google.com:19302'), { ok: true, value: { host: 'stun.l.google.com', port: 19302 } });
  assert.deepEqual(parseStunUrl('stun:10.0.0.1'), { ok: true, value: { host: '10.0.0.1', port: 3478 } });
  assert.deepEqual(parseStunUrl('stun:[2001:db8::1]:3478'), { ok: true, value: { host: '2001:db8::1', port: 3478 } });
  for (const bad of ['stun:', 'stun:host:0', 'stun:host:70000', 'turn:host:3478', 'stun:ho_st:1', 'stun:host:12:34']) {
    assert.equal(parseStunUrl(bad).ok, false, bad);
  }
});

test("TURN servers: the user name may hold ':' (REST-style credentials), the password follows the last ':', both %-decoded", () => {
  assert.deepEqual(parseTurnUrl('turn:alice:secret@turn.example.org:3478?transport=udp'), {
    ok: true,
    value: { host: 'turn.example.org', port: 3478, username: 'alice', password: 'secret', transport: 'udp' },
  });
  assert.deepEqual(parseTurnUrl('turn:1700000000:alice:c2VjcmV0@10.0.0.9:3478?transport=tcp'), {
    ok: true,
    value: { host: '10.0.0.9', port: 3478, username: '1700000000:alice', password: 'c2VjcmV0', transport: 'tcp' },
  });
  assert.deepEqual(parseTurnUrl('turn:bob:p%3Aw%40rd@relay.example.org'), {
    ok: true,
    value: { host: 'relay.example.org', port: 3478, username: 'bob', password: 'p:w@rd', transport: 'udp' },
  });
  assert.equal((parseTurnUrl('turns:bob:pw@relay.example.org') as { value: { transport: string; port: number } }).value.transport, 'tls');
  for (const bad of [
    'turn:relay.example.org:3478',
    'turn::pw@h:1',
    'turn:u:@h:1',
    'turn:u:p@h:1?transport=quic',
    'turn:u:%zz@h:1',
    'stun:u:p@h:1',
  ]) {
    assert.equal(parseTurnUrl(bad).ok, false, bad);
  }
});

test('a list is an array or one comma-separated string; blanks and duplicates go, one bad entry fails it all by name', () => {
  assert.deepEqual(parseServerList(' stun:a.example.org:1, ,stun:a.example.org:1,stun:b.example.org:2 ', 'stunServers', parseStunUrl), {
    ok: true,
    value: ['stun:a.example.org:1', 'stun:b.example.org:2'],
  });
  assert.deepEqual(parseServerList('', 'trackers', parseTrackerUrl), { ok: true, value: [] });
  const r = parseServerList(['wss://ok.example.org', 'http://no.example.org'], 'trackers', parseTrackerUrl);
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /^trackers: "http:\/\/no\.example\.org"/);
  assert.equal(parseServerList(42, 'trackers', parseTrackerUrl).ok, false);
  assert.equal(parseServerList([1], 'trackers', parseTrackerUrl).ok, false);
  const many = Array.from({ length: 17 }, (_, i) => `stun:h${i}.example.org:1`);
  assert.equal(parseServerList(many, 'stunServers', parseStunUrl).ok, false);
});

test('the host a server names, and whether it is an IP address written out', () => {
  assert.equal(serverHost('wss://tracker.webtorrent.dev'), 'tracker.webtorrent.dev');
  assert.equal(serverHost('ws://[::1]:9000'), '::1');
  assert.equal(serverHost('stun:10.1.2.3:3478'), '10.1.2.3');
  assert.equal(serverHost('turn:a:b@192.0.2.7:3478?transport=tcp'), '192.0.2.7');
  assert.equal(serverHost('nonsense'), null);
  assert.ok(isIpLiteral('127.0.0.1') && isIpLiteral('::1') && isIpLiteral('2001:db8::1'));
  assert.ok(!isIpLiteral('localhost') && !isIpLiteral('stun.l.google.com') && !isIpLiteral('256.1.1.1'));
});
