import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetServers, noPublicFromEnv, NO_PUBLIC_REASON, pathOfAddress, serversForPath } from './internet-servers.ts';
import { defaultSettings, DEFAULT_STUN_SERVERS, DEFAULT_TRACKERS, mergeSettings } from './settings.ts';

test('the shipped defaults: public trackers and STUN servers, no TURN; LAN only turns every one off', () => {
  const s = defaultSettings();
  assert.ok(s.trackers.length >= 2 && s.trackers.every((u) => u.startsWith('wss://')));
  assert.ok(s.stunServers.length >= 1);
  const used = internetServers(s, false);
  assert.deepEqual(used.trackers, [...DEFAULT_TRACKERS]);
  assert.equal(used.iceServers.length, DEFAULT_STUN_SERVERS.length);
  assert.deepEqual(internetServers({ ...s, lanOnly: true }, false), { trackers: [], iceServers: [], stunServers: [], refused: [] });
});

test('PEERFOLD_NO_PUBLIC=1 refuses every server named by a host name, the defaults first; IP addresses are used', () => {
  assert.equal(noPublicFromEnv({ PEERFOLD_NO_PUBLIC: '1' }), true);
  assert.equal(noPublicFromEnv({}), false);
  const defaults = internetServers(defaultSettings(), true);
  assert.deepEqual(defaults.trackers, []);
  assert.deepEqual(defaults.iceServers, []);
  assert.equal(defaults.refused.length, DEFAULT_TRACKERS.length + DEFAULT_STUN_SERVERS.length);
  assert.ok(defaults.refused.every((r) => r.reason === NO_PUBLIC_REASON));
  const own = mergeSettings(defaultSettings(), {
    trackers: ['ws://127.0.0.1:8000', 'wss://localhost:8000'],
    stunServers: ['stun:10.0.0.1:3478'],
    turnServers: ['turn:1700000000:alice:pw@10.0.0.2:3478?transport=tcp'],
  });
  const used = internetServers(own, true);
  assert.deepEqual(used.trackers, ['ws://127.0.0.1:8000']);
  assert.deepEqual(
    used.refused.map((r) => r.url),
    ['wss://localhost:8000'],
  );
  assert.deepEqual(used.iceServers, [
    { hostname: '10.0.0.1', port: 3478 },
    // the object form: the ':' in the REST-style user name needs no escaping there
    { hostname: '10.0.0.2', port: 3478, username: '1700000000:alice', password: 'pw', relayType: 'TurnTcp' },
  ]);
});

test('the test runner sets PEERFOLD_NO_PUBLIC=1: no test can reach a public tracker or STUN server', () => {
  assert.equal(process.env.PEERFOLD_NO_PUBLIC, '1');
});

test('settings: server lists are checked (a bad one is refused with what is wrong) and LAN only and limitLan are switches', () => {
  assert.throws(() => mergeSettings(defaultSettings(), { trackers: ['http://x.example.org'] }), /trackers: .*ws:\/\/ or wss:\/\//);
  assert.throws(() => mergeSettings(defaultSettings(), { turnServers: 'turn:h:1' }), /turnServers: .*user name and password/);
  assert.throws(() => mergeSettings(defaultSettings(), { lanOnly: 'yes' }), /lanOnly must be true or false/);
  assert.deepEqual(mergeSettings(defaultSettings(), { stunServers: 'stun:a.example.org:1,stun:b.example.org:2' }).stunServers, [
    'stun:a.example.org:1',
    'stun:b.example.org:2',
  ]);
});

test('STUN and TURN servers go only to links made through a tracker: a LAN or typed-in address is dialled with none', () => {
  const settings = mergeSettings(defaultSettings(), {
    stunServers: ['stun:10.0.0.1:3478'],
    turnServers: ['turn:alice:pw@10.0.0.2:3478?transport=udp'],
  });
  const servers = internetServers(settings, true);
  assert.deepEqual(servers.stunServers, ['stun:10.0.0.1:3478']);
  const tracker = serversForPath('tracker', servers);
  assert.deepEqual(tracker.iceServers, servers.iceServers);
  assert.equal(tracker.iceServers.length, 2);
  assert.deepEqual(tracker.stunServers, ['stun:10.0.0.1:3478']);
  for (const path of ['lan', 'manual'] as const) assert.deepEqual(serversForPath(path, servers), { iceServers: [], stunServers: [] }, path);
  // LAN only: not even a tracker link has any
  assert.deepEqual(serversForPath('tracker', internetServers({ ...settings, lanOnly: true }, true)), { iceServers: [], stunServers: [] });
  // a remembered address is dialled along the path it was learned on
  assert.equal(pathOfAddress('lan'), 'lan');
  assert.equal(pathOfAddress('manual'), 'manual');
  assert.equal(pathOfAddress('internet'), 'tracker');
  assert.equal(pathOfAddress('relay'), 'tracker');
});

test('the udx STUN list obeys PEERFOLD_NO_PUBLIC and skips what does not parse, as the ICE list does', () => {
  const s = { ...defaultSettings(), stunServers: ['stun:stun.example.org:3478', 'stun:10.0.0.9:3478', 'nonsense'] };
  assert.deepEqual(internetServers(s, true).stunServers, ['stun:10.0.0.9:3478']);
  assert.deepEqual(internetServers(s, false).stunServers, ['stun:stun.example.org:3478', 'stun:10.0.0.9:3478']);
});
