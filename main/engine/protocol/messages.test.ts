import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import {
  DecodeError,
  EncodeError,
  IndexAssembler,
  MAX_BATCH_BYTES,
  MAX_BATCH_REQUESTS,
  MAX_BLOCK_DATA,
  MAX_MESSAGE,
  ProtocolViolation,
  chunkRanges,
  decodeMessage,
  encodeMessage,
  responseBuffer,
  hasFrameRoom,
  FRAME_ROOM,
  splitIndexUpdate,
  type FileEntryWire,
  type IndexChunks,
  type IndexUpdate,
  type Message,
} from './messages.ts';
import { frameBuffer, recycleFrame } from '../net/frame-pool.ts';

const devA = deviceIdFromFingerprint('11'.repeat(32));
const devB = deviceIdFromFingerprint('22'.repeat(32));
const share = 'ab'.repeat(20);
const h = (n: number) => new Uint8Array(32).fill(n);

function fileEntry(path: string, chunkCount: number, sequence: number, chunkSize = 65536): FileEntryWire {
  const chunks = Array.from({ length: chunkCount }, (_, i) => ({ hash: new Uint8Array(randomBytes(32)), size: chunkSize + (i % 3) }));
  return {
    path,
    type: 'file',
    size: chunks.reduce((n, c) => n + c.size, 0),
    mode: 0o644,
    mtimeMs: 1_700_000_000_123,
    version: { [devA]: 3, [devB]: 1 },
    sequence,
    deleted: false,
    symlinkTarget: null,
    chunkCount,
    chunks,
    modifiedBy: devA,
    signature: new Uint8Array(0),
  };
}

const samples: Message[] = [
  { type: 'hello', protocolVersion: 1, deviceId: devA, deviceName: 'laptop ✓', clientVersion: '0.1.0', nonce: h(7) },
  {
    type: 'auth',
    shares: [
      { share, level: 'read-write', mac: h(1) },
      { share, level: 'encrypted', mac: h(2) },
    ],
  },
  { type: 'authResult', accepted: [{ share, level: 'read-only' }], reason: '' },
  { type: 'close', reason: 'bye' },
  { type: 'ping', id: 5 },
  { type: 'pong', id: 5 },
  { type: 'udxOffer', streamId: 0xfffffffe, token: h(9).subarray(0, 16), candidates: ['192.168.1.20:40111', '[fd00::1]:40111'] },
  { type: 'udxOffer', streamId: 0, token: new Uint8Array(16), candidates: [] },
  { type: 'tcpOffer', port: 40112, token: h(10).subarray(0, 16) },
  { type: 'tcpOffer', port: 0, token: new Uint8Array(16) },
  {
    type: 'indexUpdate',
    share,
    indexId: 99,
    maxSequence: 12,
    entries: [
      fileEntry('a/b.txt', 2, 11),
      {
        path: 'link',
        type: 'symlink',
        size: 0,
        mode: 0o777,
        mtimeMs: -5,
        version: { [devB]: 1 },
        sequence: 12,
        deleted: false,
        symlinkTarget: '../x',
        chunkCount: 0,
        chunks: [],
        modifiedBy: devB,
        signature: new Uint8Array(0),
      },
    ],
  },
  { type: 'indexChunks', share, indexId: 99, sequence: 3, start: 100, chunks: [{ hash: h(3), size: 10 }] },
  { type: 'indexAck', share, indexId: 99, sequence: 12 },
  { type: 'request', id: 1, share, path: 'a/b.txt', hash: h(4), offset: 65536, size: 65537 },
  { type: 'response', id: 1, status: 'ok', data: new Uint8Array(randomBytes(1000)) },
  { type: 'response', id: 2, status: 'not-found', data: new Uint8Array(0) },
  { type: 'requestRuns', maxChunks: 16, maxBytes: 1024 * 1024 },
  {
    type: 'requestRun',
    id: 7,
    share,
    path: 'a/b.txt',
    offset: 65536,
    chunks: [
      { hash: h(5), size: 70_000 },
      { hash: h(6), size: 16_384 },
    ],
  },
  { type: 'requestBatches', maxRequests: 64, maxBytes: 192 * 1024 },
  {
    type: 'requestBatch',
    id: 9,
    share,
    requests: [
      { path: 'a/one.txt', hash: h(7), offset: 0, size: 1000 },
      { path: 'b/two.txt', hash: h(8), offset: 0, size: 16_384 },
    ],
  },
  {
    type: 'responseBatch',
    id: 9,
    answers: [
      { status: 'ok', data: new Uint8Array(randomBytes(1000)) },
      { status: 'changed', data: new Uint8Array(0) },
    ],
  },
];

