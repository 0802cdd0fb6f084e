import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versioned } from './versioned-fixture.ts';
import { readOnlyChange, sharedGlobal } from './read-only.ts';

const W = 'WRITER';
const R = 'READONLY';
const v = versioned;

test("a read-only device syncs to its peers' version, never to its own", () => {
  const writer = v(W, { [W]: 2 }, { hash: 'w2', mtimeMs: 1 });
  const mine = v(R, { [W]: 1, [R]: 5 }, { hash: 'r', mtimeMs: 99 }); // concurrent, and would win the tie-break
  assert.equal(sharedGlobal([writer, mine], R, false), mine, 'as a writer it would keep its own');
  assert.equal(sharedGlobal([writer, mine], R, true), writer);
  assert.equal(sharedGlobal([mine], R, true), undefined);
});

test('local changes: added, modified, deleted; not a pull still to come', () => {
  const shared = v(W, { [W]: 2 }, { hash: 'w2' });
  assert.equal(readOnlyChange(undefined, shared), null);
  assert.equal(readOnlyChange(v(R, { [W]: 2 }, { hash: 'w2' }), shared), null, 'the shared version');
  assert.equal(readOnlyChange(v(R, { [W]: 1 }, { hash: 'w1' }), shared), null, 'an older one: a pull to come');
  assert.equal(readOnlyChange(v(R, { [W]: 2, [R]: 9 }, { hash: 'mine' }), shared), 'modified');
  assert.equal(readOnlyChange(v(R, { [W]: 1, [R]: 9 }, { hash: 'mine' }), shared), 'modified', 'edited over an older version');
  assert.equal(readOnlyChange(v(R, { [W]: 2, [R]: 9 }, { deleted: true, hash: '' }), shared), 'deleted');
  assert.equal(readOnlyChange(v(R, { [R]: 9 }, { hash: 'new' }), undefined), 'added');
  assert.equal(
    readOnlyChange(v(R, { [W]: 3, [R]: 9 }, { hash: 'new' }), v(W, { [W]: 3 }, { deleted: true, hash: '' })),
    'added',
    'back after a shared deletion',
  );
  assert.equal(readOnlyChange(v(R, { [R]: 9 }, { deleted: true, hash: '' }), undefined), null, 'created and deleted again');
});
