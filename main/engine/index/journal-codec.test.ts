import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordWriter, decodePayload, scanJournal, type SqlParam } from './journal-codec.ts';

function payloadOf(record: Buffer): Buffer {
  return record.subarray(8);
}

test('entries round-trip with every parameter type', () => {
  const w = new RecordWriter();
  const blob = new Uint8Array([0, 1, 2, 255]);
  w.addStatement('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    null,
    7,
    -2147483648,
    1.5,
    2 ** 40,
    'héllo ✓',
    blob,
    12345678901234567890n,
    true,
  ]);
  w.addStatement('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [false, 0, 0, 0, 0, '', new Uint8Array(0), 0n, null]);
  w.addStatement('UPDATE t SET a = :a', { ':a': 'x', ':b': 3 });
  w.addScript('CREATE TABLE x (a); CREATE TABLE y (b);');
  w.addStatement('DELETE FROM t', undefined);
  const entries = decodePayload(payloadOf(Buffer.from(w.finish())));
  assert.deepEqual(entries, [
    {
      kind: 'stmt',
      sql: 'INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      params: [null, 7, -2147483648, 1.5, 2 ** 40, 'héllo ✓', new Uint8Array([0, 1, 2, 255]), 12345678901234567890n, 1],
    },
    { kind: 'stmt', sql: 'INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', params: [0, 0, 0, 0, 0, '', new Uint8Array(0), 0n, null] },
    { kind: 'named', sql: 'UPDATE t SET a = :a', params: { ':a': 'x', ':b': 3 } },
    { kind: 'script', sql: 'CREATE TABLE x (a); CREATE TABLE y (b);' },
    { kind: 'stmt', sql: 'DELETE FROM t', params: [] },
  ]);
});

test('the same SQL text is stored once per record', () => {
  const w = new RecordWriter();
  const sql = 'INSERT INTO some_table_with_a_long_name (a, b, c) VALUES (?, ?, ?)';
  for (let i = 0; i < 100; i++) w.addStatement(sql, [i, i, i]);
  assert.ok(w.byteLength < sql.length + 100 * 20, `record is ${w.byteLength} bytes`);
});

test('rollbackTo drops entries added after the mark, including new SQL texts', () => {
  const w = new RecordWriter();
  w.addStatement('A', [1]);
  const m = w.mark();
  w.addStatement('B', [2]);
  w.addStatement('A', [3]);
  w.rollbackTo(m);
  w.addStatement('C', [4]);
  w.addStatement('B', [5]);
  const entries = decodePayload(payloadOf(Buffer.from(w.finish())));
  assert.deepEqual(
    entries.map((e) => [e.sql, e.kind === 'script' ? null : e.params]),
    [
      ['A', [1]],
      ['C', [4]],
      ['B', [5]],
    ],
  );
});

test('unsupported parameter types are refused before anything is recorded', () => {
  const w = new RecordWriter();
  w.addStatement('A', [1]);
  assert.throws(() => w.addStatement('B', [1, undefined as unknown as SqlParam]), /undefined/);
  assert.throws(() => w.addStatement('B', [[1, 2] as unknown as SqlParam]), /Array/);
  assert.throws(() => w.addStatement('B', [{} as unknown as SqlParam]), /Object/);
  const entries = decodePayload(payloadOf(Buffer.from(w.finish())));
  assert.equal(entries.length, 1);
});

test('scanJournal keeps intact records and stops at a torn or corrupt one', () => {
  const records: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const w = new RecordWriter();
    w.addStatement('INSERT INTO t VALUES (?)', [i]);
    records.push(Buffer.from(w.finish()));
  }
  const whole = Buffer.concat(records);
  const intact = scanJournal(whole);
  assert.equal(intact.records.length, 3);
  assert.equal(intact.validBytes, whole.length);
  assert.equal(intact.tail, null);

  for (let cut = 1; cut < records[2]!.length; cut++) {
    const torn = scanJournal(whole.subarray(0, whole.length - cut));
    assert.equal(torn.records.length, 2, `cut ${cut}`);
    assert.equal(torn.validBytes, records[0]!.length + records[1]!.length);
    assert.ok(torn.tail);
  }

  // damage with an intact record after it is not a torn tail
  const flipped = Buffer.from(whole);
  flipped[records[0]!.length + 10]! ^= 0x40; // inside record 2's payload
  const bad = scanJournal(flipped);
  assert.equal(bad.records.length, 1);
  assert.equal(bad.tail, null);
  assert.match(bad.damage ?? '', /checksum mismatch in record at byte \d+; intact records follow/);
  const badLength = Buffer.from(whole);
  badLength[records[0]!.length + 3]! ^= 0x01; // record 2 now claims 16 MiB more than it has
  assert.match(scanJournal(badLength).damage ?? '', /torn record at byte \d+; intact records follow/);
  const garbageAfter = Buffer.concat([records[0]!, records[1]!, Buffer.from('not a record at all')]);
  garbageAfter[records[0]!.length + 10]! ^= 0x40; // record 2 complete but bad, bytes after it
  assert.match(scanJournal(garbageAfter).damage ?? '', /more bytes follow/);

  // the same damage in the last record is a torn tail, as are zeros after the last record
  const lastFlipped = Buffer.from(whole);
  lastFlipped[whole.length - 2]! ^= 0x40;
  const torn = scanJournal(lastFlipped);
  assert.deepEqual([torn.records.length, torn.damage], [2, null]);
  assert.match(torn.tail ?? '', /checksum/);
  const zeros = scanJournal(Buffer.concat([records[0]!, Buffer.alloc(64)]));
  assert.deepEqual([zeros.records.length, zeros.damage], [1, null]);
  assert.ok(zeros.tail);
});

test('property: any list of statements round-trips', () => {
  const param = fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.bigInt(),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('S1', 'S2', 'S3 ✓'), fc.array(param, { maxLength: 6 })), { maxLength: 20 }), (stmts) => {
      const w = new RecordWriter();
      for (const [sql, params] of stmts) w.addStatement(sql, params);
      if (w.isEmpty) return;
      const scanned = scanJournal(Buffer.from(w.finish()));
      assert.equal(scanned.records.length, 1);
      const back = decodePayload(scanned.records[0]!);
      assert.equal(back.length, stmts.length);
      back.forEach((e, i) => {
        assert.equal(e.sql, stmts[i]![0]);
        assert.ok(e.kind === 'stmt');
        // -0 is bound by sql.js as the integer 0, and recorded the same way
        const expected = stmts[i]![1].map((p) => (Object.is(p, -0) ? 0 : p));
        assert.deepEqual(e.params, expected);
      });
    }),
  );
});
