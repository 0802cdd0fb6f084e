// Compact binary forms of the bulky columns (pure functions).
//   chunk list: 36 bytes per chunk, in file order: 32-byte SHA-256 | u32 LE size
//   version vector: (device number, counter) pairs sorted by device number, as LEB128 varints (schema 5;
//   12 bytes per entry before: u32 LE device number | f64 LE counter)
//   (device numbers are this database's short ids for device ids, see the devices table)
//   file hash: NULL when it is the SHA-256 of the concatenated chunk hashes (what a scan makes), so
//   the usual case costs nothing; anything else (an encrypted share's entries, tombstones, '') is stored
//   writer signature: writer key (32 bytes, one per share: kept once in writer_keys) | Ed25519 (64)
import { hash } from 'node:crypto';
import type { ChunkRef } from './rows.ts';

export const CHUNK_ENTRY_BYTES = 36;

export function encodeChunks(chunks: readonly ChunkRef[]): Uint8Array {
  const out = Buffer.allocUnsafe(chunks.length * CHUNK_ENTRY_BYTES);
  chunks.forEach((c, i) => {
    if (c.hash.length !== 32) throw new TypeError(`chunk ${i}: hash must be 32 bytes, got ${c.hash.length}`);
    if (!Number.isInteger(c.size) || c.size < 0 || c.size > 0xffffffff) throw new TypeError(`chunk ${i}: bad size ${c.size}`);
    out.set(c.hash, i * CHUNK_ENTRY_BYTES);
    out.writeUInt32LE(c.size, i * CHUNK_ENTRY_BYTES + 32);
  });
  return out;
}

function checkChunkBlob(blob: Uint8Array): void {
  if (blob.length % CHUNK_ENTRY_BYTES !== 0)
    throw new CorruptRowError(`a chunk list of ${blob.length} bytes is not a whole number of ${CHUNK_ENTRY_BYTES}-byte entries`);
}

export function decodeChunks(blob: Uint8Array): ChunkRef[] {
  checkChunkBlob(blob);
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const n = buf.length / CHUNK_ENTRY_BYTES;
  const out: ChunkRef[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * CHUNK_ENTRY_BYTES;
    // views into the row's own copy of the blob (sql.js hands each row a fresh one): no copying
    out[i] = { hash: blob.subarray(at, at + 32), size: buf.readUInt32LE(at + 32) };
  }
  return out;
}

/** Offset and size of entry `idx` of an encoded chunk list. */
export function chunkSpan(blob: Uint8Array, idx: number): { offset: number; size: number } {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  let offset = 0;
  for (let i = 0; i < idx; i++) offset += buf.readUInt32LE(i * CHUNK_ENTRY_BYTES + 32);
  return { offset, size: buf.readUInt32LE(idx * CHUNK_ENTRY_BYTES + 32) };
}

/**
 * A version vector as stored from schema 5: (device number, counter) pairs sorted by device number,
 * each number an unsigned LEB128 varint (a counter is at most 2^53 - 1: 8 bytes; the usual small
 * counter 1 byte, so the usual single-device vector is 2 bytes instead of 12).
 */
export function encodeVersion(version: Readonly<Record<string, number>>, deviceNo: (id: string) => number): Uint8Array {
  const entries = Object.entries(version).map(([id, counter]) => {
    if (!Number.isSafeInteger(counter) || counter < 0)
      throw new TypeError(`version counter for ${id} must be a non-negative integer, got ${counter}`);
    return [deviceNo(id), counter] as const;
  });
  if (entries.length > 1) entries.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [no, counter] of entries) {
    pushVarint(out, no);
    pushVarint(out, counter);
  }
  return Uint8Array.from(out);
}