test('every message type round-trips', () => {
  for (const m of samples) {
    const back = decodeMessage(encodeMessage(m));
    assert.deepEqual(back, m, m.type);
  }
});

test('version vectors encode canonically: sorted by device, zero counters dropped', () => {
  const e1 = { ...fileEntry('x', 0, 1), version: { [devA]: 1, [devB]: 2 } };
  const e2 = { ...fileEntry('x', 0, 1), version: { [devB]: 2, [devA]: 1, [deviceIdFromFingerprint('33'.repeat(32))]: 0 } };
  const enc = (e: FileEntryWire) =>
    Buffer.from(encodeMessage({ type: 'indexUpdate', share, indexId: 1, maxSequence: 1, entries: [{ ...e, mtimeMs: 0, chunks: [] }] }));
  assert.ok(enc({ ...e1, size: 0 }).equals(enc({ ...e2, size: 0 })));
});

test('headers: other wire formats, unknown types, oversize and trailing bytes fail with their own codes', () => {
  const good = encodeMessage({ type: 'ping', id: 1 });
  const code = (buf: Uint8Array) => {
    try {
      decodeMessage(buf);
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof DecodeError);
      return e.code;
    }
  };
  assert.equal(code(good), 'ok');
  assert.equal(code(Uint8Array.from([2, ...good.subarray(1)])), 'version');
  assert.equal(code(Uint8Array.from([1, 99, 0])), 'unknown-type');
  assert.equal(code(Uint8Array.from([...good, 0])), 'trailing');
  assert.equal(code(new Uint8Array(0)), 'truncated');
  assert.equal(code(new Uint8Array(MAX_MESSAGE + 1)), 'limit');
});

test('the sender cannot build an oversized message', () => {
  assert.throws(() => encodeMessage({ type: 'response', id: 1, status: 'ok', data: new Uint8Array(MAX_BLOCK_DATA + 1) }), EncodeError);
  const big = fileEntry('big', 8000, 1);
  assert.throws(
    () => encodeMessage({ type: 'indexUpdate', share, indexId: 1, maxSequence: 1, entries: [big] }),
    /exceeds the 262144-byte message limit|exceeds the limit 8192/,
  );
  assert.throws(
    () => encodeMessage({ type: 'hello', protocolVersion: 1, deviceId: 'not an id', deviceName: '', clientVersion: '', nonce: h(1) }),
    /hello\.deviceId/,
  );
});

test('a requestBatch holds at most 64 requests of at most 192 KiB each, and its full answer fits one message', () => {
  const one = { path: 'a', hash: h(1), offset: 0, size: 1 };
  const full = encodeMessage({ type: 'requestBatch', id: 1, share, requests: Array.from({ length: MAX_BATCH_REQUESTS }, () => one) });
  assert.throws(
    () => encodeMessage({ type: 'requestBatch', id: 1, share, requests: Array.from({ length: MAX_BATCH_REQUESTS + 1 }, () => one) }),
    EncodeError,
  );
  assert.throws(
    () => encodeMessage({ type: 'requestBatch', id: 1, share, requests: [{ ...one, size: MAX_BATCH_BYTES + 1 }] }),
    EncodeError,
  );
  // a peer's message past the bounds does not decode: the count raised to 65 with a 65th entry after
  const entryBytes = (full.length - 24) / MAX_BATCH_REQUESTS;
  assert.equal(full[23], MAX_BATCH_REQUESTS, 'the list count follows header, id and share');
  const over = Uint8Array.from([
    ...full.subarray(0, 23),
    MAX_BATCH_REQUESTS + 1,
    ...full.subarray(24),
    ...full.subarray(24, 24 + entryBytes),
  ]);
  assert.throws(() => decodeMessage(over), DecodeError);
  const tooBig = Buffer.from(encodeMessage({ type: 'requestBatch', id: 1, share, requests: [{ ...one, size: MAX_BATCH_BYTES }] }));
  // the size varint of the last (only) entry, raised by one past the bound
  const sizeAt = tooBig.length - 3;
  const raised = Buffer.concat([tooBig.subarray(0, sizeAt), encodeUintForTest(MAX_BATCH_BYTES + 1)]);
  assert.throws(() => decodeMessage(raised), DecodeError);
  // the answer to a full batch (every byte it may ask for, in 64 answers) fits one message
  const sizes = Array.from(
    { length: MAX_BATCH_REQUESTS },
    (_, i) => Math.floor(MAX_BATCH_BYTES / MAX_BATCH_REQUESTS) + (i === 0 ? MAX_BATCH_BYTES % MAX_BATCH_REQUESTS : 0),
  );
  const answer = encodeMessage({
    type: 'responseBatch',
    id: 2 ** 40,
    answers: sizes.map((n) => ({ status: 'ok' as const, data: new Uint8Array(n) })),
  });
  assert.ok(answer.length <= MAX_MESSAGE);
  assert.ok(
    encodeMessage({ type: 'responseBatch', id: 1, answers: [{ status: 'ok', data: new Uint8Array(MAX_BATCH_BYTES) }] }).length <=
      MAX_MESSAGE,
  );
});

