import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, hunks, splitLines } from './diff.ts';

const render = (a: string, b: string) => diffLines(a, b).ops.map((o) => (o.kind === 'same' ? ' ' : o.kind === 'add' ? '+' : '-') + o.text);

test('splitLines ignores one trailing newline and handles CRLF', () => {
  assert.deepEqual(splitLines(''), []);
  assert.deepEqual(splitLines('a\r\nb\n'), ['a', 'b']);
});

test('diffLines finds a minimal edit script', () => {
  assert.deepEqual(render('a\nb\nc\n', 'a\nB\nc\n'), [' a', '-b', '+B', ' c']);
  assert.deepEqual(render('', 'x\n'), ['+x']);
  assert.deepEqual(render('x\n', ''), ['-x']);
  assert.deepEqual(render('a\nb\nc\nd\n', 'b\nc\nd\ne\n'), ['-a', ' b', ' c', ' d', '+e']);
  assert.deepEqual(render('same\n', 'same\n'), [' same']);
  // Myers on the classic example: ABCABBA -> CBABAC has 5 edits
  const r = diffLines([...'ABCABBA'].join('\n'), [...'CBABAC'].join('\n'));
  assert.equal(r.ops.filter((o) => o.kind !== 'same').length, 5);
});

test('every diff replays: the old side and the new side come back out', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 4;
  for (let t = 0; t < 200; t++) {
    const a = Array.from({ length: rnd() * 3 + rnd() }, () => 'abcd'[rnd()]);
    const b = Array.from({ length: rnd() * 3 + rnd() }, () => 'abcd'[rnd()]);
    const { ops } = diffLines(a.join('\n'), b.join('\n'));
    assert.deepEqual(
      ops.filter((o) => o.kind !== 'add').map((o) => o.text),
      a,
    );
    assert.deepEqual(
      ops.filter((o) => o.kind !== 'del').map((o) => o.text),
      b,
    );
    const line = (k: 'a' | 'b') => ops.map((o) => o[k]).filter((n) => n !== null);
    assert.deepEqual(
      line('a'),
      a.map((_, i) => i + 1),
    );
    assert.deepEqual(
      line('b'),
      b.map((_, i) => i + 1),
    );
  }
});

test('past the edit budget it gives up to all-removed, all-added', () => {
  const a = Array.from({ length: 50 }, (_, i) => `a${i}`).join('\n');
  const b = Array.from({ length: 50 }, (_, i) => `b${i}`).join('\n');
  const r = diffLines(a, b, 10);
  assert.equal(r.gaveUp, true);
  assert.equal(r.ops.filter((o) => o.kind === 'del').length, 50);
  assert.equal(r.ops.filter((o) => o.kind === 'add').length, 50);
});

test('hunks collapse long unchanged runs and keep context around changes', () => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const b = [...a];
  b[10] = 'changed';
  const h = hunks(diffLines(a.join('\n'), b.join('\n')).ops, 2);
  assert.deepEqual(
    h.map((x) => ('skipped' in x ? `skip ${x.skipped}` : x.ops.map((o) => o.kind[0]).join(''))),
    ['skip 8', 'ssdass', 'skip 7'],
  );
});
