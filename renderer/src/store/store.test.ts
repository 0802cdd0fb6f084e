import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiEvents, EventName, Method, Params, PeerfoldBridge, Result } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import type { ConnectionAware, ConnectionState } from '../bridge/ws-bridge.ts';
import { createPeerfoldApp } from './store.ts';
import { conflict, peer, share, status } from './fixtures.ts';

type Handler = (params: unknown) => unknown;

/** A scripted bridge: answers from a table, records calls, lets the test emit events. */
function fakeBridge(handlers: Partial<Record<Method, Handler>>) {
  const calls: { method: Method; params: unknown }[] = [];
  const listeners = new Map<string, Set<(d: unknown) => void>>();
  const bridge: PeerfoldBridge = {
    capabilities: { pickFolder: false, dropPaths: false, openPath: false, startAtLogin: false },
    async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      calls.push({ method, params });
      const h = handlers[method];
      if (!h) throw new ApiError('not-found', `no handler for ${method}`);
      return (await h(params)) as Result<M>;
    },
    on<E extends EventName>(event: E, l: (d: ApiEvents[E]) => void) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(l as (d: unknown) => void);
      return () => set.delete(l as (d: unknown) => void);
    },
  };
  const emit = <E extends EventName>(event: E, data: ApiEvents[E]) => listeners.get(event)?.forEach((l) => l(data));
  return { bridge, calls, emit, listeners };
}

const settings = {
  deviceName: 'laptop',
  listenPort: 21120,
  lanDiscovery: true,
  maxSendKBps: 0,
  maxRecvKBps: 0,
  archiveDays: 30,
  startAtLogin: false,
};
const basics: Partial<Record<Method, Handler>> = {
  status: () => status([share()]),
  peers: () => [peer()],
  conflicts: () => [],
  getSettings: () => settings,
};
const settle = () => new Promise((r) => setImmediate(r));

test('start loads a snapshot, then events keep the store current; stop unsubscribes', async () => {
  const { bridge, emit, listeners } = fakeBridge(basics);
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0, now: () => 7 });
  const stop = app.actions.start();
  await settle();
  let s = app.store.getState();
  assert.equal(s.connection, 'connected');
  assert.deepEqual([s.device?.id, s.shares.length, s.peers.length, s.settings?.deviceName], ['DEV-A', 1, 1, 'laptop']);
  emit('status', status([share({ state: 'syncing', needFiles: 2 })]));
  emit('peers', []);
  emit('conflict', conflict());
  emit('shareSynced', { shareId: 's1', name: 'Photos' });
  emit('error', { shareId: null, message: 'port in use' });
  s = app.store.getState();
  assert.equal(s.shares[0].state, 'syncing');
  assert.equal(s.lastStatusEventAt, 7);
  assert.equal(s.peers.length, 0);
  assert.equal(s.conflicts.length, 1);
  assert.deepEqual(
    s.notices.map((n) => n.kind),
    ['success', 'error'],
  );
  stop();
  assert.equal(
    [...listeners.values()].reduce((n, set) => n + set.size, 0),
    0,
  );
});

test('a status event whose conflict or peer counters changed re-requests those lists, once per change', async () => {
  let conflictList = [conflict()];
  const { bridge, calls, emit } = fakeBridge({ ...basics, conflicts: () => conflictList });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  const count = (m: string) => calls.filter((c) => c.method === m).length;
  const c0 = count('conflicts');
  const p0 = count('peers');
  emit('status', status([share({ conflicts: 1 })]));
  await settle();
  assert.equal(count('conflicts'), c0, 'the list already has the one conflict');
  conflictList = [conflict(), conflict({ conflictPath: 'b.conflict.txt' })];
  emit('status', status([share({ conflicts: 2 })]));
  await settle();
  assert.equal(count('conflicts'), c0 + 1);
  assert.equal(app.store.getState().conflicts.length, 2);
  emit('status', status([share({ conflicts: 2 })]));
  await settle();
  assert.equal(count('conflicts'), c0 + 1, 'same counters: no new request');
  emit('status', status([share({ conflicts: 2, peersConnected: 0 })]));
  await settle();
  assert.equal(count('peers'), p0 + 1);
});

test('sharing a folder adds the share with its codes; a failure throws for the dialog', async () => {
  const { bridge } = fakeBridge({
    ...basics,
    share: (p) => {
      const { path } = p as { path: string };
      if (path === '/bad') throw new ApiError('bad-request', 'not a folder');
      return { share: share({ id: 's9', path }), codes: { readWrite: 'RW', readOnly: 'RO', encrypted: 'EN' } };
    },
  });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  const res = await app.actions.shareFolder('/home/ana/Docs');
  assert.equal(res?.share.id, 's9');
  const s = app.store.getState();
  assert.ok(s.shares.some((x) => x.id === 's9'));
  assert.equal(s.details.s9.codes?.data?.readOnly, 'RO');
  await assert.rejects(app.actions.shareFolder('/bad'), /not a folder/);
  app.actions.notifyError('share “/bad”', new ApiError('bad-request', 'not a folder'));
  assert.equal(app.store.getState().notices.at(-1)?.title, 'Could not share “/bad”');
});

