// Encryption of a share for devices that keep it without reading it (PROTOCOL.md, "Encrypted
// members"). Pure functions: keys in, bytes out; nothing here touches the disk or the network.
//
// Everything is deterministic (a synthetic nonce derived from the plaintext), for two reasons:
// every trusted device that encrypts one version of a file must produce the same bytes (so an
// encrypted device can fetch a blob from whichever of them is online, and index deltas still
// replace the older version of a path), and a nonce is never reused with a different plaintext.
// The price, written down in PROTOCOL.md: equal chunks of one share look equal to the encrypted
// device.

import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { ENCRYPTED_BLOB_UNIT, MAX_CHUNK_SIZE, type ChunkRef, type FileEntryWire } from '../protocol/messages.ts';
import { deviceIdFromBytes } from './device-id.ts';
import { ENTRY_SIGNATURE_BYTES, ENTRY_SIGNATURE_CONTEXT, signedEntryBytes, type SignedEntry } from './entry-signing.ts';
import { deriveShareKeys, levelCovers, weakenSecret, type ShareKeys, type ShareSecret } from './secrets.ts';

/** Every blob an encrypted device stores is a whole number of these (the size padding). */
export const BLOB_UNIT = ENCRYPTED_BLOB_UNIT;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
export const TOKEN_BYTES = 32;

export const SEALING_INFO = {
  chunkKey: 'peerfold/v1 chunk key',
  entryKey: 'peerfold/v1 entry key',
  nonceKey: 'peerfold/v1 nonce key',
  nameKey: 'peerfold/v1 name key',
} as const;

const LABEL = {
  name: 'peerfold/v1 name',
  chunkNonce: 'peerfold/v1 chunk nonce',
  entryNonce: 'peerfold/v1 entry nonce',
  chunkAad: 'peerfold/v1 chunk',
  entryAad: 'peerfold/v1 sealed entry',
} as const;

/** The keys of the encrypted level: read-only and read-write members have them, encrypted members never. */
export interface SealingKeys {
  chunkKey: Uint8Array;
  entryKey: Uint8Array;
  nonceKey: Uint8Array;
  nameKey: Uint8Array;
  /** the share's discovery ID: sealed entries name their share */
  discoveryId: Uint8Array;
}

/** Something an encrypted device (or a relay) handed over does not decrypt or does not check out. */
export class SealError extends Error {
  override name = 'SealError';
}

const hkdf = (ikm: Uint8Array, info: string, n: number) => new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), info, n));
const hmac = (key: Uint8Array, label: string, ...data: Uint8Array[]) => {
  const h = createHmac('sha256', key).update(label, 'ascii');
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
};
export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** K = HKDF(S_ro || H_W, info, 32) for each key; throws for an encrypted member (it has no S_ro). */
export function deriveSealingKeys(s: ShareSecret): SealingKeys {
  if (!levelCovers(s.level, 'read-only')) throw new RangeError('an encrypted member cannot derive the keys that decrypt its share');
  const ro = weakenSecret(s, 'read-only');
  return sealingKeysFrom(ro.secret, ro.writerKeyHash, deriveShareKeys(s).discoveryId);
}

/** The same from a share's derived keys (ShareKeys.readOnlySecret); null on an encrypted member. */
export function sealingKeysOf(k: ShareKeys): SealingKeys | null {
  return k.readOnlySecret ? sealingKeysFrom(k.readOnlySecret, k.writerKeyHash, k.discoveryId) : null;
}

function sealingKeysFrom(readOnlySecret: Uint8Array, writerKeyHash: Uint8Array, discoveryId: Uint8Array): SealingKeys {
  const base = new Uint8Array([...readOnlySecret, ...writerKeyHash]);
  return {
    chunkKey: hkdf(base, SEALING_INFO.chunkKey, 32),
    entryKey: hkdf(base, SEALING_INFO.entryKey, 32),
    nonceKey: hkdf(base, SEALING_INFO.nonceKey, 32),
    nameKey: hkdf(base, SEALING_INFO.nameKey, 32),
    discoveryId,
  };
}

/** A blob's stored size for `n` bytes of plaintext: the next whole number of BLOB_UNITs. */
export const paddedSize = (n: number): number => Math.max(1, Math.ceil(n / BLOB_UNIT)) * BLOB_UNIT;

/** The name token of a path: what an encrypted device knows the path by. Same path, same token. */
export function nameToken(keys: SealingKeys, path: string): Uint8Array {
  return hmac(keys.nameKey, LABEL.name, Buffer.from(path.normalize('NFC'), 'utf8'));
}

