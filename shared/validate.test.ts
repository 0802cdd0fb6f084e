import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.ts';
import { eventNames, isEventName, isMethod, limits, methodNames, paramNames, validateParams } from './validate.ts';

function badRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, 'bad-request');
    assert.match(err.message, pattern);
    return true;
  });
}

test('every contract method and event is known', () => {
  for (const m of [
    'status',
    'share',
    'join',
    'unshare',
    'codes',
    'checkCode',
    'invite',
    'invites',
    'revokeInvite',
    'files',
    'rescan',
    'pause',
    'resume',
    'peers',
    'addPeer',
    'conflicts',
    'resolve',
    'preview',
    'archive',
    'restore',
    'confirmDeletes',
    'restoreDeletes',
    'changes',
    'revert',
    'recent',
    'getIgnore',
    'setIgnore',
    'getSettings',
    'setSettings',
    'listDir',
    'stop',
  ]) {
    assert.ok(isMethod(m), m);
  }
  assert.equal(methodNames.length, 31);
  assert.deepEqual([...eventNames].sort(), ['conflict', 'error', 'peers', 'shareState', 'shareSynced', 'status']);
  assert.ok(isEventName('status'));
  assert.ok(!isEventName('toString'));
});

test('unknown methods are refused, including prototype names', () => {
  badRequest(() => validateParams('nope', {}), /unknown method "nope"/);
  badRequest(() => validateParams('constructor', {}), /unknown method/);
  badRequest(() => validateParams('__proto__', {}), /unknown method/);
  assert.ok(!isMethod('hasOwnProperty'));
  assert.ok(!isMethod(42));
});

test('valid params pass through and come back as a fresh object', () => {
  const input = { path: '/data/photos', name: 'Photos' };
  const out = validateParams('share', input);
  assert.deepEqual(out, input);
  assert.notEqual(out, input);
  assert.deepEqual(validateParams('resolve', { share: 'abc', path: 'a/b.txt', keep: 'both' }), {
    share: 'abc',
    path: 'a/b.txt',
    keep: 'both',
  });
  assert.deepEqual(validateParams('setIgnore', { share: 'abc', text: '' }), { share: 'abc', text: '' });
  assert.deepEqual(validateParams('setIgnore', { share: 'abc', text: '*.tmp\n\tbuild/\n' }), { share: 'abc', text: '*.tmp\n\tbuild/\n' });
});

test('absent params for methods without required keys mean {}', () => {
  assert.deepEqual(validateParams('status', undefined), {});
  assert.deepEqual(validateParams('stop', {}), {});
  assert.deepEqual(validateParams('getSettings', undefined), {});
  badRequest(() => validateParams('share', undefined), /share needs the parameter "path"/);
});

test('params must be a plain object', () => {
  badRequest(() => validateParams('status', null), /must be an object/);
  badRequest(() => validateParams('status', []), /must be an object/);
  badRequest(() => validateParams('status', 'x'), /must be an object/);
});

test('unknown keys are refused and undefined values count as absent', () => {
  badRequest(() => validateParams('share', { path: '/x', color: 'red' }), /unknown parameter "color" for share; it takes path, name/);
  badRequest(() => validateParams('stop', { now: true }), /it takes no parameters/);
  badRequest(() => validateParams('status', JSON.parse('{"__proto__": {"polluted": 1}}')), /unknown parameter "__proto__"/);
  assert.deepEqual(validateParams('share', { path: '/x', name: undefined }), { path: '/x' });
  assert.deepEqual(validateParams('status', { share: undefined, extra: undefined }), {});
});

test('missing required keys are named', () => {
  badRequest(() => validateParams('join', { code: 'X' }), /join needs the parameter "path"/);
  badRequest(() => validateParams('resolve', { share: 's', path: 'p' }), /resolve needs the parameter "keep"/);
});

