import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as r from './reducers.ts';
import { initialState } from './state.ts';
import { conflict, peer, share, status } from './fixtures.ts';

test('applyStatus replaces device, pause state and shares, and stamps pushed events only', () => {
  const s0 = initialState();
  const s1 = r.applyStatus(s0, status([share()]));
  assert.equal(s1.device?.name, 'laptop');
  assert.equal(s1.shares.length, 1);
  assert.equal(s1.lastStatusEventAt, null);
  const s2 = r.applyStatus(s1, status([share({ state: 'syncing' })], true), { pushed: true, now: 42 });
  assert.equal(s2.allPaused, true);
  assert.equal(s2.shares[0].state, 'syncing');
  assert.equal(s2.lastStatusEventAt, 42);
  assert.equal(s0.shares.length, 0, 'the input state is not mutated');
});

test('a device-level problem in status (a rebuilt index database) is told once, as an error notice', () => {
  const problem =
    'index database was corrupt (journal 2 is damaged in the middle) and was rebuilt from disk; the old copy is at /h/index/index.journal.2.corrupt-20260101-000000';
  let s = r.applyStatus(initialState(), status([share()]));
  assert.equal(s.notices.length, 0);
  s = r.applyStatus(s, { ...status([share()]), error: problem }, { now: 5 });
  s = r.applyStatus(s, { ...status([share()]), error: problem }, { now: 6 });
  assert.equal(s.deviceError, problem);
  assert.deepEqual(
    s.notices.map((n) => [n.kind, n.message, n.shareId]),
    [['error', problem, null]],
  );
});

test('a share that disappears takes its detail data and route with it', () => {
  let s = r.applyStatus(initialState(), status([share(), share({ id: 's2', name: 'Docs' })]));
  s = r.navigate(s, { view: 'share', shareId: 's2', tab: 'peers' });
  s = r.resourceLoaded(s, 's2', 'ignore', { text: '*.tmp' });
  s = r.resourceLoaded(s, 's1', 'ignore', { text: '' });
  assert.equal(s.route.view, 'share');
  s = r.applyStatus(s, status([share()]));
  assert.deepEqual(s.route, { view: 'shares' });
  assert.deepEqual(Object.keys(s.details), ['s1']);
});

test('navigate to an unknown share lands on the list; known shares are kept', () => {
  const s = r.applyStatus(initialState(), status([share()]));
  assert.deepEqual(r.navigate(s, { view: 'share', shareId: 'nope', tab: 'codes' }).route, { view: 'shares' });
  assert.deepEqual(r.navigate(s, { view: 'share', shareId: 's1', tab: 'files' }).route, { view: 'share', shareId: 's1', tab: 'files' });
});

test('upsertShare inserts new shares and replaces known ones in place', () => {
  let s = r.applyStatus(initialState(), status([share(), share({ id: 's2' })]));
  s = r.upsertShare(s, share({ id: 's1', name: 'Renamed' }));
  assert.deepEqual(
    s.shares.map((x) => [x.id, x.name]),
    [
      ['s1', 'Renamed'],
      ['s2', 'Photos'],
    ],
  );
  s = r.upsertShare(s, share({ id: 's3' }));
  assert.deepEqual(
    s.shares.map((x) => x.id),
    ['s1', 's2', 's3'],
  );
});

test('removeShare drops the share and its conflicts', () => {
  let s = r.applyStatus(initialState(), status([share(), share({ id: 's2' })]));
  s = r.applyConflict(s, conflict());
  s = r.applyConflict(s, conflict({ shareId: 's2' }));
  s = r.removeShare(s, 's1');
  assert.deepEqual(
    s.shares.map((x) => x.id),
    ['s2'],
  );
  assert.deepEqual(
    s.conflicts.map((c) => c.shareId),
    ['s2'],
  );
});

test('setPaused flips one share or all of them, and resume leaves non-paused states alone', () => {
  let s = r.applyStatus(initialState(), status([share(), share({ id: 's2', state: 'syncing' })]));
  s = r.setPaused(s, 's1', true);
  assert.deepEqual(
    s.shares.map((x) => [x.paused, x.state]),
    [
      [true, 'paused'],
      [false, 'syncing'],
    ],
  );
  s = r.setPaused(s, null, true);
  assert.equal(s.allPaused, true);
  assert.deepEqual(
    s.shares.map((x) => x.state),
    ['paused', 'paused'],
  );
  s = r.setPaused(s, null, false);
  assert.equal(s.allPaused, false);
  assert.deepEqual(
    s.shares.map((x) => [x.paused, x.state]),
    [
      [false, 'idle'],
      [false, 'idle'],
    ],
  );
});

test('peers event replaces the list', () => {
  const s = r.applyPeers(r.applyPeers(initialState(), [peer(), peer({ deviceId: 'C' })]), [peer({ connected: false })]);
  assert.equal(s.peers.length, 1);
  assert.equal(s.peers[0].connected, false);
});