/** The token as encrypted devices use it for a path: 64 lower-case hex digits. */
export const tokenText = (token: Uint8Array): string => Buffer.from(token).toString('hex');

export interface EncryptedChunk {
  /** SHA-256 of the plaintext chunk */
  plainHash: Uint8Array;
  /** the ciphertext: paddedSize(plain length) bytes */
  body: Uint8Array;
  /** SHA-256 of body: the blob's name on an encrypted device, which it checks without any key */
  blobHash: Uint8Array;
  /** the AES-GCM tag, kept in the sealed entry (so a blob is never larger than the largest chunk) */
  tag: Uint8Array;
}

export function encryptChunk(keys: SealingKeys, plain: Uint8Array): EncryptedChunk {
  if (plain.length < 1 || plain.length > MAX_CHUNK_SIZE) throw new RangeError(`a chunk is 1..${MAX_CHUNK_SIZE} bytes, not ${plain.length}`);
  const plainHash = sha256(plain);
  const padded = new Uint8Array(paddedSize(plain.length));
  padded.set(plain);
  const nonce = hmac(keys.nonceKey, LABEL.chunkNonce, plainHash).subarray(0, NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', keys.chunkKey, nonce);
  c.setAAD(Buffer.from(LABEL.chunkAad, 'ascii'));
  const body = new Uint8Array(Buffer.concat([c.update(padded), c.final()]));
  return { plainHash, body, blobHash: sha256(body), tag: new Uint8Array(c.getAuthTag()) };
}

/** The plaintext chunk `ref` (its hash and size, from a sealed entry) from its blob; throws SealError. */
export function decryptChunk(keys: SealingKeys, body: Uint8Array, ref: { hash: Uint8Array; size: number; tag: Uint8Array }): Uint8Array {
  if (body.length !== paddedSize(ref.size)) throw new SealError(`a blob of ${body.length} bytes cannot hold a chunk of ${ref.size}`);
  const nonce = hmac(keys.nonceKey, LABEL.chunkNonce, ref.hash).subarray(0, NONCE_BYTES);
  const d = createDecipheriv('aes-256-gcm', keys.chunkKey, nonce);
  d.setAAD(Buffer.from(LABEL.chunkAad, 'ascii'));
  d.setAuthTag(ref.tag);
  let padded: Buffer;
  try {
    padded = Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new SealError('a blob does not decrypt: it was altered, or belongs to another share or chunk');
  }
  const plain = new Uint8Array(padded.subarray(0, ref.size));
  if (padded.subarray(ref.size).some((b) => b !== 0)) throw new SealError('a blob has non-zero padding');
  if (!Buffer.from(sha256(plain)).equals(Buffer.from(ref.hash))) throw new SealError('a decrypted chunk does not have its hash');
  return plain;
}

/** What a sealed entry holds: a writer-signed entry, its signature and its chunks' tags. */
export interface SealedContent {
  entry: SignedEntry;
  signature: Uint8Array;
  tags: Uint8Array[];
}

/** Bytes before the ciphertext of a sealed entry: u32 ciphertext length, nonce. */
const SEALED_HEAD = 4 + NONCE_BYTES;

/**
 * The sealed entry: u32 L || nonce || AES-256-GCM(entry key, nonce, M padded to L bytes) || tag,
 * with M = signed bytes || signature || the chunks' tags, and L chosen so the whole is a multiple
 * of BLOB_UNIT. Bound to the share and the path's token (the associated data).
 */
export function sealEntry(keys: SealingKeys, content: SealedContent): Uint8Array {
  const { entry, signature, tags } = content;
  if (signature.length !== ENTRY_SIGNATURE_BYTES) throw new RangeError('only a signed entry can be sealed');
  if (tags.length !== entry.chunks.length) throw new RangeError('a sealed entry needs one tag per chunk');
  const m = Buffer.concat([signedEntryBytes(keys.discoveryId, entry), signature, ...tags]);
  const total = Math.ceil((SEALED_HEAD + m.length + TAG_BYTES) / BLOB_UNIT) * BLOB_UNIT;
  const padded = Buffer.alloc(total - SEALED_HEAD - TAG_BYTES);
  m.copy(padded);
  const nonce = hmac(keys.nonceKey, LABEL.entryNonce, m).subarray(0, NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', keys.entryKey, nonce);
  c.setAAD(entryAad(keys, nameToken(keys, entry.path)));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(padded.length);
  return new Uint8Array(Buffer.concat([head, nonce, c.update(padded), c.final(), c.getAuthTag()]));
}

const entryAad = (keys: SealingKeys, token: Uint8Array) => Buffer.concat([Buffer.from(LABEL.entryAad, 'ascii'), keys.discoveryId, token]);

/** The whole sealed entry's length, read from its first bytes (its first blob); null when they cannot start one. */
export function sealedLength(first: Uint8Array): number | null {
  if (first.length < 4) return null;
  const total = SEALED_HEAD + Buffer.from(first.buffer, first.byteOffset, 4).readUInt32BE(0) + TAG_BYTES;
  return total % BLOB_UNIT === 0 ? total : null;
}

/** Opens the sealed entry of the path whose token is `token`; throws SealError for anything off. */
export function openEntry(keys: SealingKeys, token: Uint8Array, sealed: Uint8Array): SealedContent {
  const total = sealedLength(sealed);
  if (total === null || total !== sealed.length) throw new SealError('a sealed entry has the wrong length');
  const nonce = sealed.subarray(4, SEALED_HEAD);
  const d = createDecipheriv('aes-256-gcm', keys.entryKey, nonce);
  d.setAAD(entryAad(keys, token));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  let m: Buffer;
  try {
    m = Buffer.concat([d.update(sealed.subarray(SEALED_HEAD, sealed.length - TAG_BYTES)), d.final()]);
  } catch {
    throw new SealError('a sealed entry does not decrypt: it was altered, or moved to another path or share');
  }
  const r = new Reader(m);
  const entry = readSignedEntry(r, keys.discoveryId);
  const signature = new Uint8Array(r.take(ENTRY_SIGNATURE_BYTES));
  const tags = entry.chunks.map(() => new Uint8Array(r.take(TAG_BYTES)));
  if (r.rest().some((b) => b !== 0)) throw new SealError('a sealed entry has non-zero padding');
  if (!Buffer.from(nameToken(keys, entry.path)).equals(Buffer.from(token))) throw new SealError('a sealed entry is not for its path');
  return { entry, signature, tags };
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  take(n: number): Buffer {
    if (n < 0 || this.at + n > this.b.length) throw new SealError('a sealed entry is cut short');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8 = () => this.take(1).readUInt8(0);
  u32 = () => this.take(4).readUInt32BE(0);
  u64 = () => Number(this.take(8).readBigUInt64BE(0));
  i64 = () => Number(this.take(8).readBigInt64BE(0));
  text = () => {
    const b = this.take(this.u32());
    const s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) throw new SealError('a sealed entry holds invalid UTF-8');
    return s;
  };
  rest = () => this.b.subarray(this.at);
}

const TYPES = ['file', 'dir', 'symlink'] as const;

/** The inverse of signedEntryBytes (keys/entry-signing.ts), for the share `discoveryId`. */
function readSignedEntry(r: Reader, discoveryId: Uint8Array): SignedEntry {
  if (r.take(ENTRY_SIGNATURE_CONTEXT.length).toString('ascii') !== ENTRY_SIGNATURE_CONTEXT)
    throw new SealError('a sealed entry has no entry');
  if (!r.take(20).equals(Buffer.from(discoveryId))) throw new SealError('a sealed entry is of another share');
  const path = r.text();
  const type = TYPES[r.u8()];
  if (!type) throw new SealError('a sealed entry has an unknown type');
  const deleted = r.u8() === 1;
  const size = r.u64();
  const exec = r.u8() === 1;
  const mtimeMs = r.i64();
  const version: Record<string, number> = {};
  for (let n = r.u32(); n > 0; n--) version[deviceIdFromBytes(new Uint8Array(r.take(20)))] = r.u64();
  const modifiedBy = deviceIdFromBytes(new Uint8Array(r.take(20)));
  const target = r.text();
  const chunks: ChunkRef[] = [];
  for (let n = r.u32(); n > 0; n--) chunks.push({ hash: new Uint8Array(r.take(32)), size: r.u32() });
  return {
    path,
    type,
    deleted,
    size,
    mode: exec ? 0o755 : 0o644,
    mtimeMs,
    version,
    modifiedBy,
    symlinkTarget: type === 'symlink' && !deleted ? target : null,
    chunks,
  };
}

/** One entry as an encrypted device holds it, and where each of its blobs comes from. */
export interface PresentedEntry {
  /** the entry in its encrypted form (PROTOCOL.md, "Encrypted entries") */
  wire: FileEntryWire;
  /** the sealed entry, which is the wire entry's first blob(s) */
  sealed: Uint8Array;
  /** how many of the wire entry's blobs are pieces of the sealed entry */
  sealedPieces: number;
}

/**
 * A signed plaintext entry in the form an encrypted device stores: its path a token, its content
 * the sealed entry's pieces followed by the encrypted chunks (`chunks`, one per plaintext chunk).
 */
export function presentEntry(keys: SealingKeys, plain: FileEntryWire, chunks: readonly EncryptedChunk[]): PresentedEntry {
  if (chunks.length !== plain.chunks.length) throw new RangeError('one encrypted chunk per chunk of the entry');
  const sealed = sealEntry(keys, { entry: plain, signature: plain.signature, tags: chunks.map((c) => c.tag) });
  const blobs: { hash: Uint8Array; size: number }[] = [];
  for (let at = 0; at < sealed.length; at += MAX_CHUNK_SIZE) {
    const piece = sealed.subarray(at, Math.min(sealed.length, at + MAX_CHUNK_SIZE));
    blobs.push({ hash: sha256(piece), size: piece.length });
  }
  const sealedPieces = blobs.length;
  for (const c of chunks) blobs.push({ hash: c.blobHash, size: c.body.length });
  const wire: FileEntryWire = {
    path: tokenText(nameToken(keys, plain.path)),
    type: 'file',
    size: blobs.reduce((n, b) => n + b.size, 0),
    mode: ENCRYPTED_MODE,
    mtimeMs: Math.floor(plain.mtimeMs),
    version: plain.version,
    sequence: plain.sequence,
    deleted: false,
    symlinkTarget: null,
    chunkCount: blobs.length,
    chunks: blobs,
    modifiedBy: plain.modifiedBy,
    signature: new Uint8Array(0),
  };
  return { wire, sealed, sealedPieces };
}

/** The permission bits of every encrypted entry (what an encrypted device gives its blob files). */
export const ENCRYPTED_MODE = 0o600;

/** How many blobs hold a sealed entry of `total` bytes. */
export const sealedPieceCount = (total: number): number => Math.ceil(total / MAX_CHUNK_SIZE);

/** A plaintext chunk of an opened entry and the blob that carries it. */
export interface SealedChunk extends ChunkRef {
  tag: Uint8Array;
  blobHash: Uint8Array;
  blobSize: number;
}

export interface OpenedEntry {
  /** the writer-signed entry (with the sequence of the encrypted device that sent it) */
  plain: FileEntryWire;
  chunks: SealedChunk[];
}

/**
 * Opens an encrypted entry (`wire`, as an encrypted device sent it) with its sealed entry, and
 * checks that the clear fields the encrypted device sees and may have changed (version,
 * modifiedBy, mtime, the blob list's shape) are the sealed ones. Throws SealError. The writer's
 * signature inside is the caller's to check (keys/entry-signing.ts), like any entry's.
 */
export function openPresented(keys: SealingKeys, wire: FileEntryWire, sealed: Uint8Array): OpenedEntry {
  const token = tokenFromText(wire.path);
  if (!token) throw new SealError(`${JSON.stringify(wire.path)} is not a name token`);
  const { entry, signature, tags } = openEntry(keys, token, sealed);
  const pieces = sealedPieceCount(sealed.length);
  if (wire.chunks.length !== pieces + entry.chunks.length) throw new SealError(`${wire.path}: its blobs do not match its sealed entry`);
  const chunks: SealedChunk[] = entry.chunks.map((c, i) => {
    const blob = wire.chunks[pieces + i]!;
    if (blob.size !== paddedSize(c.size)) throw new SealError(`${wire.path}: blob ${pieces + i} has the wrong size`);
    return { hash: c.hash, size: c.size, tag: tags[i]!, blobHash: blob.hash, blobSize: blob.size };
  });
  const clearOk =
    wire.modifiedBy === entry.modifiedBy &&
    wire.mtimeMs === Math.floor(entry.mtimeMs) &&
    sameVector(wire.version, entry.version) &&
    !wire.deleted &&
    wire.type === 'file';
  if (!clearOk) throw new SealError(`${wire.path}: its version, author or time differ from its sealed entry`);
  const plain: FileEntryWire = {
    ...entry,
    sequence: wire.sequence,
    chunkCount: entry.chunks.length,
    signature,
  };
  return { plain, chunks };
}

const sameVector = (a: Record<string, number>, b: Record<string, number>) => {
  const ka = Object.keys(a).filter((k) => a[k]);
  const kb = Object.keys(b).filter((k) => b[k]);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
};

/** The token a path-shaped string names, or null when it is not 64 lower-case hex digits. */
export function tokenFromText(text: string): Uint8Array | null {
  return /^[0-9a-f]{64}$/.test(text) ? new Uint8Array(Buffer.from(text, 'hex')) : null;
}
