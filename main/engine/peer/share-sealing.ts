// A trusted device's side of one share's encrypted members (PROTOCOL.md, "Links at the encrypted
// level"): it presents its own entries encrypted and serves their blobs, and opens what encrypted
// members send, remembering which blob carries which chunk so it can pull from them. One per
// share, shared by every link to an encrypted member. The crypto itself is keys/sealing.ts.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { FileRecord } from '../index/rows.ts';
import type { IndexStore } from '../index/store.ts';
import {
  SealError,
  decryptChunk,
  encryptChunk,
  nameToken,
  openPresented,
  presentEntry,
  sealedLength,
  sealedPieceCount,
  sha256,
  tokenText,
  type EncryptedChunk,
  type PresentedEntry,
  type SealingKeys,
} from '../keys/sealing.ts';
import { MAX_CHUNK_SIZE, type FileEntryWire } from '../protocol/messages.ts';
import { EntrySigner } from '../keys/entry-signing.ts';
import { sealingKeysOf } from '../keys/sealing.ts';
import type { ShareKeys } from '../keys/secrets.ts';
import { signedForSending } from './index-exchange.ts';

export type SealingStore = Pick<IndexStore, 'getFile' | 'listFiles' | 'getShare'>;

/** The ShareSealing of a share this device reads; null on an encrypted member (it has no keys to seal with). */
export function shareSealingFor(keys: ShareKeys, self: string, store: SealingStore): ShareSealing | null {
  const sealingKeys = sealingKeysOf(keys);
  if (!sealingKeys) return null;
  const signer = new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret);
  return new ShareSealing(sealingKeys, {
    shareId: keys.shareId,
    self,
    store,
    root: () => store.getShare(keys.shareId)?.path ?? null,
    outgoing: (r) => signedForSending(signer, r),
  });
}

/** Own entries presented recently (their blob lists); older ones are presented again on demand. */
const PRESENTED_CACHE = 2000;

interface Blob {
  hash: Uint8Array;
  /** where it starts in the encrypted entry's content (the blobs end to end) */
  offset: number;
  size: number;
  /** a piece of the sealed entry (at this offset of it), or the blob of the chunk at this offset of the file */
  source: { kind: 'sealed'; at: number } | { kind: 'chunk'; fileOffset: number; plainSize: number; plainHash: Uint8Array };
}

interface Presented {
  path: string;
  p: PresentedEntry;
  blobs: Blob[];
}

/** A chunk an encrypted member holds, and how to ask it for the blob. */
export interface LearnedChunk {
  token: string;
  blobHash: Uint8Array;
  blobOffset: number;
  blobSize: number;
  hash: Uint8Array;
  size: number;
  tag: Uint8Array;
}

export interface ShareSealingDeps {
  shareId: string;
  self: string;
  store: SealingStore;
  /** the share's folder, null when it is gone */
  root(): string | null;
  /** own entry as it may go out (signed by a writer; null for what no writer signed) */
  outgoing(r: FileRecord): FileEntryWire | null;
}

/** Fetches a whole blob of `token` from the encrypted member; null when it cannot. */
export type FetchBlob = (token: string, hash: Uint8Array, offset: number, size: number) => Promise<Uint8Array | null>;

export class ShareSealing {
  private readonly own = new Map<string, Presented>();
  private tokens: Map<string, string> | null = null;
  private readonly learned = new Map<string, LearnedChunk>();

  constructor(
    readonly keys: SealingKeys,
    private readonly deps: ShareSealingDeps,
  ) {}

  /**
   * An own (signed) entry in its encrypted form; null when the file on disk no longer holds the
   * entry's chunks (it changed: its next entry goes out instead).
   */
  async present(e: FileEntryWire): Promise<FileEntryWire | null> {
    const got = await this.presentEntry(e);
    return got ? got.p.wire : null;
  }

  private async presentEntry(e: FileEntryWire): Promise<Presented | null> {
    const chunks: EncryptedChunk[] = [];
    const fileOffsets: number[] = [];
    if (e.type === 'file' && !e.deleted && e.chunks.length) {
      const root = this.deps.root();
      if (!root) return null;
      const handle = await fsp.open(join(root, e.path), 'r').catch(() => null);
      if (!handle) return null;
      try {
        let at = 0;
        for (const c of e.chunks) {
          const plain = await readChunk(handle, at, c.size, c.hash);
          if (!plain) return null;
          chunks.push(encryptChunk(this.keys, plain));
          fileOffsets.push(at);
          at += c.size;
        }
      } finally {
        await handle.close();
      }
    }
    const p = presentEntry(this.keys, e, chunks);
    const blobs: Blob[] = [];
    let offset = 0;
    for (let i = 0; i < p.wire.chunks.length; i++) {
      const b = p.wire.chunks[i]!;
      const k = i - p.sealedPieces;
      const source: Blob['source'] =
        k < 0
          ? { kind: 'sealed', at: i * MAX_CHUNK_SIZE }
          : { kind: 'chunk', fileOffset: fileOffsets[k]!, plainSize: e.chunks[k]!.size, plainHash: e.chunks[k]!.hash };
      blobs.push({ hash: b.hash, offset, size: b.size, source });
      offset += b.size;
    }
    const presented = { path: e.path, p, blobs };
    this.own.delete(p.wire.path);
    this.own.set(p.wire.path, presented);
    if (this.own.size > PRESENTED_CACHE) this.own.delete(this.own.keys().next().value!);
    return presented;
  }

