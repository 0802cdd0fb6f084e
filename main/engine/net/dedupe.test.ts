import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chooseLink, identityOf, resolveDuplicate, type LinkIdentity } from './dedupe.ts';

const kept = (existing: LinkIdentity, incoming: LinkIdentity) => (chooseLink(existing, incoming) === 'keep-existing' ? existing : incoming);

test('simultaneous dial: the link dialed by the smaller device ID wins on both sides', () => {
  const byA: LinkIdentity = { dialerId: 'AAAA', connectionId: '1111111111111111' };
  const byB: LinkIdentity = { dialerId: 'BBBB', connectionId: '2222222222222222' };
  // A saw its own link first, B saw its own link first: they still agree
  assert.equal(kept(byA, byB), byA);
  assert.equal(kept(byB, byA), byA);
});

test('both sides agree for any pair of dialers and any arrival order', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      (x, y, c1, c2) => {
        fc.pre(x !== y && c1 !== c2);
        const l1 = { dialerId: x, connectionId: c1 };
        const l2 = { dialerId: y, connectionId: c2 };
        assert.equal(kept(l1, l2), kept(l2, l1));
      },
    ),
  );
});

test('identityOf names the dialer from the link role', () => {
  assert.deepEqual(identityOf({ role: 'offerer', id: 'c1', peer: { deviceId: 'B' } }, 'A'), { dialerId: 'A', connectionId: 'c1' });
  assert.deepEqual(identityOf({ role: 'answerer', id: 'c2', peer: { deviceId: 'B' } }, 'A'), { dialerId: 'B', connectionId: 'c2' });
});

test('a redial by the same device replaces the stale link', () => {
  const old: LinkIdentity = { dialerId: 'AAAA', connectionId: '1111111111111111' };
  const fresh: LinkIdentity = { dialerId: 'AAAA', connectionId: '3333333333333333' };
  assert.equal(chooseLink(old, fresh), 'keep-incoming');
});

test('the same link offered twice is kept', () => {
  const l: LinkIdentity = { dialerId: 'AAAA', connectionId: '1111111111111111' };
  assert.equal(chooseLink(l, { ...l }), 'keep-existing');
});

test('a link that did not answer its probe is replaced, whoever dialed it; two live links use the tie-break', () => {
  // the survivor dialed the old link; its peer was killed and restarted and dials in
  const dead: LinkIdentity = { dialerId: 'AAAA', connectionId: '1111111111111111' };
  const fromRestarted: LinkIdentity = { dialerId: 'BBBB', connectionId: '4444444444444444' };
  assert.equal(chooseLink(dead, fromRestarted), 'keep-existing', 'the plain tie-break would keep the dead link');
  assert.equal(resolveDuplicate(dead, false, fromRestarted), 'keep-incoming');
  assert.equal(resolveDuplicate(dead, true, fromRestarted), 'keep-existing');
});