test('strings: type, emptiness, length caps, NUL and control characters', () => {
  badRequest(() => validateParams('share', { path: 7 }), /bad parameter "path" for share: expected a path \(a string\)/);
  badRequest(() => validateParams('share', { path: '' }), /empty string/);
  badRequest(() => validateParams('share', { path: 'a'.repeat(limits.path + 1) }), /too long \(4097 characters; at most 4096\)/);
  assert.doesNotThrow(() => validateParams('share', { path: 'a'.repeat(limits.path) }));
  badRequest(() => validateParams('share', { path: '/a\u0000b' }), /NUL/);
  badRequest(() => validateParams('share', { path: '/a\nb' }), /control characters/);
  badRequest(() => validateParams('share', { path: '/x', name: '   ' }), /only spaces/);
  badRequest(() => validateParams('share', { path: '/x', name: 'n'.repeat(limits.name + 1) }), /too long/);
  badRequest(() => validateParams('checkCode', { code: 'c'.repeat(limits.code + 1) }), /too long/);
  badRequest(() => validateParams('setIgnore', { share: 's', text: 'x'.repeat(limits.ignoreText + 1) }), /too long/);
  badRequest(() => validateParams('addPeer', { share: 's', address: ['h:1'] }), /HOST:PORT/);
});

test('numbers must be finite whole numbers within range', () => {
  assert.deepEqual(validateParams('recent', { limit: 10 }), { limit: 10 });
  badRequest(() => validateParams('recent', { limit: Number.NaN }), /finite number/);
  badRequest(() => validateParams('recent', { limit: Infinity }), /finite number/);
  badRequest(() => validateParams('recent', { limit: '10' }), /finite number/);
  badRequest(() => validateParams('recent', { limit: 1.5 }), /got 1.5/);
  badRequest(() => validateParams('recent', { limit: 0 }), /expected a whole number from 1 to 10000, got 0/);
  badRequest(
    () => validateParams('preview', { share: 's', path: 'p', maxBytes: limits.previewBytes + 1 }),
    /bad parameter "maxBytes" for preview: expected a byte count/,
  );
});

test('enums accept only their values', () => {
  badRequest(() => validateParams('resolve', { share: 's', path: 'p', keep: 'mine' }), /one of local, remote, both/);
});

test('settings: each key typed, partial updates allowed', () => {
  assert.deepEqual(validateParams('setSettings', {}), {});
  assert.deepEqual(validateParams('setSettings', { listenPort: 0, lanDiscovery: false }), { listenPort: 0, lanDiscovery: false });
  badRequest(
    () => validateParams('setSettings', { listenPort: 65536 }),
    /bad parameter "listenPort" for setSettings: expected a port number from 0 to 65535 \(0 picks any free port\), got 65536/,
  );
  badRequest(() => validateParams('setSettings', { lanDiscovery: 'yes' }), /true or false/);
  badRequest(() => validateParams('setSettings', { deviceName: 'x'.repeat(65) }), /too long/);
  badRequest(() => validateParams('setSettings', { maxSendKBps: -1 }), /"maxSendKBps".*0 or more/);
  badRequest(() => validateParams('setSettings', { theme: 'dark' }), /unknown parameter "theme"/);
  assert.deepEqual(paramNames('setSettings').sort(), [
    'archiveDays',
    'deviceName',
    'lanDiscovery',
    'lanOnly',
    'limitLan',
    'listenPort',
    'maxRecvKBps',
    'maxSendKBps',
    'startAtLogin',
    'stunServers',
    'trackers',
    'turnServers',
  ]);
  // server lists: an array or one comma-separated string, each entry checked
  assert.deepEqual(validateParams('setSettings', { trackers: 'wss://a.example.org, ws://10.0.0.1:8000' }), {
    trackers: ['wss://a.example.org', 'ws://10.0.0.1:8000'],
  });
  badRequest(() => validateParams('setSettings', { trackers: ['https://a.example.org'] }), /"trackers".*ws:\/\/ or wss:\/\//);
  badRequest(() => validateParams('setSettings', { turnServers: ['turn:host:3478'] }), /user name and password/);
  badRequest(() => validateParams('setSettings', { lanOnly: 1 }), /"lanOnly"/);
});

test('the error message is bounded even for a huge unknown method name', () => {
  badRequest(() => validateParams('m'.repeat(100_000), {}), /^unknown method "m{64}"$/);
});