test('pause shows at once, calls the engine, and re-reads status; a refusal rolls back', async () => {
  let refuse = false;
  const { bridge, calls } = fakeBridge({
    ...basics,
    status: () => status([share({ paused: !refuse, state: refuse ? 'idle' : 'paused' })]),
    pause: () => {
      if (refuse) throw new ApiError('refused', 'nope');
      return { ok: true };
    },
  });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  const p = app.actions.pause('s1');
  assert.equal(app.store.getState().shares[0].paused, true, 'optimistic');
  await p;
  assert.deepEqual(
    calls.filter((c) => c.method === 'pause').map((c) => c.params),
    [{ share: 's1' }],
  );
  assert.equal(app.store.getState().shares[0].state, 'paused');
  refuse = true;
  await app.actions.pause();
  assert.equal(app.store.getState().shares[0].paused, false);
  assert.equal(app.store.getState().notices.at(-1)?.title, 'Could not pause');
});

test('resolve removes the conflict and re-reads the list', async () => {
  let list = [conflict()];
  const { bridge, calls } = fakeBridge({
    ...basics,
    conflicts: () => list,
    resolve: () => {
      list = [];
      return { ok: true };
    },
  });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  assert.equal(app.store.getState().conflicts.length, 1);
  assert.equal(await app.actions.resolve('s1', 'notes/todo.txt', 'both'), true);
  assert.equal(app.store.getState().conflicts.length, 0);
  assert.deepEqual(calls.find((c) => c.method === 'resolve')?.params, { share: 's1', path: 'notes/todo.txt', keep: 'both' });
});

test('held deletions: confirm and restore call the engine and re-read status; a failure is a notice', async () => {
  let held = 12;
  const { bridge, calls } = fakeBridge({
    ...basics,
    status: () => status([share({ heldDeletes: held })]),
    confirmDeletes: () => {
      held = 0;
      return { deleted: 12 };
    },
    restoreDeletes: () => {
      throw new ApiError('not-found', 'no share "s1"');
    },
  });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  assert.equal(app.store.getState().shares[0].heldDeletes, 12);
  await app.actions.settleHeldDeletes('s1', 'confirm');
  assert.deepEqual(calls.find((c) => c.method === 'confirmDeletes')?.params, { share: 's1' });
  assert.equal(app.store.getState().shares[0].heldDeletes, 0);
  await app.actions.settleHeldDeletes('s1', 'restore');
  assert.equal(app.store.getState().notices.at(-1)?.title, 'Could not restore the deleted files');
});

test('join and addPeer throw for the form to show; load keeps per-share resources', async () => {
  const { bridge } = fakeBridge({
    ...basics,
    join: () => {
      throw new ApiError('bad-request', 'checksum mismatch');
    },
    addPeer: () => {
      throw new ApiError('bad-request', 'expected HOST:PORT');
    },
    getIgnore: () => ({ text: '*.tmp\n' }),
    archive: () => {
      throw new ApiError('internal', 'db locked');
    },
  });
  const app = createPeerfoldApp(bridge, { fallbackPollMs: 0 });
  app.actions.start();
  await settle();
  await assert.rejects(app.actions.join('x', '/tmp/x'), /checksum mismatch/);
  await assert.rejects(app.actions.addPeer('s1', 'nope'), /HOST:PORT/);
  await app.actions.load('s1', 'ignore');
  await app.actions.load('s1', 'archive');
  const d = app.store.getState().details.s1;
  assert.deepEqual(d.ignore, { status: 'ready', data: { text: '*.tmp\n' }, error: null });
  assert.deepEqual(d.archive, { status: 'error', data: null, error: 'db locked' });
});

test('a connection-aware bridge drives the connection state and refreshes on reconnect', async () => {
  const { bridge, calls } = fakeBridge(basics);
  let state: ConnectionState = { phase: 'connecting', attempts: 0, retryAt: null, everOpened: false };
  const ls = new Set<(s: ConnectionState) => void>();
  const aware: PeerfoldBridge & ConnectionAware = Object.assign(bridge, {
    get connection() {
      return state;
    },
    onConnection(l: (s: ConnectionState) => void) {
      ls.add(l);
      return () => ls.delete(l);
    },
    reconnectNow() {},
  });
  const go = (next: ConnectionState) => {
    state = next;
    ls.forEach((l) => l(next));
  };
  const app = createPeerfoldApp(aware, { fallbackPollMs: 0 });
  app.actions.start();
  assert.equal(app.store.getState().connection, 'connecting');
  assert.equal(calls.length, 0, 'nothing is asked before the socket is open');
  go({ phase: 'open', attempts: 0, retryAt: null, everOpened: true });
  await settle();
  assert.equal(app.store.getState().connection, 'connected');
  const first = calls.filter((c) => c.method === 'status').length;
  go({ phase: 'closed', attempts: 1, retryAt: 123, everOpened: true });
  assert.deepEqual([app.store.getState().connection, app.store.getState().retryAt], ['disconnected', 123]);
  go({ phase: 'connecting', attempts: 1, retryAt: null, everOpened: true });
  assert.equal(app.store.getState().connection, 'disconnected', 'a retry in progress is still "disconnected" to the user');
  go({ phase: 'open', attempts: 0, retryAt: null, everOpened: true });
  await settle();
  assert.equal(calls.filter((c) => c.method === 'status').length, first + 1);
});
