// Fuzzing the peer protocol's decoder (decodeMessage over codec.ts) and the index assembler: a
// peer may send anything. Decoding returns a message or throws DecodeError, never another
// exception and never an "internal decode failure" (which would be our bug wrapped); every
// declared length or count is checked against its limit and against the bytes present before
// anything is allocated; the assembler throws nothing but ProtocolViolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deviceIdFromBytes } from '../keys/device-id.ts';
import { varintBytes } from './test-support.ts';
import {
  DecodeError,
  IndexAssembler,
  MAX_CHUNK_SIZE,
  MAX_FILE_SIZE,
  MAX_MESSAGE,
  MESSAGE_SCHEMAS,
  ProtocolViolation,
  decodeMessage,
  encodeMessage,
  type FileEntryWire,
  type IndexChunks,
  type IndexUpdate,
  type Message,
} from './messages.ts';

// plain objects, as the decoder makes them (deepEqual tells a null prototype apart)
const rec = <T>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(fields, { noNullPrototype: true });
const deviceId = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(deviceIdFromBytes);
const share = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const level = fc.constantFrom('read-write' as const, 'read-only' as const, 'encrypted' as const);
const version = fc.dictionary(deviceId, fc.integer({ min: 1, max: 2 ** 40 }), { maxKeys: 3, noNullPrototype: true });
const chunk = rec({ hash, size: fc.integer({ min: 1, max: MAX_CHUNK_SIZE }) });

const fileEntry: fc.Arbitrary<FileEntryWire> = rec({
  path: text(30).filter((s) => s.length > 0),
  type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
  size: fc.nat(MAX_FILE_SIZE),
  mode: fc.nat(0o7777),
  mtimeMs: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
  version,
  sequence: fc.maxSafeNat(),
  deleted: fc.boolean(),
  symlinkTarget: fc.option(text(20), { nil: null }),
  chunkCount: fc.nat(8),
  chunks: fc.array(chunk, { maxLength: 4 }),
  modifiedBy: deviceId,
  signature: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 96, maxLength: 96 })),
});

const message: fc.Arbitrary<Message> = fc.oneof(
  rec({
    type: fc.constant('hello' as const),
    protocolVersion: fc.maxSafeNat(),
    deviceId,
    deviceName: text(20),
    clientVersion: text(10),
    nonce: hash,
  }),
  rec({ type: fc.constant('auth' as const), shares: fc.array(rec({ share, level, mac: hash }), { maxLength: 3 }) }),
  rec({ type: fc.constant('authResult' as const), accepted: fc.array(rec({ share, level }), { maxLength: 3 }), reason: text(20) }),
  rec({ type: fc.constant('close' as const), reason: text(20) }),
  rec({ type: fc.constant('ping' as const), id: fc.maxSafeNat() }),
  rec({ type: fc.constant('pong' as const), id: fc.maxSafeNat() }),
  rec({
    type: fc.constant('indexUpdate' as const),
    share,
    indexId: fc.maxSafeNat(),
    maxSequence: fc.maxSafeNat(),
    entries: fc.array(fileEntry, { maxLength: 3 }),
  }),
  rec({
    type: fc.constant('indexChunks' as const),
    share,
    indexId: fc.maxSafeNat(),
    sequence: fc.maxSafeNat(),
    start: fc.nat(100),
    chunks: fc.array(chunk, { maxLength: 4 }),
  }),
  rec({ type: fc.constant('indexAck' as const), share, indexId: fc.maxSafeNat(), sequence: fc.maxSafeNat() }),
  rec({
    type: fc.constant('request' as const),
    id: fc.maxSafeNat(),
    share,
    path: text(30),
    hash,
    offset: fc.maxSafeNat(),
    size: fc.nat(200_000),
  }),
  rec({
    type: fc.constant('response' as const),
    id: fc.maxSafeNat(),
    status: fc.constantFrom('ok' as const, 'not-found' as const, 'io-error' as const),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
) as fc.Arbitrary<Message>;

/** Decodes, or checks the failure is a DecodeError of our own making. Returns the message or null. */
function decodeOrRefuse(buf: unknown): Message | null {
  try {
    return decodeMessage(buf as Uint8Array);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    assert.doesNotMatch(e.message, /internal decode failure/, 'a bug in a decoder, wrapped');
    return null;
  }
}

const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 });

