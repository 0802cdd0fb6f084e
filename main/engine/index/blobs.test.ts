import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CorruptRowError,
  decodeVersion,
  decodeVersionV4,
  encodeVersion,
  encodeVersionOfNumbers,
  encodeVersionV4,
  chunkListDigest,
  decodeChunks,
  encodeChunks,
  joinSignature,
  readHash,
  splitSignature,
  storedHash,
} from './blobs.ts';

const sha = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

test("a file hash that is its chunk list's digest is stored as nothing and comes back the same", () => {
  for (const n of [0, 1, 3]) {
    const chunks = Array.from({ length: n }, (_, i) => ({ hash: sha(`c${i}`), size: 100 + i }));
    const blob = encodeChunks(chunks);
    const h = createHash('sha256');
    for (const c of chunks) h.update(c.hash);
    const hex = h.digest('hex');
    assert.equal(storedHash(hex, blob), null, `${n} chunks: derived, not stored`);
    assert.equal(readHash(null, blob), hex);
    assert.equal(storedHash(hex.toUpperCase(), blob), null, 'hex case does not matter');
  }
});

test('any other file hash is stored as it is: tombstones, non-files, hashes made another way', () => {
  const blob = encodeChunks([{ hash: sha('x'), size: 5 }]);
  const other = createHash('sha256').update('encrypted blobs hash differently').digest('hex');
  const kept = storedHash(other, blob);
  assert.equal(kept?.length, 32);
  assert.equal(readHash(kept, blob), other);
  const none = storedHash('', blob);
  assert.equal(none?.length, 0, "'' is kept as an empty value, not derived");
  assert.equal(readHash(none, blob), '');
  assert.equal(readHash(storedHash('', new Uint8Array(0)), new Uint8Array(0)), '', "a directory's '' with no chunks");
  assert.throws(() => storedHash('xyz', blob), /64 hex digits/);
});

test('a damaged chunk list is a clear error, not a wrong list or a wrong hash', () => {
  const blob = encodeChunks([{ hash: sha('x'), size: 5 }]);
  const cut = blob.subarray(0, 35);
  assert.throws(
    () => decodeChunks(cut),
    (e: Error) => e instanceof CorruptRowError && /35 bytes is not a whole number of 36-byte entries/.test(e.message),
  );
  assert.throws(() => readHash(null, cut), CorruptRowError);
  assert.throws(() => chunkListDigest(new Uint8Array(37)), /index database damaged.*move the index folder away/);
});

test('a 96-byte writer signature is stored as its key apart and the rest; others whole', () => {
  const sig = new Uint8Array(96).map((_, i) => i);
  const { key, rest } = splitSignature(sig);
  assert.deepEqual(key, sig.subarray(0, 32));
  assert.deepEqual(rest, sig.subarray(32));
  assert.deepEqual(joinSignature(key, rest), sig);

  assert.deepEqual(splitSignature(null), { key: null, rest: null });
  assert.deepEqual(splitSignature(new Uint8Array(0)), { key: null, rest: null }, 'empty: unsigned');
  assert.equal(joinSignature(null, null), null);
  const odd = new Uint8Array(10).fill(3);
  assert.deepEqual(splitSignature(odd), { key: null, rest: odd });
  assert.deepEqual(joinSignature(null, odd), odd);
});

test('a stored signature whose parts do not fit is a clear error', () => {
  assert.throws(
    () => joinSignature(new Uint8Array(32), new Uint8Array(10)),
    (e: Error) => e instanceof CorruptRowError && /10 bytes of signature/.test(e.message),
  );
  assert.throws(() => joinSignature(new Uint8Array(32), null), CorruptRowError);
  assert.throws(() => joinSignature(new Uint8Array(31), new Uint8Array(64)), /writer key of 31 bytes/);
});

test('version vectors as varints: every counter up to 2^53 - 1 comes back, in device order, and a cut vector is a clear error', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const no = (id: string) => [300, 1, 128, 2 ** 31, 5, 2 ** 32 + 7, 0][ids.indexOf(id)]!;
  const byNo = (n: number) => ids.find((id) => no(id) === n)!;
  const v = { a: 0, b: 1, c: 127, d: 128, e: 2 ** 32 + 5, f: 2 ** 53 - 1, g: 16_384 };
  const blob = encodeVersion(v, no);
  assert.deepEqual(decodeVersion(blob, byNo), v);
  assert.deepEqual(encodeVersion({ b: 1 }, no), Uint8Array.from([1, 1]), 'the usual vector is 2 bytes');
  assert.deepEqual(encodeVersion({}, no).length, 0);
  assert.deepEqual(encodeVersion({ e: 1, b: 2 }, no), encodeVersion({ b: 2, e: 1 }, no), 'one form whatever the key order');
  assert.throws(() => decodeVersion(blob.subarray(0, blob.length - 1), byNo), CorruptRowError);
  assert.throws(() => decodeVersion(Uint8Array.from([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), byNo), CorruptRowError);
  assert.throws(() => encodeVersion({ a: 1.5 }, no), TypeError);
});

test("schema 4's 12-byte version vectors are read as that code read them, for the migration", () => {
  const old = encodeVersionV4({ 2: 7, 1: 2 ** 40 });
  assert.equal(old.length, 24);
  assert.deepEqual(
    [...decodeVersionV4(old)],
    [
      [1, 2 ** 40],
      [2, 7],
    ],
  );
  assert.deepEqual([...decodeVersionV4(Buffer.concat([old, Buffer.alloc(5)]))].length, 2, 'a partial entry at the end was never read');
  assert.deepEqual(decodeVersion(encodeVersionOfNumbers(decodeVersionV4(old)), String), { 1: 2 ** 40, 2: 7 });
});