test('conflict events upsert by share and conflict copy; setConflicts replaces all or one share', () => {
  let s = r.applyConflict(initialState(), conflict());
  s = r.applyConflict(s, conflict({ createdAt: 9 }));
  assert.equal(s.conflicts.length, 1);
  assert.equal(s.conflicts[0].createdAt, 9);
  s = r.applyConflict(s, conflict({ conflictPath: 'other.conflict.txt' }));
  s = r.applyConflict(s, conflict({ shareId: 's2' }));
  assert.equal(s.conflicts.length, 3);
  s = r.setConflicts(s, [], 's1');
  assert.deepEqual(
    s.conflicts.map((c) => c.shareId),
    ['s2'],
  );
  s = r.setConflicts(s, [conflict()]);
  assert.deepEqual(
    s.conflicts.map((c) => c.shareId),
    ['s1'],
  );
});

test('removeConflict matches the original path or the conflict copy, and is a no-op otherwise', () => {
  const c = conflict();
  const s = r.applyConflict(initialState(), c);
  assert.equal(r.removeConflict(s, 's1', c.path).conflicts.length, 0);
  assert.equal(r.removeConflict(s, 's1', c.conflictPath).conflicts.length, 0);
  assert.equal(r.removeConflict(s, 's2', c.path), s);
});

test('notices: engine errors name the share, same message does not stack, oldest drop past the cap', () => {
  let s = r.applyStatus(initialState(), status([share()]));
  s = r.applyEngineError(s, { shareId: 's1', message: 'folder missing' }, 1);
  assert.equal(s.notices[0].title, 'Problem with “Photos”');
  assert.equal(s.notices[0].kind, 'error');
  s = r.applyEngineError(s, { shareId: 's1', message: 'folder missing' }, 2);
  assert.equal(s.notices.length, 1);
  assert.equal(s.notices[0].at, 2);
  s = r.applyShareSynced(s, { shareId: 's1', name: 'Photos' }, 3);
  assert.equal(s.notices[1].kind, 'success');
  for (let i = 0; i < 10; i++) s = r.applyEngineError(s, { shareId: null, message: `e${i}` }, 10 + i);
  assert.equal(s.notices.length, r.MAX_NOTICES);
  assert.equal(s.notices[r.MAX_NOTICES - 1].message, 'e9');
  const id = s.notices[0].id;
  s = r.dismissNotice(s, id);
  assert.ok(!s.notices.some((n) => n.id === id));
});

test('call errors carry the action and the engine message', () => {
  const s = r.applyCallError(initialState(), 'pause', { code: 'refused', message: 'share is read-only' }, 5);
  assert.deepEqual([s.notices[0].title, s.notices[0].message], ['Could not pause', 'share is read-only']);
  assert.equal(r.errorMessage('plain'), 'plain');
});

test('resources: loading keeps old data, failures keep it too, and unknown shares are ignored', () => {
  let s = r.applyStatus(initialState(), status([share()]));
  s = r.resourceLoaded(s, 's1', 'ignore', { text: 'a' });
  s = r.resourceLoading(s, 's1', 'ignore');
  assert.deepEqual(s.details.s1.ignore, { status: 'loading', data: { text: 'a' }, error: null });
  s = r.resourceFailed(s, 's1', 'ignore', new Error('boom'));
  assert.deepEqual(s.details.s1.ignore, { status: 'error', data: { text: 'a' }, error: 'boom' });
  assert.equal(r.resourceLoaded(s, 'gone', 'ignore', { text: 'x' }), s);
  s = r.setCodes(s, 's1', { readWrite: 'RW', readOnly: 'RO', encrypted: 'EN' });
  assert.equal(s.details.s1.codes?.data?.readWrite, 'RW');
});

test('settings update the device name shown; connection tracks whether it was ever up', () => {
  let s = r.applyStatus(initialState(), status([]));
  s = r.setSettings(s, {
    deviceName: 'new-name',
    listenPort: 1,
    lanDiscovery: true,
    maxSendKBps: 0,
    maxRecvKBps: 0,
    archiveDays: 30,
    startAtLogin: false,
    trackers: [],
    stunServers: [],
    turnServers: [],
    lanOnly: false,
    limitLan: true,
  });
  assert.equal(s.device?.name, 'new-name');
  s = r.setConnection(s, 'disconnected', 99);
  assert.deepEqual([s.connection, s.everConnected, s.retryAt], ['disconnected', false, 99]);
  s = r.setConnection(s, 'connected', 99);
  assert.deepEqual([s.connection, s.everConnected, s.retryAt], ['connected', true, null]);
  s = r.setConnection(s, 'disconnected', 7);
  assert.deepEqual([s.connection, s.everConnected], ['disconnected', true]);
});

test('a join by invite that is granted takes its real id at the same folder, and the view follows it', () => {
  const pending = share({
    id: 'invite-0123456789abcdef',
    path: '/home/ana/Shared',
    state: 'waiting-for-issuer',
    invite: { issuer: 'DEV-B', expiresAt: 9 },
  });
  let s = r.applyStatus(initialState(), status([share(), pending]));
  s = r.navigate(s, { view: 'share', shareId: pending.id, tab: 'transfers' });
  s = r.applyStatus(s, status([share(), share({ id: 'real1', path: '/home/ana/Shared', state: 'waiting' })]));
  assert.deepEqual(s.route, { view: 'share', shareId: 'real1', tab: 'transfers' });
  // an ordinary share that goes away is not replaced by another one in its folder
  s = r.applyStatus(s, status([share(), share({ id: 'other', path: '/home/ana/Shared' })]));
  assert.deepEqual(s.route, { view: 'shares' });
});
