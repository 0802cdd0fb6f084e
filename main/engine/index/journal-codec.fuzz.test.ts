// Fuzzing the journal decoders (scanJournal, decodePayload) and the snapshot header: whatever is on
// disk (torn, damaged, hostile), they return records or a JournalFormatError / CorruptDatabaseError,
// never another exception, and never allocate more than the bytes they were given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { JournalFormatError, RECORD_HEADER_BYTES, RecordWriter, decodePayload, scanJournal, type SqlParam } from './journal-codec.ts';
import { varintBytes } from '../protocol/test-support.ts';
import { CorruptDatabaseError, SNAPSHOT_HEADER_BYTES, decodeSnapshot, encodeSnapshotHeader } from './durable-files.ts';

const param: fc.Arbitrary<SqlParam> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.bigInt(),
  fc.boolean(),
);
const statement = fc.record({
  sql: fc.constantFrom('INSERT INTO t VALUES (?)', 'UPDATE t SET a = ?', 'DELETE FROM t WHERE a = ?'),
  params: fc.array(param, { maxLength: 4 }),
});

/** One valid record (header + payload) holding these statements. */
function record(stmts: { sql: string; params: SqlParam[] }[]): Buffer {
  const w = new RecordWriter();
  for (const s of stmts) w.addStatement(s.sql, s.params);
  return Buffer.from(w.finish());
}

/** A framed record around any payload bytes, with a correct checksum. */
function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

function decodesOrRefuses(payload: Buffer): void {
  try {
    const entries = decodePayload(payload);
    // every entry takes at least two bytes (kind, SQL reference)
    assert.ok(entries.length * 2 <= payload.length);
  } catch (e) {
    if (!(e instanceof JournalFormatError)) throw e;
  }
}

const journal = fc
  .array(fc.array(statement, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 })
  .map((recs) => recs.map(record));

test('fuzz: random payload bytes decode or fail with JournalFormatError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodesOrRefuses(Buffer.from(b))),
    { numRuns: 1000 },
  );
});

test('fuzz: valid payloads with bytes flipped, cut or appended decode or fail with JournalFormatError', () => {
  fc.assert(
    fc.property(
      fc.array(statement, { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 8 }),
      (stmts, flips, cut, extra) => {
        const payload = Buffer.from(record(stmts).subarray(RECORD_HEADER_BYTES));
        for (const [at, x] of flips) payload[at % payload.length]! ^= x;
        decodesOrRefuses(payload.subarray(0, payload.length - (cut % payload.length)));
        decodesOrRefuses(Buffer.concat([payload, extra]));
      },
    ),
    { numRuns: 1000 },
  );
});

test('declared lengths and counts beyond the payload are refused before anything is allocated', () => {
  const sql = [0, 1, 0x41]; // sqlRef 0: new SQL text "A"
  for (const huge of [2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1]) {
    // a statement claiming `huge` parameters, with none present
    assert.throws(() => decodePayload(Buffer.from([0, ...sql, ...varintBytes(huge)])), JournalFormatError, `${huge} params`);
    // named: the same
    assert.throws(() => decodePayload(Buffer.from([1, ...sql, ...varintBytes(huge)])), JournalFormatError, `${huge} named params`);
    // a string, blob and SQL text claiming `huge` bytes
    assert.throws(() => decodePayload(Buffer.from([0, ...sql, 1, 3, ...varintBytes(huge)])), JournalFormatError, `${huge}-byte string`);
    assert.throws(() => decodePayload(Buffer.from([0, ...sql, 1, 4, ...varintBytes(huge)])), JournalFormatError, `${huge}-byte blob`);
    assert.throws(() => decodePayload(Buffer.from([2, 0, ...varintBytes(huge)])), JournalFormatError, `${huge}-byte SQL`);
  }
  // a record header claiming more than the file holds is a torn tail, with nothing read past the end
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  head.writeUInt32LE(2 ** 31, 0);
  assert.deepEqual(scanJournal(Buffer.concat([head, Buffer.alloc(100)])).records, []);
});

