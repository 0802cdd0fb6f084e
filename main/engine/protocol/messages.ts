// The peer protocol's messages (PROTOCOL.md, "Messages"). Every message is
//
//   [format byte = 1] [type tag: varint] [body: the struct for that tag]
//
// and at most MAX_MESSAGE bytes (one data channel message). The schemas below are the
// definition; PROTOCOL.md's table is generated from them by messages.test.ts's check.

import type { AccessLevel, DeviceId, FileType, VersionVector } from '../../../shared/api.ts';
import { deviceIdFromBytes, deviceIdToBytes } from '../keys/device-id.ts';
import { DEFAULT_CDC_PARAMS } from '../scan/cdc.ts';
import {
  DecodeError,
  EncodeError,
  MAX_MESSAGE,
  Reader,
  Writer,
  bool,
  bytes,
  enumOf,
  fixed,
  int,
  list,
  mapped,
  optional,
  string,
  struct,
  uint,
  varintSize,
  type Codec,
  type Fields,
  type Infer,
  type StructCodec,
} from './codec.ts';

export { MAX_MESSAGE, DecodeError, EncodeError };

/** Byte 0 of every message. A different value is a DecodeError with code 'version'. */
export const WIRE_FORMAT = 1;
/** What hello.protocolVersion carries; peers with a different major version are refused. */
export const PROTOCOL_VERSION = 1;

export const MAX_SHARES = 1024;
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 256;
export const MAX_REASON_BYTES = 1024;
/** A share code as text (keys/codes.ts: at most 56 characters); room to spare. */
export const MAX_SHARE_CODE_BYTES = 128;
export const MAX_VERSION_ENTRIES = 1024;
export const MAX_ENTRIES_PER_MESSAGE = 16_384;
/** Chunk references in one message (one takes 34-36 bytes, so a message holds about 7,400). */
export const MAX_CHUNK_REFS_PER_MESSAGE = 8192;
/** Chunks in one file: 256 GiB at the 64 KiB average chunk size. */
export const MAX_CHUNKS_PER_FILE = 4 * 1024 * 1024;
/**
 * Chunk sizes are the chunker's (PROTOCOL.md, "Chunking"): every chunk but a file's last is at
 * least MIN_CHUNK_SIZE, none is larger than MAX_CHUNK_SIZE. So a file's size fixes how many chunks
 * it can have, and a peer cannot make a receiver hold a long chunk list for a small file, nor
 * claim a huge file with a short list.
 */
export const MIN_CHUNK_SIZE = DEFAULT_CDC_PARAMS.min;
export const MAX_CHUNK_SIZE = DEFAULT_CDC_PARAMS.max;
/** The largest file an entry may describe: MAX_CHUNKS_PER_FILE chunks of MAX_CHUNK_SIZE (1 TiB). */
export const MAX_FILE_SIZE = MAX_CHUNKS_PER_FILE * MAX_CHUNK_SIZE;
/**
 * Chunk references one connection holds for entries still waiting for their indexChunks (one
 * pending entry per share): at most one maximal file's list at a time.
 */
export const MAX_PENDING_CHUNK_REFS = MAX_CHUNKS_PER_FILE;
/** udxOffer: addresses offered, and the length of one ("ip:port", "[ipv6]:port") */
export const MAX_CANDIDATES = 16;
export const MAX_CANDIDATE_BYTES = 64;
/** Largest `size` of one request: a response must fit one message, header included. */
export const MAX_BLOCK_DATA = MAX_MESSAGE - 1024;
/**
 * A requestRun (PROTOCOL.md, "Block transfer"): at most this many chunks and bytes. The answer to
 * one run is read at once, so these bound what one message makes a responder allocate.
 */
export const MAX_RUN_CHUNKS = 16;
export const MAX_RUN_BYTES = 1024 * 1024;
/**
 * A requestBatch (PROTOCOL.md, "Block transfer"): at most this many requests, and this many bytes
 * asked for in all, so that its one responseBatch fits one message (each answer's status and
 * length cost at most 4 bytes, the header 12).
 */