test('fuzz: generated messages round-trip; flipped, cut, extended and random bytes are refused with DecodeError', () => {
  fc.assert(
    fc.property(message, edits, fc.nat(), fc.uint8Array({ maxLength: 8 }), (m, changes, cut, extra) => {
      const bytes = encodeMessage(m);
      assert.deepEqual(decodeOrRefuse(bytes), m);
      const changed = Uint8Array.from(bytes);
      for (const [at, v] of changes) changed[at % changed.length] = v;
      const back = decodeOrRefuse(changed);
      // whatever decodes is a message the encoder accepts: it fits every limit
      if (back) assert.ok(encodeMessage(back).length <= MAX_MESSAGE);
      decodeOrRefuse(bytes.subarray(0, cut % bytes.length));
      assert.equal(decodeOrRefuse(Uint8Array.from([...bytes, ...extra])) === null, extra.length > 0);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(40), (b, tag) => {
      decodeOrRefuse(b);
      decodeOrRefuse(Uint8Array.from([1, tag, ...b]));
    }),
    { numRuns: 1000 },
  );
});

test('fuzz: input of the wrong type or over the size limit is refused with DecodeError', () => {
  for (const v of [
    null,
    undefined,
    'hello',
    42,
    [1, 16, 0],
    {},
    new ArrayBuffer(8),
    new DataView(new ArrayBuffer(8)),
    new Uint16Array(4),
  ]) {
    assert.equal(decodeOrRefuse(v), null, String(v));
  }
  fc.assert(
    fc.property(fc.anything(), (v) => void decodeOrRefuse(v)),
    { numRuns: 300 },
  );
  const over = new Uint8Array(MAX_MESSAGE + 1);
  over.set(encodeMessage({ type: 'ping', id: 1 }));
  assert.throws(
    () => decodeMessage(over),
    (e: unknown) => e instanceof DecodeError && e.code === 'limit',
  );
});

test('a declared length or count anywhere in any message is refused before allocation when it exceeds the limit or the bytes present', () => {
  // Cut a valid message at every offset and claim a huge length there: whatever field that is (a
  // list count, a string or byte length, a number), decoding stops with 'limit' (over the field's
  // maximum) or 'truncated' (more than the bytes left), both checked before any allocation.
  const samples = fc.sample(message, { numRuns: 30, seed: 7 }).concat(
    fc.sample(
      message.filter((m) => m.type === 'indexUpdate' && m.entries.length > 0),
      { numRuns: 5, seed: 8 },
    ),
  );
  for (const m of samples) {
    const bytes = encodeMessage(m);
    const t0 = process.memoryUsage().arrayBuffers;
    for (let at = 2; at < bytes.length; at++) {
      for (const huge of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
        const forged = Uint8Array.from([...bytes.subarray(0, at), ...varintBytes(huge), 1, 2, 3, 4]);
        try {
          decodeMessage(forged);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `${m.type} at ${at}: ${String(e)}`);
          assert.doesNotMatch(e.message, /internal decode failure/);
          assert.ok(['limit', 'truncated', 'invalid', 'trailing'].includes(e.code), `${m.type} at ${at}: ${e.code}`);
        }
      }
    }
    // nothing close to a claimed size was allocated (byte fields are views into the input)
    assert.ok(process.memoryUsage().arrayBuffers - t0 < 64 * 1024 * 1024);
  }
  // the list counts and lengths themselves, each claimed at 2^31 with a few bytes behind them
  const head = (type: keyof typeof MESSAGE_SCHEMAS) => [1, ...varintBytes(MESSAGE_SCHEMAS[type].tag)];
  const claims: [string, number[]][] = [
    ['auth.shares', [...head('auth'), ...varintBytes(2 ** 31)]],
    ['authResult.accepted', [...head('authResult'), ...varintBytes(2 ** 31)]],
    ['close.reason', [...head('close'), ...varintBytes(2 ** 31)]],
    ['indexUpdate.entries', [...head('indexUpdate'), ...new Array(20).fill(7), 1, 1, ...varintBytes(2 ** 31)]],
    ['indexChunks.chunks', [...head('indexChunks'), ...new Array(20).fill(7), 1, 1, 0, ...varintBytes(2 ** 31)]],
    ['response.data', [...head('response'), 1, 0, ...varintBytes(2 ** 31)]],
  ];
  for (const [field, prefix] of claims) {
    assert.throws(
      () => decodeMessage(Uint8Array.from([...prefix, 0, 0, 0])),
      (e: unknown) =>
        e instanceof DecodeError && (e.code === 'limit' || e.code === 'truncated') && e.message.includes(field.split('.')[1]!),
      field,
    );
  }
});

test('fuzz: the index assembler throws nothing but ProtocolViolation, whatever order and content the index messages have', () => {
  const indexMessage = fc.oneof(
    rec({
      type: fc.constant('indexUpdate' as const),
      share: fc.constantFrom('aa'.repeat(20), 'bb'.repeat(20)),
      indexId: fc.nat(2),
      maxSequence: fc.nat(9),
      entries: fc.array(fileEntry, { maxLength: 3 }),
    }),
    rec({
      type: fc.constant('indexChunks' as const),
      share: fc.constantFrom('aa'.repeat(20), 'bb'.repeat(20)),
      indexId: fc.nat(2),
      sequence: fc.maxSafeNat(),
      start: fc.nat(10),
      chunks: fc.array(chunk, { maxLength: 4 }),
    }),
  ) as fc.Arbitrary<IndexUpdate | IndexChunks>;
  fc.assert(
    fc.property(fc.array(indexMessage, { maxLength: 8 }), (msgs) => {
      const asm = new IndexAssembler();
      for (const m of msgs) {
        try {
          // what the assembler gets is always what the decoder produced
          const batch = asm.push(decodeMessage(encodeMessage(m)) as IndexUpdate | IndexChunks);
          for (const e of batch?.entries ?? []) assert.equal(e.chunks.length, e.chunkCount);
        } catch (e) {
          if (!(e instanceof ProtocolViolation)) throw e;
          return; // the session drops the peer here
        }
      }
    }),
    { numRuns: 1000 },
  );
});