test('a bigint parameter that is not a decimal number is a JournalFormatError', () => {
  // tag 5 = bigint as decimal text
  // ';0…' is what fast-check found: a flipped byte in a valid bigint's text
  for (const text of ['', 'x', '1.5', '0x', ' ', '--1', '١٢', ';0000000000000000000000000000000']) {
    const t = Buffer.from(text);
    assert.throws(() => decodePayload(Buffer.from([0, 0, 1, 0x41, 1, 5, t.length, ...t])), JournalFormatError, JSON.stringify(text));
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (text) => {
      const t = Buffer.from(text);
      decodesOrRefuses(Buffer.from([0, 0, 1, 0x41, 1, 5, ...[t.length], ...t]));
    }),
    { numRuns: 500 },
  );
});

test('fuzz: scanJournal never throws and its records are exactly the intact prefix', () => {
  fc.assert(
    fc.property(
      journal,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 40 }),
      (recs, flips, cut, tail) => {
        const whole = Buffer.concat(recs);
        const damaged = Buffer.from(whole);
        for (const [at, x] of flips) damaged[at % damaged.length]! ^= x;
        for (const data of [damaged, whole.subarray(0, whole.length - (cut % whole.length)), Buffer.concat([whole, tail])]) {
          const s = scanJournal(data);
          assert.ok(s.validBytes <= data.length);
          assert.equal(
            s.records.reduce((n, r) => n + RECORD_HEADER_BYTES + r.length, 0),
            s.validBytes,
          );
          assert.ok(!(s.tail && s.damage), 'a stop is a tail or damage, not both');
          assert.equal(s.validBytes === data.length, s.tail === null && s.damage === null);
          for (const r of s.records) decodesOrRefuses(r);
        }
        // the untouched journal reads back whole
        const s = scanJournal(whole);
        assert.deepEqual([s.records.length, s.validBytes, s.tail, s.damage], [recs.length, whole.length, null, null]);
      },
    ),
    { numRuns: 300 },
  );
});

test('fuzz: damage before the last record is never taken for a torn tail', () => {
  fc.assert(
    fc.property(
      journal.filter((r) => r.length >= 2),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (recs, where, x) => {
        const whole = Buffer.concat(recs);
        const lastStart = whole.length - recs[recs.length - 1]!.length;
        const at = where % lastStart; // inside some record before the last
        const damaged = Buffer.from(whole);
        damaged[at]! ^= x;
        const s = scanJournal(damaged);
        assert.ok(s.damage, `damage at byte ${at} of ${whole.length} read as ${JSON.stringify(s.tail)}`);
      },
    ),
    { numRuns: 500 },
  );
});

test('fuzz: random files as journals never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 3 }), (junk, payloads) => {
      const data = Buffer.concat([Buffer.from(junk), ...payloads.map(frame)]);
      const s = scanJournal(data);
      assert.ok(s.validBytes <= data.length);
      for (const r of s.records) decodesOrRefuses(r);
    }),
    { numRuns: 1000 },
  );
});

test('fuzz: snapshot files decode or fail with CorruptDatabaseError', () => {
  const refuses = (file: Buffer) => {
    try {
      const { image } = decodeSnapshot(file);
      assert.equal(image.length, file.length - SNAPSHOT_HEADER_BYTES);
    } catch (e) {
      if (!(e instanceof CorruptDatabaseError)) throw e;
    }
  };
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 100 }),
      fc.nat(),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
      (image, gen, cut, flips) => {
        refuses(Buffer.from(image));
        const file = Buffer.concat([encodeSnapshotHeader(1 + (gen % 1000), image), image]);
        refuses(file);
        refuses(file.subarray(0, file.length - (cut % (file.length + 1))));
        const flipped = Buffer.from(file);
        for (const [at, x] of flips) flipped[at % flipped.length]! ^= x;
        refuses(flipped);
      },
    ),
    { numRuns: 500 },
  );
  // a header claiming 2^63 bytes or generation 2^64-1
  const header = encodeSnapshotHeader(1, new Uint8Array(0));
  const big = Buffer.from(header);
  big.writeBigUInt64LE(2n ** 63n, 24);
  assert.throws(() => decodeSnapshot(big), CorruptDatabaseError);
  const gen = Buffer.from(header);
  gen.writeBigUInt64LE(2n ** 64n - 1n, 16);
  assert.throws(() => decodeSnapshot(gen), CorruptDatabaseError);
});
