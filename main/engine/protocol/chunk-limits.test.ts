// Issue 7, bug 5: an entry claiming 4,194,304 chunks of 16 MiB drove a daemon to 3.2 GB. A chunk
// list's shape follows from the file's size (PROTOCOL.md, "Size limits"); anything else is a
// protocol violation caught before any of the list is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { DEFAULT_CDC_PARAMS } from '../scan/cdc.ts';
import {
  DecodeError,
  EncodeError,
  IndexAssembler,
  MAX_CHUNKS_PER_FILE,
  MAX_CHUNK_SIZE,
  MAX_FILE_SIZE,
  MIN_CHUNK_SIZE,
  ProtocolViolation,
  chunkCountRange,
  decodeMessage,
  encodeMessage,
  splitIndexUpdate,
  type ChunkRef,
  type FileEntryWire,
  type IndexUpdate,
} from './messages.ts';
import { craftIndexUpdate } from './test-support.ts';

const dev = deviceIdFromFingerprint('33'.repeat(32));
const share = 'cd'.repeat(20);
const hash = new Uint8Array(32).fill(9);

function entry(path: string, size: number, chunkCount: number, chunks: ChunkRef[], sequence = 1): FileEntryWire {
  return {
    path,
    type: 'file',
    size,
    mode: 0o644,
    mtimeMs: 1,
    version: { [dev]: sequence },
    sequence,
    deleted: false,
    symlinkTarget: null,
    chunkCount,
    chunks,
    modifiedBy: dev,
    signature: new Uint8Array(0),
  };
}

function update(entries: FileEntryWire[]): IndexUpdate {
  return { type: 'indexUpdate', share, indexId: 1, maxSequence: 1, entries };
}

function rawUpdate(path: string, size: number, chunkCount: number, chunkSize: number, refs: number): Uint8Array {
  return craftIndexUpdate({ share, indexId: 1, maxSequence: 1, path, size, chunkCount, chunkSize, refs, hash, device: dev, sequence: 1 });
}

test("the limits are the chunker's", () => {
  assert.equal(MAX_CHUNK_SIZE, DEFAULT_CDC_PARAMS.max);
  assert.equal(MIN_CHUNK_SIZE, DEFAULT_CDC_PARAMS.min);
  assert.equal(MAX_FILE_SIZE, MAX_CHUNKS_PER_FILE * MAX_CHUNK_SIZE);
  assert.deepEqual(chunkCountRange(0), { min: 0, max: 0 });
  assert.deepEqual(chunkCountRange(1), { min: 1, max: 1 });
  assert.deepEqual(chunkCountRange(MIN_CHUNK_SIZE), { min: 1, max: 1 });
  assert.deepEqual(chunkCountRange(MIN_CHUNK_SIZE + 1), { min: 1, max: 2 });
  assert.deepEqual(chunkCountRange(MAX_CHUNK_SIZE + 1), { min: 2, max: 17 });
});

test('the raw writer matches the encoder (so the hostile messages below are what they say)', () => {
  const good = entry('f', 100, 1, [{ hash, size: 100 }]);
  assert.deepEqual(decodeMessage(rawUpdate('f', 100, 1, 100, 1)), decodeMessage(encodeMessage(update([good]))));
});

test("chunks above the chunker's maximum, empty chunks and files over the limit fail to decode", () => {
  // the reported attack: 4,194,304 chunks of 16 MiB (its first message)
  assert.throws(
    () => decodeMessage(rawUpdate('big', 4_194_304 * 16 * 1024 * 1024, 4_194_304, 16 * 1024 * 1024, 5000)),
    (e) => e instanceof DecodeError && /limit/.test(e.message),
  );
  assert.throws(() => decodeMessage(rawUpdate('big', MAX_CHUNK_SIZE + 1, 1, MAX_CHUNK_SIZE + 1, 1)), DecodeError);
  assert.throws(
    () => decodeMessage(rawUpdate('zero', 0, 1, 0, 1)),
    (e) => e instanceof DecodeError && /0 bytes/.test(e.message),
  );
  assert.throws(() => decodeMessage(rawUpdate('huge', MAX_FILE_SIZE + 1, 1, 1, 0)), DecodeError);
  assert.throws(() => decodeMessage(rawUpdate('many', MAX_FILE_SIZE, MAX_CHUNKS_PER_FILE + 1, 1, 0)), DecodeError);
  assert.throws(() => encodeMessage(update([entry('e', 0, 1, [{ hash, size: 0 }])])), EncodeError);
});

test('a chunk count the size cannot have is refused with the first message, before any list is kept', () => {
  // a small file claiming millions of chunks: refused before waiting for its continuations
  assert.throws(
    () => new IndexAssembler().push(update([entry('small', 1000, MAX_CHUNKS_PER_FILE, [{ hash, size: 1000 }])])),
    ProtocolViolation,
  );
  // a big file claimed with too short a list
  assert.throws(() => new IndexAssembler().push(update([entry('short', 10 * MAX_CHUNK_SIZE, 9, [])])), ProtocolViolation);
  // too many for its size even when complete
  assert.throws(
    () =>
      new IndexAssembler().push(
        update([
          entry(
            'long',
            3 * MIN_CHUNK_SIZE,
            4,
            [1, 2, 3, 4].map(() => ({ hash, size: (3 * MIN_CHUNK_SIZE) / 4 })),
          ),
        ]),
      ),
    ProtocolViolation,
  );
  // chunks on something that has no content, declared in the count only
  const dir: FileEntryWire = { ...entry('d', 0, 5, []), type: 'dir' };
  assert.throws(() => new IndexAssembler().push(update([dir])), ProtocolViolation);
});

test('a connection holds at most one maximal chunk list waiting for its continuations', () => {
  const a = new IndexAssembler();
  const size = Math.floor(MAX_CHUNKS_PER_FILE * 0.6) * MAX_CHUNK_SIZE;
  const count = Math.floor(MAX_CHUNKS_PER_FILE * 0.6);
  assert.equal(a.push(update([entry('first', size, count, [{ hash, size: MAX_CHUNK_SIZE }])])), null);
  assert.throws(
    () => a.push({ ...update([entry('second', size, count, [{ hash, size: MAX_CHUNK_SIZE }])]), share: 'ef'.repeat(20) }),
    ProtocolViolation,
  );
});

test('real chunk lists still pass: a file cut by the chunker, split over several messages', () => {
  const sizes = [...Array.from({ length: 20_000 }, (_, i) => MIN_CHUNK_SIZE + ((i * 7919) % (MAX_CHUNK_SIZE - MIN_CHUNK_SIZE))), 1];
  const full = entry(
    'big.bin',
    sizes.reduce((n, s) => n + s, 0),
    sizes.length,
    sizes.map((size) => ({ hash, size })),
  );
  const msgs = splitIndexUpdate({ share, indexId: 1, maxSequence: 1 }, [full]);
  assert.ok(msgs.length > 2);
  const a = new IndexAssembler();
  let out = null;
  for (const m of msgs) out = a.push(decodeMessage(encodeMessage(m)) as typeof m) ?? out;
  assert.equal(out!.entries[0]!.chunks.length, sizes.length);
});