export const MAX_BATCH_REQUESTS = 64;
export const MAX_BATCH_BYTES = 192 * 1024;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
function fromHex(s: string, n: number): Uint8Array {
  if (typeof s !== 'string' || s.length !== n * 2 || !/^[0-9a-f]*$/.test(s))
    throw new EncodeError(`expected ${n * 2} lower-case hex digits`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

// ---- field kinds shared by several messages ----

/** A device ID: 20 bytes on the wire, the dashed text form (keys/device-id.ts) in TypeScript. */
export const deviceIdField: Codec<DeviceId> = mapped(fixed(20), 'device ID', deviceIdFromBytes, deviceIdToBytes);
/** A share, named by its discovery ID: 20 bytes on the wire, lower-case hex in TypeScript. */
export const shareField: Codec<string> = mapped(fixed(20), 'discovery ID', hex, (s: string) => fromHex(s, 20));
export const hashField = fixed(32);
export const levelField: Codec<AccessLevel> = enumOf('level', { 'read-write': 1, 'read-only': 2, encrypted: 3 });
export const fileTypeField: Codec<FileType> = enumOf('file type', { file: 0, dir: 1, symlink: 2 });

const versionEntry = struct({ device: fixed(20), counter: uint() }, 'VersionEntry');
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

/**
 * A version vector: a list of (device, counter) sorted by device bytes, no duplicates, counters
 * >= 1, so that equal vectors encode identically.
 */
export const versionVectorField: Codec<VersionVector> = mapped(
  list(versionEntry, MAX_VERSION_ENTRIES),
  'version vector (sorted by device, counters >= 1)',
  (items) => {
    const out: VersionVector = {};
    for (let i = 0; i < items.length; i++) {
      const { device, counter } = items[i]!;
      if (i > 0 && cmpBytes(items[i - 1]!.device, device) >= 0)
        throw new DecodeError('invalid', 'version vector is not sorted by device, or repeats one');
      if (counter < 1) throw new DecodeError('invalid', 'version vector holds a zero counter');
      out[deviceIdFromBytes(device)] = counter;
    }
    return out;
  },
  (vv) =>
    Object.entries(vv)
      .filter(([, n]) => n !== 0)
      .map(([id, counter]) => ({ device: deviceIdToBytes(id), counter }))
      .sort((a, b) => cmpBytes(a.device, b.device)),
);

/** Milliseconds since the epoch; whole on the wire (a sender's fraction is floored). */
const mtimeField: Codec<number> = mapped(
  int(),
  'mtime in ms',
  (n) => n,
  (n: number) => Math.floor(n),
);
/** Unix permission bits; anything above them (file type bits) is dropped by the sender. */
const modeField: Codec<number> = mapped(
  uint(0o7777),
  'permission bits',
  (n) => n,
  (n: number) => n & 0o7777,
);

const chunkSizeField: Codec<number> = mapped(
  uint(MAX_CHUNK_SIZE),
  `chunk size (1..${MAX_CHUNK_SIZE})`,
  (n) => {
    if (n === 0) throw new DecodeError('invalid', 'a chunk of 0 bytes');
    return n;
  },
  (n: number) => {
    if (n === 0) throw new EncodeError('a chunk of 0 bytes');
    return n;
  },
);
export const chunkRefField = struct({ hash: hashField, size: chunkSizeField }, 'ChunkRef');
export type ChunkRef = Infer<typeof chunkRefField>;

/**
 * One file's index entry. `chunkCount` is the length of its full chunk list; `chunks` holds the
 * first part of it (all of it, unless the list does not fit one message: then the entry is the
 * last of its indexUpdate and indexChunks messages carry the rest, see splitIndexUpdate).
 */
/** A writer's signature on an entry: writer key (32 bytes) || Ed25519 signature (64); keys/entry-signing.ts. */
export const ENTRY_SIGNATURE_BYTES = 96;

export const fileEntryField = struct(
  {
    path: string(MAX_PATH_BYTES),
    type: fileTypeField,
    size: uint(MAX_FILE_SIZE),
    mode: modeField,
    mtimeMs: mtimeField,
    version: versionVectorField,
    sequence: uint(),
    deleted: bool(),
    symlinkTarget: optional(string(MAX_PATH_BYTES)),
    chunkCount: uint(MAX_CHUNKS_PER_FILE),
    chunks: list(chunkRefField, MAX_CHUNK_REFS_PER_MESSAGE),
    modifiedBy: deviceIdField,
    signature: mapped(
      bytes(ENTRY_SIGNATURE_BYTES),
      'writer signature: empty, or writer key (32) and Ed25519 signature (64)',
      (b) => b,
      (b: Uint8Array) => b,
    ),
  },
  'FileEntry',
);
export type FileEntryWire = Infer<typeof fileEntryField>;

export const responseStatusField = enumOf('response status', {
  ok: 0,
  /** no such file, or the share has no such chunk */
  'not-found': 1,
  /** the file changed: the range no longer holds that chunk */
  changed: 2,
  /** the responder does not serve this share to this peer */
  'not-shared': 3,
  /** too many requests in flight: retry later or elsewhere */
  overloaded: 4,
  /** reading failed on the responder */
  'io-error': 5,
  /** size over MAX_BLOCK_DATA, range outside the chunk, ... */
  'invalid-request': 6,
});
export type ResponseStatus = Infer<typeof responseStatusField>;

// ---- the messages ----

export const MESSAGE_SCHEMAS = {
  hello: {
    tag: 1,
    schema: struct({
      protocolVersion: uint(),
      deviceId: deviceIdField,
      deviceName: string(MAX_NAME_BYTES),
      clientVersion: string(64),
      nonce: fixed(32),
    }),
  },
  auth: {
    tag: 2,
    schema: struct({
      shares: list(struct({ share: shareField, level: levelField, mac: fixed(32) }, 'ShareProof'), 3 * MAX_SHARES),
    }),
  },
  authResult: {
    tag: 3,
    schema: struct({
      accepted: list(struct({ share: shareField, level: levelField }, 'AcceptedShare'), MAX_SHARES),
      reason: string(MAX_REASON_BYTES),
    }),
  },
  close: { tag: 4, schema: struct({ reason: string(MAX_REASON_BYTES) }) },
  ping: { tag: 5, schema: struct({ id: uint() }) },
  pong: { tag: 6, schema: struct({ id: uint() }) },
  /** on a live link: "I offer these shares here too", proven as in auth, over this link's transcript */
  shareProofs: {
    tag: 7,
    schema: struct({
      shares: list(struct({ share: shareField, level: levelField, mac: fixed(32) }, 'ShareProof'), 3 * MAX_SHARES),
    }),
  },
  /** the answer to one shareProofs message, in order: the proofs accepted; the rest are refused */
  shareResult: {
    tag: 8,
    schema: struct({
      accepted: list(struct({ share: shareField, level: levelField }, 'AcceptedShare'), MAX_SHARES),
      reason: string(MAX_REASON_BYTES),
    }),
  },
  /** on a live link: "I no longer carry these shares here" (paused or removed) */
  shareWithdraw: {
    tag: 9,
    schema: struct({ shares: list(shareField, MAX_SHARES), reason: string(MAX_REASON_BYTES) }),
  },
  /** instead of auth, from a device that holds no share here yet: "I hold this invite" (PROTOCOL.md, "Invites") */
  inviteClaim: {
    tag: 10,
    schema: struct({ invite: fixed(8), mac: fixed(32) }),
  },
  /** the issuer's answer to inviteClaim, then it closes the link: the code of the granted level, or why not */
  inviteAnswer: {
    tag: 11,
    schema: struct({
      status: enumOf('invite status', { granted: 0, unknown: 1, expired: 2, used: 3, revoked: 4, 'wrong-proof': 5, 'share-gone': 6 }),
      /** the share code of the granted level when granted, else empty */
      code: string(MAX_SHARE_CODE_BYTES),
    }),
  },
  /**
   * on a live link: where this device's udx socket can be reached for a bulk stream (PROTOCOL.md,
   * "Bulk streams"); streamId 0 and no candidates: this device carries blocks on the data channel only
   */
  udxOffer: {
    tag: 12,
    schema: struct({
      streamId: uint(0xffffffff),
      token: fixed(16),
      candidates: list(string(MAX_CANDIDATE_BYTES), MAX_CANDIDATES),
    }),
  },
  /**
   * on a live link: the TCP port this device takes bulk streams on (PROTOCOL.md, "Bulk streams");
   * port 0: no TCP here
   */
  tcpOffer: {
    tag: 13,
    schema: struct({ port: uint(65535), token: fixed(16) }),
  },
  /**
   * on a live link: "I answer requestRun of at most maxChunks chunks and maxBytes bytes" (sent once;
   * a device that never sends it gets single requests only)
   */
  requestRuns: {
    tag: 14,
    schema: struct({ maxChunks: uint(MAX_RUN_CHUNKS), maxBytes: uint(MAX_RUN_BYTES) }),
  },
  /**
   * on a live link: "I answer requestBatch of at most maxRequests requests and maxBytes bytes" (sent
   * once; a device that never sends it gets no batches)
   */
  requestBatches: {
    tag: 15,
    schema: struct({ maxRequests: uint(MAX_BATCH_REQUESTS), maxBytes: uint(MAX_BATCH_BYTES) }),
  },
  indexUpdate: {
    tag: 16,
    schema: struct({
      share: shareField,
      indexId: uint(),
      /** the sender's newest sequence in this index when it sent the message */
      maxSequence: uint(),
      entries: list(fileEntryField, MAX_ENTRIES_PER_MESSAGE),
    }),
  },
  indexChunks: {
    tag: 17,
    schema: struct({
      share: shareField,
      indexId: uint(),
      /** the entry being continued */
      sequence: uint(),
      /** index in its chunk list of this message's first chunk */
      start: uint(MAX_CHUNKS_PER_FILE),
      chunks: list(chunkRefField, MAX_CHUNK_REFS_PER_MESSAGE),
    }),
  },
  indexAck: {
    tag: 18,
    schema: struct({ share: shareField, indexId: uint(), sequence: uint() }),
  },
  request: {
    tag: 32,
    schema: struct({
      id: uint(),
      share: shareField,
      path: string(MAX_PATH_BYTES),
      hash: hashField,
      offset: uint(),
      size: uint(MAX_BLOCK_DATA),
    }),
  },
  response: {
    tag: 33,
    schema: struct({ id: uint(), status: responseStatusField, data: bytes(MAX_BLOCK_DATA) }),
  },
  /**
   * consecutive chunks of one file in one message: the same as one request per chunk, ids id,
   * id + 1, ..., the first at offset, each next one where the one before ends; answered by one
   * response per id (only to a peer that sent requestRuns, within its limits)
   */
  requestRun: {
    tag: 34,
    schema: struct({
      id: uint(),
      share: shareField,
      path: string(MAX_PATH_BYTES),
      offset: uint(),
      chunks: list(chunkRefField, MAX_RUN_CHUNKS),
    }),
  },
  /**
   * several requests of one share in one message (small files: each its own path): the same as
   * one request per entry, ids id, id + 1, ...; answered by one responseBatch (only to a peer that
   * sent requestBatches, within its limits)
   */
  requestBatch: {
    tag: 35,
    schema: struct({
      id: uint(),
      share: shareField,
      requests: list(
        struct({ path: string(MAX_PATH_BYTES), hash: hashField, offset: uint(), size: uint(MAX_BATCH_BYTES) }),
        MAX_BATCH_REQUESTS,
      ),
    }),
  },
  /** the answers to one requestBatch, in its order: answers[i] is the response to id + i */
  responseBatch: {
    tag: 36,
    schema: struct({
      id: uint(),
      answers: list(struct({ status: responseStatusField, data: bytes(MAX_BATCH_BYTES) }), MAX_BATCH_REQUESTS),
    }),
  },
} as const satisfies Record<string, { tag: number; schema: StructCodec<Fields> }>;

type Schemas = typeof MESSAGE_SCHEMAS;
export type MessageType = keyof Schemas;
export type MessageOf<K extends MessageType> = { type: K } & Infer<Schemas[K]['schema']>;
export type Message = { [K in MessageType]: MessageOf<K> }[MessageType];

export type Hello = MessageOf<'hello'>;
export type Auth = MessageOf<'auth'>;
export type AuthResult = MessageOf<'authResult'>;
export type ShareProofs = MessageOf<'shareProofs'>;
export type ShareResult = MessageOf<'shareResult'>;
export type ShareWithdraw = MessageOf<'shareWithdraw'>;
export type InviteClaim = MessageOf<'inviteClaim'>;
export type InviteAnswer = MessageOf<'inviteAnswer'>;
export type UdxOffer = MessageOf<'udxOffer'>;
export type TcpOffer = MessageOf<'tcpOffer'>;
/** What a link's bulk plug says to the peer's over the link. */
export type BulkOffer = UdxOffer | TcpOffer;
export type IndexUpdate = MessageOf<'indexUpdate'>;
export type IndexChunks = MessageOf<'indexChunks'>;
export type IndexAck = MessageOf<'indexAck'>;
export type BlockRequest = MessageOf<'request'>;
export type BlockResponse = MessageOf<'response'>;
export type RequestRun = MessageOf<'requestRun'>;
export type RequestRuns = MessageOf<'requestRuns'>;
export type RequestBatch = MessageOf<'requestBatch'>;
export type ResponseBatch = MessageOf<'responseBatch'>;
export type RequestBatches = MessageOf<'requestBatches'>;

/** The schema listing PROTOCOL.md carries (vectors.test.ts checks it is current). */
export function describeMessages(): string {
  const named = [
    versionEntry,
    chunkRefField,
    fileEntryField,
    MESSAGE_SCHEMAS.auth.schema.fields.shares,
    MESSAGE_SCHEMAS.authResult.schema.fields.accepted,
  ].map((c) => ('of' in c ? (c as unknown as { of: StructCodec<Fields> }).of : c) as StructCodec<Fields>);
  const lines: string[] = [`header: format byte ${WIRE_FORMAT}, then the type tag as uint`, ''];
  for (const s of named) lines.push(`${s.name}`, ...s.layout().map((f) => `  ${f}`), '');
  for (const [type, { tag, schema }] of Object.entries(MESSAGE_SCHEMAS)) {
    lines.push(`${tag} ${type}`, ...(schema as StructCodec<Fields>).layout().map((f) => `  ${f}`), '');
  }
  return lines.join('\n').trimEnd();
}

const BY_TAG = new Map<number, MessageType>(Object.entries(MESSAGE_SCHEMAS).map(([k, v]) => [v.tag, k as MessageType]));

function headerSize(type: MessageType): number {
  return 1 + varintSize(MESSAGE_SCHEMAS[type].tag);
}

function schemaOf(type: MessageType): Codec<Record<string, unknown>> {
  const entry = MESSAGE_SCHEMAS[type];
  if (!entry) throw new EncodeError(`unknown message type ${JSON.stringify(type)}`);
  return entry.schema as unknown as Codec<Record<string, unknown>>;
}

/** Encoded size of a message, header included. Throws EncodeError when it does not fit its schema. */
export function messageSize(msg: Message): number {
  try {
    return headerSize(msg.type) + schemaOf(msg.type).size(msg as unknown as Record<string, unknown>);
  } catch (e) {
    throw e instanceof EncodeError ? e.within(msg.type) : e;
  }
}

/**
 * Bytes kept free before a response's data read into responseBuffer(): room for the message's
 * header (format, tag, id, status, data length: at most 1 + 1 + 8 + 1 + 3) and, before it, for a
 * bulk stream's 4-byte frame header (FRAME_ROOM).
 */
const RESPONSE_HEADROOM = 20;
/** Bytes before a response encoded in place that are free: a bulk stream may write its frame header there. */
export const FRAME_ROOM = 4;
/** the views responseBuffer() gave (their memory may be shared with other frames: net/frame-pool.ts) */
const withHeadroom = new WeakSet<Uint8Array>();
/** responses encoded in place, with FRAME_ROOM free bytes before them */
const withFrameRoom = new WeakSet<Uint8Array>();

/** Whether the FRAME_ROOM bytes before `bytes` (an encoded message) are free to write a frame header into. */
export function hasFrameRoom(bytes: Uint8Array): boolean {
  return withFrameRoom.has(bytes);
}

/**
 * A buffer for `size` bytes of a response's data (the block server reads a chunk into it). A
 * response carrying it is encoded in place: its header is written into the room before the data,
 * and the chunk's bytes are sent as read, not copied into a new message buffer.
 */
export function responseBuffer(size: number, alloc: (bytes: number) => Buffer = Buffer.allocUnsafeSlow): Buffer {
  // never from Node's shared pool: the room before the data must be this buffer's own (`alloc`
  // gives a buffer of at least the bytes asked for, that starts its ArrayBuffer)
  const whole = alloc(RESPONSE_HEADROOM + size);
  const data = whole.subarray(RESPONSE_HEADROOM, RESPONSE_HEADROOM + size);
  withHeadroom.add(data);
  return data;
}

/** The response encoded around its data when that lies in a responseBuffer(); null otherwise. */
function encodeResponseInPlace(msg: BlockResponse, size: number): Uint8Array | null {
  const data = msg.data;
  const head = size - data.length;
  if (head > RESPONSE_HEADROOM - FRAME_ROOM || !withHeadroom.has(data)) return null;
  const fields = MESSAGE_SCHEMAS.response.schema.entries;
  if (fields[fields.length - 1]![0] !== 'data') return null;
  const out = new Uint8Array(data.buffer, data.byteOffset - head, size);
  const w = new Writer(out);
  w.byte(WIRE_FORMAT);
  w.varint(MESSAGE_SCHEMAS.response.tag);
  for (const [name, codec] of fields.slice(0, -1)) codec.write(w, (msg as unknown as Record<string, unknown>)[name]);
  w.varint(data.length);
  if (w.pos !== head) throw new EncodeError(`response header of ${w.pos} bytes, expected ${head}`);
  withFrameRoom.add(out);
  return out;
}

/** Throws EncodeError for a message that breaks its schema or exceeds MAX_MESSAGE. */
export function encodeMessage(msg: Message): Uint8Array {
  const size = messageSize(msg);
  if (size > MAX_MESSAGE) throw new EncodeError(`${msg.type} of ${size} bytes exceeds the ${MAX_MESSAGE}-byte message limit: split it`);
  if (msg.type === 'response') {
    const inPlace = encodeResponseInPlace(msg, size);
    if (inPlace) return inPlace;
  }
  const w = new Writer(size);
  w.byte(WIRE_FORMAT);
  w.varint(MESSAGE_SCHEMAS[msg.type].tag);
  schemaOf(msg.type).write(w, msg as unknown as Record<string, unknown>);
  return w.buf;
}

/**
 * Decodes one message. Throws only DecodeError: code 'unknown-type' for a tag this version does
 * not know (a newer peer: the caller may ignore it), 'version' for another wire format, others
 * for a broken or hostile message (drop the peer). Byte fields are views into `buf`.
 */
export function decodeMessage(buf: Uint8Array): Message {
  if (!(buf instanceof Uint8Array)) throw new DecodeError('invalid', 'a message must be binary');
  if (buf.length > MAX_MESSAGE) throw new DecodeError('limit', `message of ${buf.length} bytes exceeds the ${MAX_MESSAGE}-byte limit`);
  const r = new Reader(buf);
  try {
    const format = r.byte();
    if (format !== WIRE_FORMAT) throw new DecodeError('version', `wire format ${format} is not ${WIRE_FORMAT}`);
    const tag = r.varint();
    const type = BY_TAG.get(tag);
    if (!type) throw new DecodeError('unknown-type', `unknown message type ${tag}`);
    let body: Record<string, unknown>;
    try {
      body = schemaOf(type).read(r);
    } catch (e) {
      throw (e instanceof DecodeError ? e : new DecodeError('invalid', `internal decode failure: ${(e as Error)?.message}`)).within(type);
    }
    if (r.remaining) throw new DecodeError('trailing', `${r.remaining} bytes left over after the ${type} message`);
    return { type, ...body } as Message;
  } catch (e) {
    throw e instanceof DecodeError ? e : new DecodeError('invalid', `internal decode failure: ${(e as Error)?.message}`);
  }
}

// ---- splitting index updates to fit messages ----

export interface IndexUpdateHeader {
  share: string;
  indexId: number;
  maxSequence: number;
}

const entryCodec = fileEntryField as unknown as Codec<FileEntryWire>;
const chunkCodec = chunkRefField as unknown as Codec<ChunkRef>;

/**
 * Turns a run of index entries (complete: chunkCount is ignored and set from `chunks`) into
 * messages that each fit `budget` bytes: indexUpdate messages, where an entry whose chunk list
 * does not fit is cut, ends its message, and is followed at once by indexChunks messages with
 * the rest of its list. Send them in order on one ordered channel, with no other index message
 * for that share in between.
 */
export function splitIndexUpdate(
  header: IndexUpdateHeader,
  entries: readonly FileEntryWire[],
  budget = MAX_MESSAGE,
): (IndexUpdate | IndexChunks)[] {
  const out: (IndexUpdate | IndexChunks)[] = [];
  const updateOverhead = messageSize({ type: 'indexUpdate', ...header, entries: [] }) + 4; // + room for the entry count varint
  let current: FileEntryWire[] = [];
  let used = updateOverhead;
  const flush = () => {
    if (current.length) out.push({ type: 'indexUpdate', ...header, entries: current });
    current = [];
    used = updateOverhead;
  };
  for (const full of entries) {
    if (full.chunks.length > MAX_CHUNKS_PER_FILE)
      throw new EncodeError(`${full.path}: ${full.chunks.length} chunks exceed the limit ${MAX_CHUNKS_PER_FILE}`);
    const entry: FileEntryWire = { ...full, chunkCount: full.chunks.length };
    const size = entry.chunks.length <= MAX_CHUNK_REFS_PER_MESSAGE ? entryCodec.size(entry) : Infinity;
    if (current.length >= MAX_ENTRIES_PER_MESSAGE) flush();
    if (size > budget - used) flush();
    if (size <= budget - used) {
      current.push(entry);
      used += size;
      continue;
    }
    // Too big for a message of its own: send the head inline, the rest as continuations.
    const bare = entryCodec.size({ ...entry, chunks: [] });
    if (bare + 4 > budget - used) throw new EncodeError(`${entry.path}: the entry alone exceeds ${budget} bytes`);
    const headCount = Math.min(MAX_CHUNK_REFS_PER_MESSAGE, countFitting(entry.chunks, 0, budget - used - bare - 4));
    out.push({ type: 'indexUpdate', ...header, entries: [{ ...entry, chunks: entry.chunks.slice(0, headCount) }] });
    const contOverhead =
      messageSize({
        type: 'indexChunks',
        share: header.share,
        indexId: header.indexId,
        sequence: entry.sequence,
        start: MAX_CHUNKS_PER_FILE,
        chunks: [],
      }) + 4;
    for (let start = headCount; start < entry.chunks.length;) {
      const n = Math.min(MAX_CHUNK_REFS_PER_MESSAGE, countFitting(entry.chunks, start, budget - contOverhead));
      if (n === 0) throw new EncodeError(`budget of ${budget} bytes cannot hold one chunk reference`);
      out.push({
        type: 'indexChunks',
        share: header.share,
        indexId: header.indexId,
        sequence: entry.sequence,
        start,
        chunks: entry.chunks.slice(start, start + n),
      });
      start += n;
    }
  }
  flush();
  return out;
}

function countFitting(chunks: readonly ChunkRef[], from: number, room: number): number {
  let n = 0;
  for (let i = from; i < chunks.length; i++) {
    room -= chunkCodec.size(chunks[i]!);
    if (room < 0) break;
    n++;
  }
  return n;
}

/** A peer that broke the index exchange rules: drop it. */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

export interface IndexBatch extends IndexUpdateHeader {
  /** complete entries (chunks.length === chunkCount), in the order sent */
  entries: FileEntryWire[];
}

/**
 * The receiving side of splitIndexUpdate: feed it every indexUpdate and indexChunks message of
 * one connection, in order; it returns the entries that are complete (an entry split over
 * several messages comes out with the message that completes it) and checks each entry holds
 * together. Throws ProtocolViolation for a peer that breaks the rules.
 */
export class IndexAssembler {
  private pending = new Map<string, { header: IndexUpdateHeader; entry: FileEntryWire; chunks: ChunkRef[] }>();
  private pendingRefs = 0;

  /** `encrypted`: the share is carried at the encrypted level, its entries are encrypted entries (blobs) */
  constructor(private readonly shape: 'plain' | 'encrypted' = 'plain') {}

  push(msg: IndexUpdate | IndexChunks): IndexBatch | null {
    const waiting = this.pending.get(msg.share);
    if (msg.type === 'indexChunks') {
      if (!waiting || waiting.header.indexId !== msg.indexId || waiting.entry.sequence !== msg.sequence) {
        throw new ProtocolViolation(`indexChunks for sequence ${msg.sequence} of share ${msg.share} continues no entry`);
      }
      if (msg.start !== waiting.chunks.length)
        throw new ProtocolViolation(`indexChunks starts at ${msg.start}, expected ${waiting.chunks.length}`);
      if (msg.chunks.length === 0 || waiting.chunks.length + msg.chunks.length > waiting.entry.chunkCount) {
        throw new ProtocolViolation(`indexChunks for ${waiting.entry.path} does not match its chunk count ${waiting.entry.chunkCount}`);
      }
      for (const c of msg.chunks) waiting.chunks.push(c);
      if (waiting.chunks.length < waiting.entry.chunkCount) return null;
      this.pending.delete(msg.share);
      this.pendingRefs -= waiting.entry.chunkCount;
      const entry = { ...waiting.entry, chunks: waiting.chunks };
      checkEntry(entry, this.shape);
      return { ...waiting.header, entries: [entry] };
    }
    if (waiting) throw new ProtocolViolation(`indexUpdate for share ${msg.share} while ${waiting.entry.path} still waits for its chunks`);
    const header = { share: msg.share, indexId: msg.indexId, maxSequence: msg.maxSequence };
    const complete: FileEntryWire[] = [];
    for (let i = 0; i < msg.entries.length; i++) {
      const e = msg.entries[i]!;
      if (e.chunks.length > e.chunkCount)
        throw new ProtocolViolation(`${e.path}: ${e.chunks.length} chunks listed, chunk count ${e.chunkCount}`);
      // before anything of the entry is kept: its chunk count must fit its size
      checkChunkCount(e, this.shape);
      if (e.chunks.length < e.chunkCount) {
        if (i !== msg.entries.length - 1) throw new ProtocolViolation(`${e.path}: an incomplete entry must be the last of its indexUpdate`);
        if (this.pendingRefs + e.chunkCount > MAX_PENDING_CHUNK_REFS) {
          throw new ProtocolViolation(
            `${e.path}: ${e.chunkCount} more chunk references while ${this.pendingRefs} wait, over the limit ${MAX_PENDING_CHUNK_REFS}`,
          );
        }
        this.pendingRefs += e.chunkCount;
        this.pending.set(msg.share, { header, entry: e, chunks: [...e.chunks] });
        break;
      }
      checkEntry(e, this.shape);
      complete.push(e);
    }
    // an indexUpdate with no entries at all is the sender saying it has nothing more: a batch too
    return complete.length || msg.entries.length === 0 ? { ...header, entries: complete } : null;
  }

  /** True while an entry of `share` waits for its indexChunks. */
  isPending(share: string): boolean {
    return this.pending.has(share);
  }
}

/**
 * How many chunks a file of `size` bytes can have: each but the last holds at least
 * MIN_CHUNK_SIZE bytes, none more than MAX_CHUNK_SIZE; an empty file has none.
 */
export function chunkCountRange(size: number): { min: number; max: number } {
  if (size === 0) return { min: 0, max: 0 };
  return { min: Math.ceil(size / MAX_CHUNK_SIZE), max: Math.floor((size - 1) / MIN_CHUNK_SIZE) + 1 };
}

/** The size of every blob of an encrypted entry is a whole number of these (PROTOCOL.md, "Encrypted entries"). */
export const ENCRYPTED_BLOB_UNIT = 4096;

/**
 * An encrypted entry's header: always a present file of whole blob units, from one blob (a sealed
 * entry alone) to one blob per 4096 bytes.
 */
function checkEncryptedCount(e: FileEntryWire): void {
  if (e.type !== 'file' || e.deleted || e.symlinkTarget !== null)
    throw new ProtocolViolation(`${e.path}: an encrypted entry is a present file`);
  const min = Math.max(1, Math.ceil(e.size / MAX_CHUNK_SIZE));
  const max = Math.floor(e.size / ENCRYPTED_BLOB_UNIT);
  if (e.size % ENCRYPTED_BLOB_UNIT !== 0 || e.chunkCount < min || e.chunkCount > max)
    throw new ProtocolViolation(`${e.path}: ${e.chunkCount} blobs cannot make an encrypted entry of ${e.size} bytes`);
}

/** Checks an entry's header (its size and chunk count), before its chunk list is collected. */
function checkChunkCount(e: FileEntryWire, shape: 'plain' | 'encrypted' = 'plain'): void {
  if (shape === 'encrypted') return checkEncryptedCount(e);
  const hasContent = e.type === 'file' && !e.deleted;
  if (!hasContent) {
    if (e.chunkCount !== 0) throw new ProtocolViolation(`${e.path}: only a present file has chunks`);
    return;
  }
  const { min, max } = chunkCountRange(e.size);
  if (e.chunkCount < min || e.chunkCount > max) {
    throw new ProtocolViolation(`${e.path}: ${e.chunkCount} chunks cannot make a file of ${e.size} bytes (${min}..${max} can)`);
  }
}

/** An entry that contradicts itself is a broken or hostile peer. */
function checkEntry(e: FileEntryWire, shape: 'plain' | 'encrypted' = 'plain'): void {
  if (shape === 'encrypted' && e.chunks.some((c) => c.size % ENCRYPTED_BLOB_UNIT !== 0))
    throw new ProtocolViolation(`${e.path}: a blob that is not a whole number of ${ENCRYPTED_BLOB_UNIT}-byte units`);
  const hasContent = e.type === 'file' && !e.deleted;
  if (!hasContent && e.chunkCount !== 0) throw new ProtocolViolation(`${e.path}: only a present file has chunks`);
  if (hasContent) {
    let sum = 0;
    for (const c of e.chunks) sum += c.size;
    if (sum !== e.size) throw new ProtocolViolation(`${e.path}: chunk sizes add up to ${sum}, not the file size ${e.size}`);
  }
  if (e.type !== 'symlink' && e.symlinkTarget !== null) throw new ProtocolViolation(`${e.path}: only a symlink has a target`);
}

/**
 * The single requests a run stands for, in order (ids id, id + 1, ...); each at most
 * MAX_BLOCK_DATA bytes is the caller's check (a run's chunk may be up to MAX_CHUNK_SIZE).
 */
export function runRequests(run: RequestRun): BlockRequest[] {
  const out: BlockRequest[] = [];
  let offset = run.offset;
  run.chunks.forEach((c, i) => {
    out.push({ type: 'request', id: run.id + i, share: run.share, path: run.path, hash: c.hash, offset, size: c.size });
    offset += c.size;
  });
  return out;
}

/** The requests a requestBatch stands for: ids id, id + 1, ... */
export function batchRequests(batch: RequestBatch): BlockRequest[] {
  return batch.requests.map((r, i) => ({ type: 'request', id: batch.id + i, share: batch.share, ...r }));
}

/** The responses a responseBatch stands for: ids id, id + 1, ... */
export function batchResponses(batch: ResponseBatch): BlockResponse[] {
  return batch.answers.map((a, i) => ({ type: 'response', id: batch.id + i, status: a.status, data: a.data }));
}

/**
 * The requests that fetch one chunk at `offset` of a file: one, or several for a chunk larger
 * than MAX_BLOCK_DATA (each carries the chunk's hash; the requester checks the hash over the
 * reassembled chunk).
 */
export function chunkRanges(offset: number, size: number, maxPart = MAX_BLOCK_DATA): { offset: number; size: number }[] {
  const out: { offset: number; size: number }[] = [];
  for (let at = 0; at < size; at += maxPart) out.push({ offset: offset + at, size: Math.min(maxPart, size - at) });
  return out;
}
