// Compact binary forms of the bulky columns (pure functions).
//   chunk list: 36 bytes per chunk, in file order: 32-byte SHA-256 | u32 LE size
//   version vector: 12 bytes per entry, sorted by device number: u32 LE device number | f64 LE counter
//   (device numbers are this database's short ids for device ids, see the devices table)
import type { ChunkRef } from './rows.ts';

export const CHUNK_ENTRY_BYTES = 36;
const VERSION_ENTRY_BYTES = 12;

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

export function decodeChunks(blob: Uint8Array): ChunkRef[] {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const n = Math.floor(buf.length / CHUNK_ENTRY_BYTES);
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

export function encodeVersion(version: Readonly<Record<string, number>>, deviceNo: (id: string) => number): Uint8Array {
  const entries = Object.entries(version).map(([id, counter]) => {
    if (!Number.isSafeInteger(counter) || counter < 0)
      throw new TypeError(`version counter for ${id} must be a non-negative integer, got ${counter}`);
    return [deviceNo(id), counter] as const;
  });
  entries.sort((a, b) => a[0] - b[0]);
  const out = Buffer.allocUnsafe(entries.length * VERSION_ENTRY_BYTES);
  entries.forEach(([no, counter], i) => {
    out.writeUInt32LE(no, i * VERSION_ENTRY_BYTES);
    out.writeDoubleLE(counter, i * VERSION_ENTRY_BYTES + 4);
  });
  return out;
}

export function decodeVersion(blob: Uint8Array, deviceId: (no: number) => string): Record<string, number> {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: Record<string, number> = {};
  for (let at = 0; at + VERSION_ENTRY_BYTES <= buf.length; at += VERSION_ENTRY_BYTES) {
    out[deviceId(buf.readUInt32LE(at))] = buf.readDoubleLE(at + 4);
  }
  return out;
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