  /**
   * Bytes [offset, offset + size) of an own encrypted entry (`token`), within the blob `hash`: what
   * an encrypted member's request asks for. Null when this device does not hold that blob now.
   */
  async blob(token: string, hash: Uint8Array, offset: number, size: number): Promise<Uint8Array | null> {
    let pr = this.own.get(token);
    let b = pr && findBlob(pr, hash, offset, size);
    if (!b) {
      pr = (await this.presentToken(token)) ?? undefined;
      b = pr && findBlob(pr, hash, offset, size);
    }
    if (!pr || !b) return null;
    const bytes = await this.blobBytes(pr, b);
    if (!bytes) return null;
    const from = offset >= b.offset && offset + size <= b.offset + b.size ? offset - b.offset : 0;
    return bytes.subarray(from, from + size);
  }

  /** Presents the current own entry of the path whose token is `token` (after a restart, or evicted). */
  private async presentToken(token: string): Promise<Presented | null> {
    const { store, shareId, self } = this.deps;
    let path = this.tokens?.get(token);
    if (path === undefined) {
      this.tokens = new Map();
      for (const r of store.listFiles(shareId, self, { includeDeleted: true }))
        this.tokens.set(tokenText(nameToken(this.keys, r.path)), r.path);
      path = this.tokens.get(token);
    }
    const rec = path === undefined ? null : store.getFile(shareId, self, path);
    const e = rec && this.deps.outgoing(rec);
    return e ? this.presentEntry(e) : null;
  }

  private async blobBytes(pr: Presented, b: Blob): Promise<Uint8Array | null> {
    let bytes: Uint8Array | null;
    if (b.source.kind === 'sealed') bytes = pr.p.sealed.subarray(b.source.at, b.source.at + b.size);
    else {
      const root = this.deps.root();
      const src = b.source;
      const handle = root ? await fsp.open(join(root, pr.path), 'r').catch(() => null) : null;
      if (!handle) return null;
      try {
        const plain = await readChunk(handle, src.fileOffset, src.plainSize, src.plainHash);
        bytes = plain && encryptChunk(this.keys, plain).body;
      } finally {
        await handle.close();
      }
    }
    return bytes && Buffer.from(sha256(bytes)).equals(Buffer.from(b.hash)) ? bytes : null;
  }

  /**
   * Opens an encrypted entry an encrypted member sent: fetches its sealed pieces from it, checks
   * and opens them (keys/sealing.ts openPresented), and remembers where each chunk's blob is.
   * Returns the plaintext entry (whose writer signature the caller checks), or why it was refused;
   * throws when the sealed entry does not come (the link is at fault, not the entry).
   */
  async open(wire: FileEntryWire, fetch: FetchBlob): Promise<FileEntryWire | { refused: string }> {
    try {
      const first = wire.chunks[0];
      if (!first) throw new SealError('an encrypted entry without a sealed entry');
      const firstBytes = await fetchChecked(fetch, wire.path, first.hash, 0, first.size);
      const total = sealedLength(firstBytes);
      if (total === null) throw new SealError('its first blob does not start a sealed entry');
      const pieces = sealedPieceCount(total);
      const parts = [firstBytes];
      let offset = first.size;
      for (let i = 1; i < pieces && i < wire.chunks.length; i++) {
        const c = wire.chunks[i]!;
        parts.push(await fetchChecked(fetch, wire.path, c.hash, offset, c.size));
        offset += c.size;
      }
      const opened = openPresented(this.keys, wire, Buffer.concat(parts));
      let at = offset;
      for (const c of opened.chunks) {
        this.learned.set(Buffer.from(c.hash).toString('hex'), {
          token: wire.path,
          blobHash: c.blobHash,
          blobOffset: at,
          blobSize: c.blobSize,
          hash: c.hash,
          size: c.size,
          tag: c.tag,
        });
        at += c.blobSize;
      }
      return opened.plain;
    } catch (err) {
      if (err instanceof SealError) return { refused: err.message };
      throw err;
    }
  }

  /** The blob that carries the chunk `hash` on encrypted members, once one of their entries named it. */
  blobFor(hash: Uint8Array): LearnedChunk | undefined {
    return this.learned.get(Buffer.from(hash).toString('hex'));
  }

  /** The chunk from its blob; throws SealError when the blob is not the chunk's. */
  decrypt(chunk: LearnedChunk, blob: Uint8Array): Uint8Array {
    if (!Buffer.from(sha256(blob)).equals(Buffer.from(chunk.blobHash))) throw new SealError('a blob does not match its hash');
    return decryptChunk(this.keys, blob, chunk);
  }
}

function findBlob(pr: Presented, hash: Uint8Array, offset: number, size: number): Blob | undefined {
  const same = pr.blobs.filter((b) => Buffer.from(b.hash).equals(Buffer.from(hash)));
  // the range named, else (a whole-blob request laid out by an older entry) any blob with that hash and size
  return same.find((b) => offset >= b.offset && offset + size <= b.offset + b.size) ?? same.find((b) => b.size === size);
}

async function fetchChecked(fetch: FetchBlob, token: string, hash: Uint8Array, offset: number, size: number): Promise<Uint8Array> {
  const got = await fetch(token, hash, offset, size);
  // not the entry's fault but the link's: the link ends, and the next one asks for the entry again
  if (!got) throw new Error(`the encrypted device did not send the sealed entry of ${token.slice(0, 16)}…`);
  if (!Buffer.from(sha256(got)).equals(Buffer.from(hash))) throw new SealError('its sealed entry does not match its hash');
  return got;
}

async function readChunk(handle: fsp.FileHandle, at: number, size: number, hash: Uint8Array): Promise<Uint8Array | null> {
  const buf = Buffer.allocUnsafe(size);
  const { bytesRead } = await handle.read(buf, 0, size, at);
  return bytesRead === size && Buffer.from(sha256(buf)).equals(Buffer.from(hash)) ? new Uint8Array(buf) : null;
}
