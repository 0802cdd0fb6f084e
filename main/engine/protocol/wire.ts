// Index records to and from their wire form (PROTOCOL.md, "Entries"). What the receiver stores is
// rebuilt from what it received: the content hash is recomputed, never taken on trust.
import { createHash } from 'node:crypto';
import type { FileRecord } from '../index/rows.ts';
import { symlinkHash } from '../sync/local-changes.ts';
import { normalizeVector } from '../sync/vv.ts';
import type { FileEntryWire } from './messages.ts';

export function toWire(r: FileRecord): FileEntryWire {
  return {
    path: r.path,
    type: r.type,
    size: r.size,
    mode: r.mode,
    mtimeMs: r.mtimeMs,
    version: r.version,
    sequence: r.sequence,
    deleted: r.deleted,
    symlinkTarget: r.type === 'symlink' ? r.symlinkTarget : null,
    chunkCount: r.chunks.length,
    chunks: r.chunks.map((c) => ({ hash: c.hash, size: c.size })),
    modifiedBy: r.modifiedBy,
    signature: r.signature ?? new Uint8Array(0),
  };
}

/** The peer's entry as this device stores it (decoded byte fields are views: they are copied). */
export function fromWire(e: FileEntryWire, shareId: string, deviceId: string): FileRecord {
  const chunks = e.chunks.map((c) => ({ hash: new Uint8Array(c.hash), size: c.size }));
  return {
    shareId,
    deviceId,
    path: e.path,
    type: e.type,
    size: e.size,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
    inode: 0,
    symlinkTarget: e.symlinkTarget,
    version: normalizeVector(e.version),
    sequence: e.sequence,
    deleted: e.deleted,
    chunks,
    hash: contentHash(e),
    modifiedBy: e.modifiedBy,
    signature: e.signature.length ? new Uint8Array(e.signature) : null,
  };
}

function contentHash(e: FileEntryWire): string {
  if (e.deleted) return '';
  if (e.type === 'symlink') return symlinkHash(e.symlinkTarget ?? '');
  if (e.type === 'dir') return '';
  const h = createHash('sha256');
  for (const c of e.chunks) h.update(c.hash);
  return h.digest('hex');
}