function pushVarint(out: number[], n: number): void {
  // arithmetic, not bit operators: those cut a number to 32 bits
  while (n >= 0x80) {
    out.push((n % 0x80) + 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

export function decodeVersion(blob: Uint8Array, deviceId: (no: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  let at = 0;
  const next = (): number => {
    let n = 0;
    for (let scale = 1; ; scale *= 0x80) {
      if (at >= blob.length) throw new CorruptRowError(`a version vector of ${blob.length} bytes ends inside a number`);
      if (scale > 2 ** 49) throw new CorruptRowError('a version vector holds a number beyond 2^53');
      const b = blob[at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
    }
  };
  while (at < blob.length) {
    const no = next();
    out[deviceId(no)] = next();
  }
  return out;
}

/** A version vector as schema 3 and 4 stored it: 12 bytes per entry, u32 LE device number | f64 LE counter. */
export function encodeVersionV4(version: Readonly<Record<number, number>>): Uint8Array {
  const entries = Object.entries(version).map(([no, counter]) => [Number(no), counter] as const);
  entries.sort((a, b) => a[0] - b[0]);
  const out = Buffer.allocUnsafe(entries.length * 12);
  entries.forEach(([no, counter], i) => {
    out.writeUInt32LE(no, i * 12);
    out.writeDoubleLE(counter, i * 12 + 4);
  });
  return out;
}

/**
 * Schema 4's version blob as (device number -> counter), for the migration to schema 5: read as the
 * code of schema 4 read it (a partial entry at the end was never read).
 */
export function decodeVersionV4(blob: Uint8Array): Map<number, number> {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const out = new Map<number, number>();
  for (let at = 0; at + 12 <= buf.length; at += 12) out.set(buf.readUInt32LE(at), buf.readDoubleLE(at + 4));
  return out;
}

/** A version vector of device numbers in the stored form (encodeVersion's, for rows whose devices are numbers already). */
export function encodeVersionOfNumbers(version: ReadonlyMap<number, number>): Uint8Array {
  const byNo = Object.fromEntries([...version].map(([no, counter]) => [String(no), counter]));
  return encodeVersion(byNo, Number);
}

const EMPTY = new Uint8Array(0);

export function hashToBlob(hex: string): Uint8Array {
  if (hex === '') return EMPTY;
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new TypeError(`file hash must be 64 hex digits or '', got ${JSON.stringify(hex.slice(0, 70))}`);
  return Buffer.from(hex, 'hex');
}

export function blobToHash(blob: Uint8Array): string {
  return blob.length ? Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('hex') : '';
}

/** A row of the index that cannot be what this code wrote: the database is damaged. */
export class CorruptRowError extends Error {
  constructor(detail: string) {
    super(`index database damaged: ${detail}; move the index folder away (the shares are rescanned) or restore a backup`);
    this.name = 'CorruptRowError';
  }
}

/** SHA-256 over the chunk hashes of an encoded chunk list: the hash a scan gives a file. */
export function chunkListDigest(chunks: Uint8Array): Buffer {
  checkChunkBlob(chunks);
  const n = chunks.length / CHUNK_ENTRY_BYTES;
  let hashes: Uint8Array;
  if (n === 1) hashes = chunks.subarray(0, 32);
  else {
    hashes = Buffer.allocUnsafe(n * 32);
    for (let i = 0; i < n; i++) hashes.set(chunks.subarray(i * CHUNK_ENTRY_BYTES, i * CHUNK_ENTRY_BYTES + 32), i * 32);
  }
  // the one-shot form: this runs for every entry read, and a Hash object per call costs more than the hashing
  return hash('sha256', hashes, 'buffer');
}

/** The hash column's value: null when the hash is the chunk list's digest (derived again on read). */
export function storedHash(hex: string, chunks: Uint8Array): Uint8Array | null {
  const blob = hashToBlob(hex);
  return blob.length === 32 && Buffer.compare(blob, chunkListDigest(chunks)) === 0 ? null : blob;
}

/** The file hash from the hash column and the chunk list (inverse of storedHash). */
export function readHash(stored: Uint8Array | null, chunks: Uint8Array): string {
  return stored === null ? chunkListDigest(chunks).toString('hex') : blobToHash(stored);
}

export const WRITER_KEY_BYTES = 32;
const SIGNATURE_BYTES = 96;

/**
 * A writer signature as stored: its writer key apart (kept once per key), the rest as is. Anything
 * but a 96-byte signature is stored whole, with no key.
 */
export function splitSignature(sig: Uint8Array | null | undefined): { key: Uint8Array | null; rest: Uint8Array | null } {
  if (!sig?.length) return { key: null, rest: null };
  if (sig.length !== SIGNATURE_BYTES) return { key: null, rest: sig };
  return { key: sig.subarray(0, WRITER_KEY_BYTES), rest: sig.subarray(WRITER_KEY_BYTES) };
}

/** The signature from its stored parts (inverse of splitSignature). */
export function joinSignature(key: Uint8Array | null, rest: Uint8Array | null): Uint8Array | null {
  if (key === null) return rest;
  if (key.length !== WRITER_KEY_BYTES) throw new CorruptRowError(`a writer key of ${key.length} bytes`);
  if (rest === null || rest.length !== SIGNATURE_BYTES - WRITER_KEY_BYTES)
    throw new CorruptRowError(`a signature with a writer key but ${rest?.length ?? 0} bytes of signature`);
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(key, 0);
  out.set(rest, WRITER_KEY_BYTES);
  return out;
}