/** The codec's unsigned varint (LEB128), to build a message the encoder refuses. */
function encodeUintForTest(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

test('mutated and random messages never throw anything but DecodeError (fuzz)', () => {
  const encoded = samples.map(encodeMessage);
  fc.assert(
    fc.property(
      fc.nat(encoded.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      (i, edits, cut) => {
        const buf = Uint8Array.from(encoded[i]!);
        for (const [pos, val] of edits) buf[pos % buf.length] = val;
        for (const b of [buf, buf.subarray(0, cut % (buf.length + 1))]) {
          try {
            decodeMessage(b);
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e;
          }
        }
      },
    ),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        decodeMessage(Uint8Array.from([1, ...b]));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

function roundTrip(msgs: (IndexUpdate | IndexChunks)[]): FileEntryWire[] {
  const asm = new IndexAssembler();
  const out: FileEntryWire[] = [];
  for (const m of msgs) {
    const bytes = encodeMessage(m);
    assert.ok(bytes.length <= MAX_MESSAGE);
    const batch = asm.push(decodeMessage(bytes) as IndexUpdate | IndexChunks);
    if (batch) out.push(...batch.entries);
  }
  return out;
}

const strip = (e: FileEntryWire) => ({ ...e, chunks: e.chunks.map((c) => ({ hash: Buffer.from(c.hash).toString('hex'), size: c.size })) });

test('a 512 MiB file (8192 chunks, ~300 KB of chunk list) travels in parts and is reassembled', () => {
  const entries = [
    fileEntry('small-1', 3, 1),
    fileEntry('huge.bin', 8192, 2),
    fileEntry('small-2', 1, 3),
    fileEntry('giant.bin', 40_000, 4),
  ];
  const msgs = splitIndexUpdate({ share, indexId: 7, maxSequence: 4 }, entries);
  assert.ok(msgs.some((m) => m.type === 'indexChunks'));
  assert.deepEqual(roundTrip(msgs).map(strip), entries.map(strip));
});

test('many small entries are split by size, in order', () => {
  const entries = Array.from({ length: 20_000 }, (_, i) => fileEntry(`dir/file-${i}.txt`, 1, i + 1, 100));
  const msgs = splitIndexUpdate({ share, indexId: 7, maxSequence: 20_000 }, entries);
  assert.ok(msgs.length > 1 && msgs.every((m) => m.type === 'indexUpdate'));
  assert.deepEqual(roundTrip(msgs).map(strip), entries.map(strip));
});

test('the assembler drops peers that break the continuation rules or send incoherent entries', () => {
  const big = fileEntry('big', 10, 5);
  const head: IndexUpdate = {
    type: 'indexUpdate',
    share,
    indexId: 1,
    maxSequence: 5,
    entries: [{ ...big, chunks: big.chunks.slice(0, 4) }],
  };
  const cont = (start: number, n: number, sequence = 5): IndexChunks => ({
    type: 'indexChunks',
    share,
    indexId: 1,
    sequence,
    start,
    chunks: big.chunks.slice(start, start + n),
  });
  const violates = (...msgs: (IndexUpdate | IndexChunks)[]) => {
    const a = new IndexAssembler();
    assert.throws(() => {
      for (const m of msgs) a.push(m);
    }, ProtocolViolation);
  };
  violates(cont(0, 1));
  violates(head, cont(5, 1));
  violates(head, cont(4, 1, 6));
  violates(head, head);
  violates(head, cont(4, 6), cont(10, 1));
  violates({ ...head, entries: [head.entries[0]!, fileEntry('after', 1, 6)] });
  violates({ ...head, entries: [{ ...fileEntry('x', 2, 1), size: 1 }] });
  violates({ ...head, entries: [{ ...fileEntry('x', 0, 1), type: 'dir', chunkCount: 1, chunks: [{ hash: h(1), size: 0 }] }] });
  const ok = new IndexAssembler();
  assert.equal(ok.push(head), null);
  assert.ok(ok.isPending(share));
  assert.equal(ok.push(cont(4, 3)), null);
  assert.equal(ok.push(cont(7, 3))!.entries[0]!.chunks.length, 10);
});

test('a response whose data was read into responseBuffer() encodes in place to the same bytes', () => {
  for (const [id, size] of [
    [1, 1],
    [300, 74_000],
    [2 ** 40, MAX_BLOCK_DATA],
  ] as const) {
    const data = responseBuffer(size);
    data.set(randomBytes(size));
    const copied: Message = { type: 'response', id, status: 'ok', data: new Uint8Array(data) };
    const inPlace = encodeMessage({ type: 'response', id, status: 'ok', data });
    assert.deepEqual(inPlace, encodeMessage(copied));
    // the data was not copied: the message is a view around it
    assert.equal(inPlace.buffer, data.buffer);
    assert.deepEqual(decodeMessage(inPlace), copied);
  }
  // a view into a responseBuffer elsewhere than its start (the second part of a chunk) is copied
  const whole = responseBuffer(1000);
  const tail = whole.subarray(10);
  const enc = encodeMessage({ type: 'response', id: 5, status: 'ok', data: tail });
  assert.notEqual(enc.buffer, whole.buffer);
  assert.deepEqual(decodeMessage(enc), { type: 'response', id: 5, status: 'ok', data: new Uint8Array(tail) });
  // and the bytes before its data are left alone
  const before = Buffer.from(whole.buffer, whole.byteOffset - 20, 30);
  const snapshot = Buffer.from(before);
  encodeMessage({ type: 'response', id: 6, status: 'ok', data: tail });
  assert.deepEqual(before, snapshot);
  assert.ok(!hasFrameRoom(enc));
});

test('a response read into a frame of the arena encodes in place there, with room for a frame header before it', () => {
  const other = responseBuffer(5000, frameBuffer);
  other.fill(7);
  const data = responseBuffer(74_000, frameBuffer);
  assert.notEqual(data.byteOffset, 20, 'not at the start of its memory');
  data.set(randomBytes(data.length));
  const inPlace = encodeMessage({ type: 'response', id: 300, status: 'ok', data });
  assert.equal(inPlace.buffer, data.buffer);
  assert.ok(hasFrameRoom(inPlace));
  assert.ok(inPlace.byteOffset - FRAME_ROOM >= data.byteOffset - 20, 'the frame header fits in the room');
  assert.deepEqual(decodeMessage(inPlace), { type: 'response', id: 300, status: 'ok', data: new Uint8Array(data) });
  assert.ok(
    other.every((b) => b === 7),
    'the frame before is untouched',
  );
  recycleFrame(other);
  recycleFrame(data);
});

test('chunkRanges splits a chunk larger than one response', () => {
  assert.deepEqual(chunkRanges(100, 1000), [{ offset: 100, size: 1000 }]);
  const parts = chunkRanges(0, 256 * 1024);
  assert.equal(parts.length, 2);
  assert.equal(
    parts.reduce((n, p) => n + p.size, 0),
    256 * 1024,
  );
  assert.ok(parts.every((p) => p.size <= MAX_BLOCK_DATA));
});

test('an indexUpdate without entries is a batch of its own: it tells a joined device the whole index is empty', () => {
  const batch = new IndexAssembler().push({ type: 'indexUpdate', share: 'ab'.repeat(20), indexId: 7, maxSequence: 0, entries: [] });
  assert.deepEqual(batch, { share: 'ab'.repeat(20), indexId: 7, maxSequence: 0, entries: [] });
});
