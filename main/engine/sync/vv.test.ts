import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bumpVector, compareVectors, mergeVectors, normalizeVector } from './vv.ts';

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
      return (ma === 'greater' || ma === 'equal') && (mb === 'greater' || mb === 'equal') &&
        compareVectors(resolved, a) === 'greater' && compareVectors(resolved, b) === 'greater';
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
