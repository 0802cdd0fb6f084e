import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DecodeError,
  EncodeError,
  bool,
  bytes,
  decode,
  encode,
  enumOf,
  fixed,
  int,
  list,
  optional,
  string,
  struct,
  uint,
  splitBySize,
  type Codec,
} from './codec.ts';

const sample = struct({
  n: uint(),
  small: uint(300),
  i: int(),
  b: bool(),
  raw: bytes(16),
  id: fixed(4),
  name: string(20),
  tags: list(string(8), 5),
  maybe: optional(struct({ x: uint() })),
  color: enumOf('color', { red: 1, blue: 7 }),
});

const arbSample = fc.record({
  n: fc.maxSafeNat(),
  small: fc.nat(300),
  i: fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }),
  b: fc.boolean(),
  raw: fc.uint8Array({ maxLength: 16 }),
  id: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  name: fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\u0000'), maxLength: 5 }),
  tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 5 }),
  maybe: fc.option(fc.record({ x: fc.maxSafeNat() }), { nil: null }),
  color: fc.constantFrom('red' as const, 'blue' as const),
});

test('every field kind round-trips (property)', () => {
  fc.assert(
    fc.property(arbSample, (v) => {
      const bytesOut = encode(sample, v);
      assert.deepEqual(decode(sample, bytesOut), { ...v, maybe: v.maybe && { ...v.maybe } });
      assert.equal(bytesOut.length, sample.size(v));
    }),
    { numRuns: 500 },
  );
});

test('varints are canonical: minimal, at most 2^53 - 1', () => {
  const u = uint();
  assert.deepEqual([...encode(u, 0)], [0]);
  assert.deepEqual([...encode(u, 127)], [127]);
  assert.deepEqual([...encode(u, 128)], [0x80, 1]);
  assert.equal(decode(u, encode(u, Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  const err = (buf: number[]) => assert.throws(() => decode(u, Uint8Array.from(buf)), DecodeError);
  err([0x80, 0]); // 0 in two bytes
  err([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10]); // 2^53
  err([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  err([0x80]); // truncated
  assert.throws(() => encode(u, -1), EncodeError);
  assert.throws(() => encode(u, 1.5), EncodeError);
  assert.throws(() => encode(u, 2 ** 53), EncodeError);
  assert.deepEqual([...encode(int(), -1)], [1]);
  assert.deepEqual([...encode(int(), 1)], [2]);
});

test('limits are enforced on decode, with the field named', () => {
  const s = struct({ items: list(struct({ data: bytes(4) }), 3) });
  const expectError = (buf: number[], code: string, re: RegExp) => {
    try {
      decode(s, Uint8Array.from(buf));
      assert.fail('decoded');
    } catch (e) {
      assert.ok(e instanceof DecodeError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, re);
    }
  };
  expectError([4], 'limit', /^items: list of 4 items exceeds the limit 3/);
  expectError([1, 5, 1, 2, 3, 4, 5], 'limit', /^items\[0\]\.data: 5 bytes exceed the limit 4/);
  expectError([2, 1, 9], 'truncated', /^items\[1\]\.data/);
  expectError([1, 1, 9, 0], 'trailing', /1 bytes left over/);
  expectError([3, 0], 'truncated', /^items: list of 3 items cannot fit/);
  assert.throws(() => decode(bool(), Uint8Array.of(2)), /bool must be 0 or 1/);
  assert.throws(() => decode(optional(uint()), Uint8Array.of(2, 0)), /optional flag/);
  assert.throws(() => decode(string(10), Uint8Array.of(2, 0xc3, 0x28)), /not valid UTF-8/);
  assert.throws(() => decode(string(2), Uint8Array.of(3, 0x61, 0x62, 0x63)), /exceeds the limit 2/);
  assert.throws(() => decode(enumOf('color', { red: 1 }), Uint8Array.of(0)), /exceeds the limit 1|unknown color 0/);
});

test('a list count cannot make the decoder allocate beyond the bytes present', () => {
  // claims 2^53-1 items of at least 32 bytes each in an 9-byte message
  const huge = struct({ items: list(fixed(32), Number.MAX_SAFE_INTEGER) });
  const buf = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.throws(
    () => decode(huge, buf),
    (e: unknown) => e instanceof DecodeError && e.code === 'truncated',
  );
});

test('encoding refuses values that break the schema, naming the field', () => {
  const ok = { ...fc.sample(arbSample, 1)[0]!, tags: ['123456789'] };
  assert.throws(() => encode(sample, ok), /^EncodeError: tags\[0\]: string of 9 bytes exceeds the limit 8$/);
  assert.throws(() => encode(fixed(4) as Codec<Uint8Array>, new Uint8Array(3)), EncodeError);
  assert.throws(() => encode(string(10), '\ud800'), /lone surrogate/);
  assert.throws(() => encode(list(uint(), 2), [1, 2, 3]), /exceeds the limit 2/);
});

test('random bytes never throw anything but DecodeError (fuzz)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (buf) => {
      try {
        decode(sample, buf);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

test('splitBySize keeps order, budget and item caps', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const runs = splitBySize(items, (i) => (i % 7) + 1, 10, 4);
  assert.deepEqual(runs.flat(), items);
  for (const r of runs) {
    assert.ok(r.length <= 4);
    assert.ok(r.reduce((n, i) => n + (i % 7) + 1, 0) <= 10);
  }
  assert.throws(() => splitBySize([1], () => 11, 10, 4), EncodeError);
});
