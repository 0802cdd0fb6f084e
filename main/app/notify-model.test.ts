import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConflictInfo } from '../../shared/api.ts';
import {
  CONFLICT_MEMORY,
  CONFLICT_QUIET_MS,
  ENGINE_ERROR_REPEAT_MS,
  emptyNotifyMemory,
  notify,
  parseNotifyMemory,
  serializeNotifyMemory,
} from './notify-model.ts';
import type { EngineEvent, NotifyMemory, Notice } from './notify-model.ts';
import { share, status } from './test-fixtures.ts';

function conflict(over: Partial<ConflictInfo> = {}): ConflictInfo {
  const side = { deviceId: 'DEV-B', deviceName: 'desktop', mtimeMs: 1, size: 3, hash: 'ab' };
  return {
    shareId: 'share-1',
    path: 'notes/todo.txt',
    conflictPath: 'notes/todo.conflict-desktop-20250101-120000.txt',
    winner: side,
    loser: side,
    createdAt: 1,
    ...over,
  };
}

/** Feeds events in order and collects every notice. */
function run(events: [EngineEvent, number][], memory: NotifyMemory = emptyNotifyMemory()) {
  const notices: Notice[] = [];
  for (const [e, now] of events) {
    const r = notify(memory, e, now);
    memory = r.memory;
    notices.push(...r.notices);
  }
  return { memory, notices };
}

const named = { event: 'status', data: status([share()]) } as const satisfies EngineEvent;

test('a new conflict is announced once, with the folder name and a route to the conflicts view', () => {
  const c: EngineEvent = { event: 'conflict', data: conflict() };
  const { notices } = run([
    [named, 0],
    [c, 1000],
    [c, 60_000],
  ]);
  assert.deepEqual(notices, [
    {
      kind: 'conflict',
      title: 'Conflict in Photos',
      body: 'todo.txt was changed on two devices. Both versions are kept: choose which to keep.',
      route: '#/conflicts',
    },
  ]);
});

test('a conflict before any status still gets a notice', () => {
  const { notices } = run([[{ event: 'conflict', data: conflict() }, 0]]);
  assert.equal(notices[0]!.title, 'New conflict');
});

test('a burst of conflicts in one share gives one notice; another share or a later one gives another', () => {
  const c = (n: number, shareId = 'share-1'): EngineEvent => ({
    event: 'conflict',
    data: conflict({ shareId, conflictPath: `f${n}.conflict` }),
  });
  const { notices } = run([
    [c(1), 0],
    [c(2), 10],
    [c(3), CONFLICT_QUIET_MS - 1],
    [c(4, 'share-2'), 20],
    [c(5), CONFLICT_QUIET_MS + 100],
  ]);
  assert.equal(notices.length, 3);
});

test('remembered conflicts are bounded', () => {
  let memory = emptyNotifyMemory();
  for (let i = 0; i < CONFLICT_MEMORY + 10; i++) {
    memory = notify(memory, { event: 'conflict', data: conflict({ conflictPath: `c${i}` }) }, i * CONFLICT_QUIET_MS).memory;
  }
  assert.equal(memory.conflicts.length, CONFLICT_MEMORY);
  assert.ok(memory.conflicts.at(-1)!.endsWith('c1009'));
});

test('a share finishing its first sync is announced once, even across a restart', () => {
  const synced: EngineEvent = { event: 'shareSynced', data: { shareId: 'share-1', name: 'Photos' } };
  const first = run([
    [synced, 0],
    [synced, 1],
  ]);
  assert.deepEqual(first.notices, [
    { kind: 'synced', title: 'Photos is ready', body: 'The first sync finished: every file is here.', route: '#/shares/share-1' },
  ]);
  const restored = parseNotifyMemory(serializeNotifyMemory(first.memory));
  assert.deepEqual(run([[synced, 5]], restored).notices, []);
  // a different share is new
  assert.equal(run([[{ event: 'shareSynced', data: { shareId: 'share-2', name: 'Docs' } }, 6]], restored).notices.length, 1);
});

test('a share error is announced once while it lasts, and again if it comes back', () => {
  const broken = { event: 'status', data: status([share({ state: 'error', error: 'folder is missing' })]) } as const satisfies EngineEvent;
  const errEvent: EngineEvent = { event: 'error', data: { shareId: 'share-1', message: 'folder is missing' } };
  const fine = named;
  const { notices } = run([
    [broken, 0],
    [errEvent, 1],
    [broken, 2],
    [fine, 3],
    [errEvent, 4],
    [broken, 5],
  ]);
  assert.deepEqual(
    notices.map((n) => [n.kind, n.title, n.body, n.route]),
    [
      ['error', 'Problem with Photos', 'folder is missing', '#/shares/share-1'],
      ['error', 'Problem with Photos', 'folder is missing', '#/shares/share-1'],
    ],
  );
});

test('a different error of the same share is announced', () => {
  const e = (message: string): EngineEvent => ({ event: 'error', data: { shareId: 'share-1', message } });
  assert.equal(
    run([
      [e('folder is missing'), 0],
      [e('database is damaged'), 1],
    ]).notices.length,
    2,
  );
});

test('engine-wide errors repeat only after a long quiet time', () => {
  const e: EngineEvent = { event: 'error', data: { shareId: null, message: 'port 21120 is in use' } };
  const { notices } = run([
    [e, 0],
    [e, 1000],
    [named, 2000],
    [e, ENGINE_ERROR_REPEAT_MS + 1],
  ]);
  assert.deepEqual(
    notices.map((n) => [n.title, n.route]),
    [
      ['Peerfold has a problem', '#/'],
      ['Peerfold has a problem', '#/'],
    ],
  );
});

test("a status that does not list a share keeps that share's error remembered", () => {
  const e: EngineEvent = { event: 'error', data: { shareId: 'other', message: 'x' } };
  const { notices } = run([
    [e, 0],
    [named, 1],
    [e, 2],
  ]);
  assert.equal(notices.length, 1);
});

test('peers events never notify, and nothing mutates the memory passed in', () => {
  const memory = emptyNotifyMemory();
  const frozen = JSON.stringify(memory);
  assert.deepEqual(notify(memory, { event: 'peers', data: [] }, 0).notices, []);
  notify(memory, { event: 'conflict', data: conflict() }, 0);
  notify(memory, { event: 'status', data: status([share({ error: 'x' })]) }, 0);
  assert.equal(JSON.stringify(memory), frozen);
});

test('parseNotifyMemory survives garbage', () => {
  assert.deepEqual(parseNotifyMemory('not json'), emptyNotifyMemory());
  assert.deepEqual(parseNotifyMemory('null'), emptyNotifyMemory());
  const m = parseNotifyMemory(
    JSON.stringify({ conflicts: ['a', 3], synced: 'x', errors: { k: 5, j: 'no' }, names: { s: 'Photos', t: 1 } }),
  );
  assert.deepEqual(m, { conflicts: ['a'], synced: [], errors: { k: 5 }, lastConflictAt: {}, names: { s: 'Photos' } });
});
