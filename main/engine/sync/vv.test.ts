import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bumpVector, compareVectors, counterFloorForNewIndex, isFirstVersion, mergeVectors, normalizeVector } from './vv.ts';

const vector = fc.dictionary(fc.constantFrom('A', 'B', 'C', 'D'), fc.integer({ min: 0, max: 5 }));

test('a vector compares equal to itself and to its normalised form', () => {
  fc.assert(fc.property(vector, (v) => compareVectors(v, v) === 'equal' && compareVectors(v, normalizeVector(v)) === 'equal'));
});

test('comparison is antisymmetric', () => {
  const flip = { equal: 'equal', greater: 'lesser', lesser: 'greater', concurrent: 'concurrent' } as const;
  fc.assert(fc.property(vector, vector, (a, b) => compareVectors(b, a) === flip[compareVectors(a, b)]));
});

test('a local change makes the vector strictly newer than what it came from', () => {
  fc.assert(fc.property(vector, fc.constantFrom('A', 'B', 'X'), (v, d) => compareVectors(bumpVector(v, d), v) === 'greater'));
});

test('the merge dominates both inputs, and bumping it resolves a conflict', () => {
  fc.assert(
    fc.property(vector, vector, (a, b) => {
      const m = mergeVectors(a, b);
      const ma = compareVectors(m, a);
      const mb = compareVectors(m, b);
      const resolved = bumpVector(m, 'A');
      return (
        (ma === 'greater' || ma === 'equal') &&
        (mb === 'greater' || mb === 'equal') &&
        compareVectors(resolved, a) === 'greater' &&
        compareVectors(resolved, b) === 'greater'
      );
    }),
  );
});

test('two independent edits of one version are concurrent', () => {
  const base = { A: 2, B: 1 };
  assert.equal(compareVectors(bumpVector(base, 'A'), bumpVector(base, 'B')), 'concurrent');
  assert.equal(compareVectors({ A: 1 }, { A: 1, B: 0 }), 'equal');
  assert.equal(compareVectors({ A: 1 }, { B: 1 }), 'concurrent');
  assert.equal(compareVectors({ A: 2, B: 1 }, { A: 1, B: 1 }), 'greater');
});

test('counters only grow across a rebuild: every version made after it is newer than, or concurrent with, every one made before', () => {
  // Incarnation 1 of device A's index starts at t1 (floor 0, or t1 after an earlier rebuild) and
  // makes changes, some merged with other devices' versions, at most one per ms (a scan apart);
  // the index is lost and incarnation 2 starts later, from nothing.
  const change = fc.record({ merge: fc.option(vector, { nil: undefined }) });
  fc.assert(
    fc.property(
      fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
      fc.integer({ min: 1, max: 10_000_000 }),
      fc.boolean(),
      fc.array(change, { minLength: 1, maxLength: 40 }),
      fc.array(change, { minLength: 1, maxLength: 10 }),
      (t1, later, firstWasRebuilt, before, after) => {
        const floor1 = firstWasRebuilt ? counterFloorForNewIndex(t1) : 0;
        const floor2 = counterFloorForNewIndex(t1 + before.length + later);
        const run = (floor: number, start: Record<string, number>, steps: { merge?: Record<string, number> }[]) => {
          const made: Record<string, number>[] = [];
          let v = start;
          for (const s of steps) {
            v = bumpVector(s.merge ? mergeVectors(v, s.merge) : v, 'A', floor);
            made.push(v);
          }
          return made;
        };
        const old = run(floor1, {}, before);
        const fresh = run(floor2, {}, after);
        return fresh.every((n) => old.every((o) => n.A! > o.A! && compareVectors(n, o) !== 'lesser'));
      },
    ),
  );
});

test('without a floor a rebuilt index would restart below what peers hold (the bug the floor prevents)', () => {
  const synced = bumpVector({ B: 1 }, 'A'); // A edited B's file: {A:1, B:1}, peers hold it
  assert.equal(compareVectors(bumpVector({}, 'A'), synced), 'lesser', 'a fresh {A:1} loses to it');
  assert.notEqual(compareVectors(bumpVector({}, 'A', counterFloorForNewIndex(Date.now())), synced), 'lesser');
});

test('a first version is recognised with or without a counter floor; an edit or a merge is not one', () => {
  const floor = 1_764_600_000_000;
  assert.equal(isFirstVersion(bumpVector({}, 'A'), 'A'), true);
  assert.equal(isFirstVersion(bumpVector({}, 'A', floor), 'A', floor), true);
  assert.equal(isFirstVersion(bumpVector(bumpVector({}, 'A', floor), 'A', floor), 'A', floor), false, 'edited again');
  assert.equal(isFirstVersion({ A: 1, B: 1 }, 'A'), false);
  assert.equal(isFirstVersion({ B: 1 }, 'A'), false, 'another device made it');
});
